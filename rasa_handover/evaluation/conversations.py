"""The labelled conversations file: what a conversation should do, and its checks.

Format: docs/benchmarks.md. `load_conversations` reports every mistake with the
conversation, what is wrong and how to fix it (`ConversationFileError`).
"""

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import yaml

from rasa_handover.constants import (
    REASON_CODES,
    REASON_LOW_CONFIDENCE,
    REASON_REPEAT_LOOP,
)
from rasa_handover.evaluation.errors import ConversationFileError

# The predicted label of a conversation in which nothing happened.
NONE_LABEL = "none"
# The label of a handover whose reason the run cannot tell: no `handover_reason`
# was set on that turn and the intent maps to no reason code (e.g. a baseline
# rule or TED predicted the handover after an ordinary intent).
REASON_OTHER = "other"
# Every label a confusion table may hold, in display order.
LABELS: Tuple[str, ...] = (*REASON_CODES, REASON_OTHER, NONE_LABEL)
# The only value `escalate:` takes.
ESCALATE_NEVER = "never"

_CONVERSATION_KEYS = frozenset(
    {
        "id",
        "turns",
        "slots",
        "escalate_at",
        "offer_at",
        "clarify_at",
        "escalate",
        "reason",
    }
    | {"tags", "note"}
)
_TURN_KEYS = frozenset({"text", "slots", "metadata"})


@dataclass(frozen=True)
class Turn:
    """One user message of a labelled conversation.

    Attributes:
        text: What the user types.
        slots: Slots to set right before the message (e.g. `account_tier`),
            as an account lookup would.
        metadata: Message metadata, passed to Rasa with the message.

    """

    text: str
    slots: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What a conversation should do (gold) or did (prediction).

    Attributes:
        escalate_at: The 1-based user turn of the handover, or `None`.
        offer_at: The 1-based user turn of the offer of a person, or `None`.
        reason: The reason code of the first intervention (offer or handover);
            `None` when there is none. A conversation that only clarifies
            (below) has `low_confidence` unless it is labelled `never`.
        clarify_at: The 1-based user turn on which the bot asks what an
            unclear turn meant ("did you mean ...?"), or `None`. Not a
            handover: it is scored on its own (see `metrics.decision_matches`).

    """

    escalate_at: Optional[int] = None
    offer_at: Optional[int] = None
    reason: Optional[str] = None
    clarify_at: Optional[int] = None

    @property
    def clarify_only(self) -> bool:
        """The bot asks and the conversation ends before the answer.

        Gold labels of this kind say nothing about a handover after the
        question, so such conversations are neither `never` nor escalations.
        """
        return (
            self.clarify_at is not None
            and self.escalate_at is None
            and self.offer_at is None
            and self.reason is not None
        )

    @property
    def first_turn(self) -> Optional[int]:
        """The turn of the first intervention (offer or handover), if any."""
        turns = [t for t in (self.offer_at, self.escalate_at) if t is not None]
        return min(turns) if turns else None

    @property
    def label(self) -> str:
        """The reason of the first offer or handover, else `none`.

        A clarification alone is `low_confidence`.
        """
        if self.first_turn is None:
            return REASON_LOW_CONFIDENCE if self.clarify_at is not None else NONE_LABEL
        return self.reason or REASON_OTHER


@dataclass(frozen=True)
class LabelledConversation:
    """A conversation with its gold decision."""

    id: str
    turns: Tuple[Turn, ...]
    gold: Outcome
    tags: Tuple[str, ...] = ()
    note: str = ""


def load_conversations(path: Union[str, Path]) -> List[LabelledConversation]:
    """Reads and validates a labelled conversations file.

    Args:
        path: A YAML file (format: docs/benchmarks.md).

    Returns:
        The conversations, in file order.

    Raises:
        ConversationFileError: naming the conversation, what is wrong and how to
            fix it.

    """
    source = Path(path)
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConversationFileError(f"{source}: cannot read it ({error}).") from error
    except yaml.YAMLError as error:
        raise ConversationFileError(f"{source}: not valid YAML ({error}).") from error
    return parse_conversations(data, str(source))


def parse_conversations(
    data: Any, source: str = "<data>"
) -> List[LabelledConversation]:
    """Validates already-parsed YAML; see `load_conversations`.

    Raises:
        ConversationFileError: on the first problem found.

    """
    if isinstance(data, Mapping):
        data = data.get("conversations")
    if not isinstance(data, list) or not data:
        raise ConversationFileError(
            f"{source}: expected a non-empty list under `conversations:` "
            f"(see docs/benchmarks.md for the format)."
        )
    conversations: List[LabelledConversation] = []
    seen: Dict[str, int] = {}
    for position, raw in enumerate(data, start=1):
        conversation = _parse_conversation(raw, f"{source}: conversation #{position}")
        if conversation.id in seen:
            raise ConversationFileError(
                f"{source}: conversation #{position} reuses the id "
                f"'{conversation.id}' of conversation #{seen[conversation.id]}; "
                f"ids must be unique."
            )
        seen[conversation.id] = position
        conversations.append(conversation)
    return conversations


def _parse_conversation(raw: Any, where: str) -> LabelledConversation:
    if not isinstance(raw, Mapping):
        raise ConversationFileError(f"{where}: expected a mapping, got {raw!r}.")
    raw_id = raw.get("id")
    if not isinstance(raw_id, (str, int)) or isinstance(raw_id, bool) or raw_id == "":
        raise ConversationFileError(f"{where}: needs an `id` (a string).")
    where = f"{where} ('{raw_id}')"
    unknown = sorted(set(raw) - _CONVERSATION_KEYS)
    if unknown:
        raise ConversationFileError(
            f"{where}: unknown keys {unknown}; valid keys are "
            f"{sorted(_CONVERSATION_KEYS)}."
        )
    raw_turns = raw.get("turns")
    if not isinstance(raw_turns, list) or not raw_turns:
        raise ConversationFileError(f"{where}: needs a non-empty list of `turns`.")
    turns = [_parse_turn(t, f"{where}, turn {i}") for i, t in enumerate(raw_turns, 1)]
    opening_slots = _mapping(raw.get("slots"), f"{where}: `slots`")
    if opening_slots:
        # Conversation-level slots are set before the first turn.
        first = turns[0]
        turns[0] = Turn(first.text, {**opening_slots, **first.slots}, first.metadata)
    gold = _parse_gold(raw, len(turns), where)
    tags = raw.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ConversationFileError(f"{where}: `tags` must be a list of strings.")
    note = raw.get("note") or ""
    if not isinstance(note, str):
        raise ConversationFileError(f"{where}: `note` must be a string.")
    return LabelledConversation(str(raw_id), tuple(turns), gold, tuple(tags), note)


def _parse_turn(raw: Any, where: str) -> Turn:
    if isinstance(raw, str):
        if not raw.strip():
            raise ConversationFileError(f"{where}: the text is empty.")
        return Turn(raw)
    if not isinstance(raw, Mapping):
        raise ConversationFileError(
            f"{where}: expected the text, or a mapping with `text` (and optional "
            f"`slots`, `metadata`), got {raw!r}."
        )
    unknown = sorted(set(raw) - _TURN_KEYS)
    if unknown:
        raise ConversationFileError(
            f"{where}: unknown keys {unknown}; valid keys are {sorted(_TURN_KEYS)}."
        )
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ConversationFileError(f"{where}: needs a non-empty `text`.")
    return Turn(
        text,
        _mapping(raw.get("slots"), f"{where}: `slots`"),
        _mapping(raw.get("metadata"), f"{where}: `metadata`"),
    )


def _mapping(raw: Any, where: str) -> Dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(isinstance(k, str) for k in raw):
        raise ConversationFileError(f"{where} must be a mapping of names to values.")
    return dict(raw)


def _turn_number(raw: Any, key: str, turn_count: int, where: str) -> Optional[int]:
    if raw is None:
        return None
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 1:
        raise ConversationFileError(
            f"{where}: `{key}` must be a user turn number (1-based), got {raw!r}."
        )
    if raw > turn_count:
        raise ConversationFileError(
            f"{where}: `{key}: {raw}` is beyond its {turn_count} turn(s); "
            f"turns are counted from 1."
        )
    return raw


def _parse_gold(raw: Mapping[str, Any], turn_count: int, where: str) -> Outcome:
    clarify_at = _turn_number(raw.get("clarify_at"), "clarify_at", turn_count, where)
    outcome = _parse_decision(raw, turn_count, where, clarify_at is not None)
    if clarify_at is None:
        return outcome
    if outcome.escalate_at is not None and outcome.escalate_at <= clarify_at:
        raise ConversationFileError(
            f"{where}: `escalate_at: {outcome.escalate_at}` must come after "
            f"`clarify_at: {clarify_at}` (the bot asks first)."
        )
    return replace(outcome, clarify_at=clarify_at)


def _parse_decision(
    raw: Mapping[str, Any], turn_count: int, where: str, clarifies: bool
) -> Outcome:
    escalate_at = _turn_number(raw.get("escalate_at"), "escalate_at", turn_count, where)
    offer_at = _turn_number(raw.get("offer_at"), "offer_at", turn_count, where)
    never = raw.get("escalate")
    if never is not None and never != ESCALATE_NEVER:
        raise ConversationFileError(
            f"{where}: `escalate` only takes `{ESCALATE_NEVER}`; give the turn of a "
            f"handover with `escalate_at: <turn>`."
        )
    if never is not None and escalate_at is not None:
        raise ConversationFileError(
            f"{where}: has both `escalate: never` and `escalate_at`; keep one."
        )
    reason = raw.get("reason")
    if never is None and escalate_at is None and offer_at is None:
        if clarifies and reason in (None, REASON_LOW_CONFIDENCE):
            # The bot asks; the conversation ends before the answer.
            return Outcome(reason=REASON_LOW_CONFIDENCE)
        if clarifies:
            raise ConversationFileError(
                f"{where}: a conversation that only clarifies has the reason "
                f"`{REASON_LOW_CONFIDENCE}`, not {reason!r}."
            )
        raise ConversationFileError(
            f"{where}: says nothing about the decision; add `escalate_at: <turn>` "
            f"with a `reason`, `offer_at: <turn>`, `clarify_at: <turn>`, or "
            f"`escalate: never`."
        )
    if escalate_at is None and offer_at is None:
        if reason is not None:
            raise ConversationFileError(
                f"{where}: a conversation that never escalates has no `reason`; "
                f"remove `reason: {reason}`."
            )
        return Outcome()
    if reason not in REASON_CODES:
        raise ConversationFileError(
            f"{where}: `reason` must be one of {list(REASON_CODES)}, got {reason!r}."
        )
    if offer_at is not None:
        if reason != REASON_REPEAT_LOOP:
            raise ConversationFileError(
                f"{where}: only the repeat loop offers a person, so `offer_at` "
                f"needs `reason: {REASON_REPEAT_LOOP}` (got {reason!r})."
            )
        if escalate_at is not None and escalate_at <= offer_at:
            raise ConversationFileError(
                f"{where}: `escalate_at: {escalate_at}` must come after "
                f"`offer_at: {offer_at}`."
            )
    return Outcome(escalate_at=escalate_at, offer_at=offer_at, reason=str(reason))
