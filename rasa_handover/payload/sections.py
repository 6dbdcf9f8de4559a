"""The payload's sections, each built from the conversation's `Transcript`.

The events are read once, by `rasa_handover.conversation.read_transcript`; this
module only shapes what it found into the payload's JSON (docs/payload.md).
"""

import json
import logging
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

from rasa_handover.constants import (
    ALL_SIGNALS,
    POLICY_SLOTS,
    SLOT_ACCOUNT_TIER,
    SLOT_HANDOVER_EVIDENCE,
    SLOT_HANDOVER_OFFERED,
    SLOT_HANDOVER_REASON,
    SLOT_HANDOVER_TURN,
)
from rasa_handover.conversation import (
    ROLE_BOT,
    ROLE_USER,
    Entity,
    Message,
    Transcript,
)
from rasa_handover.limits import MAX_NAME_CHARS
from rasa_handover.payload.config import PayloadConfig
from rasa_handover.payload.language import BUTTON_PAYLOAD_PREFIX
from rasa_handover.settings import default_config
from rasa_handover.summary import (
    RULE_BASED_NAME,
    BotResponse,
    FactTurn,
    RuleBasedSummariser,
    Summariser,
    Summary,
    SummaryFacts,
)

logger = logging.getLogger(__name__)

# Confidences are rounded for readability; four places still tell 0.5501 from
# 0.55 (a floor).
CONFIDENCE_DECIMALS = 4
SENTIMENT_DECIMALS = 4
TIMESTAMP_DECIMALS = 6
# Evidence keys the policy writes (`triggers.evaluate`): whether the account is
# high value, and then its tier.
EVIDENCE_HIGH_VALUE = "high_value"
EVIDENCE_ACCOUNT_TIER = "account_tier"
EVIDENCE_TEAM = "team"


def _round(value: Any, places: int) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return round(float(value), places)


# Slot values and evidence nested deeper than this are not data an agent reads
# (and every later step walks them recursively): they are left out.
MAX_VALUE_DEPTH = 32


def json_safe(value: Any) -> Any:
    """A JSON-serialisable copy (tuples become lists, unknown objects text).

    Raises:
        ValueError: the value is nested deeper than `MAX_VALUE_DEPTH`.

    """
    _check_depth(value)
    return json.loads(json.dumps(value, default=str))


def _check_depth(value: Any) -> None:
    """Iteratively, so that no nesting can exhaust the stack here."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth >= MAX_VALUE_DEPTH:
            raise ValueError(f"nested deeper than {MAX_VALUE_DEPTH} levels")
        stack.extend((child, depth + 1) for child in children)


# --- What was said. -----------------------------------------------------------


def transcript_section(transcript: Transcript) -> List[Dict[str, Any]]:
    """Every message the customer saw, user and bot, in order.

    A widget's init payload (`/greet`, `Message.typed` is False) is left out: the
    customer never wrote it.
    """
    return [
        _transcript_entry(message) for message in transcript.messages if message.typed
    ]


def _transcript_entry(message: Message) -> Dict[str, Any]:
    entry: Dict[str, Any] = {
        "role": message.role,
        # A button click reads as the customer saw it: the button's title.
        "text": message.button or message.text,
        "timestamp": _round(message.timestamp, TIMESTAMP_DECIMALS),
    }
    if message.role == ROLE_USER:
        entry["intent"] = message.intent
        return entry
    entry["action"] = message.action
    if message.sent_by and message.sent_by != message.action:
        entry["sent_by"] = message.sent_by
    if message.buttons:
        entry["buttons"] = list(message.buttons)
    return entry


def _entity_dict(entity: Entity) -> Dict[str, Any]:
    found = {
        "entity": entity.entity,
        "value": entity.value,
        "role": entity.role,
        "group": entity.group,
    }
    return json_safe({key: value for key, value in found.items() if value is not None})


def intent_history_section(transcript: Transcript) -> List[Dict[str, Any]]:
    """One entry per user turn, numbered like the policy's `handover_turn`."""
    history = []
    for message in transcript.turns:
        turn = message.turn
        assert turn is not None  # `Transcript.turns` only has numbered messages
        history.append(
            {
                "turn": turn.index,
                "session": message.session,
                "intent": turn.intent,
                "confidence": _round(turn.confidence, CONFIDENCE_DECIMALS),
                "text": turn.text,
                "entities": [_entity_dict(entity) for entity in turn.entities],
            }
        )
    return history


def entities_section(intent_history: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Each entity once (by name, role and group), with its latest value."""
    latest: Dict[Tuple[Any, ...], Dict[str, Any]] = {}
    for item in intent_history:
        for entity in item["entities"]:
            key = (entity.get("entity"), entity.get("role"), entity.get("group"))
            latest.pop(key, None)  # re-inserted: latest mention last
            latest[key] = {**entity, "turn": item["turn"], "session": item["session"]}
    return list(latest.values())


# --- Who the customer is. -----------------------------------------------------


def customer_section(
    slots: Mapping[str, Any], transcript: Transcript, config: PayloadConfig
) -> Dict[str, Any]:
    """The customer's name, id and e-mail from slots (or the channel's metadata)."""

    def first_slot(names: Tuple[str, ...]) -> Optional[str]:
        for name in names:
            value = slots.get(name)
            if value not in (None, ""):
                return str(value)
        return None

    name = first_slot(config.name_slots)
    if name is None:
        from_metadata = transcript.latest_metadata(config.name_metadata_keys)
        name = str(from_metadata) if from_metadata is not None else None
    # The inbox stores them in columns of `MAX_NAME_CHARS`.
    return {
        "name": _capped(name),
        "id": _capped(first_slot(config.id_slots)),
        "email": _capped(first_slot(config.email_slots)),
    }


def _capped(value: Optional[str]) -> Optional[str]:
    return value[:MAX_NAME_CHARS] if value is not None else None


def slots_section(
    slots: Mapping[str, Any],
    config: PayloadConfig,
    dropped: Optional[List[Dict[str, str]]] = None,
) -> Dict[str, Any]:
    """The account state: slot values without the plugin's own slots.

    A value that cannot be serialised (nested too deep) is left out and, if
    `dropped` is given, named there.
    """
    excluded = set(POLICY_SLOTS) | set(config.exclude_slots)
    section: Dict[str, Any] = {}
    for name, value in slots.items():
        if name in excluded or (value is None and not config.include_empty_slots):
            continue
        try:
            section[name] = json_safe(value)
        except (ValueError, TypeError, RecursionError) as error:
            if dropped is None:
                raise
            reason = f"value left out ({type(error).__name__}: {error})"
            dropped.append({"field": f"slots.{name}", "reason": reason})
    return section


def account_section(
    slots: Mapping[str, Any], evidence: Mapping[str, Any]
) -> Dict[str, Any]:
    """The tier and whether the account is high value, as the policy decided.

    The policy's evidence says both (`high_value`, and `account_tier` from its
    `high_value.slot`). A handover the policy did not decide (a rule or story
    ran `action_handover`) falls back to the `account_tier` slot and the
    policy's default high-value tiers.
    """
    tier = evidence.get(EVIDENCE_ACCOUNT_TIER)
    if tier is None:
        tier = slots.get(SLOT_ACCOUNT_TIER)
    high_value = evidence.get(EVIDENCE_HIGH_VALUE)
    if not isinstance(high_value, bool):
        tiers = {str(t).lower() for t in default_config()["high_value"]["values"]}
        high_value = tier is not None and str(tier).strip().lower() in tiers
    return {"tier": None if tier is None else str(tier), "high_value": high_value}


# --- Why the bot hands over. --------------------------------------------------


def evidence_of(raw: Any) -> Dict[str, Any]:
    """The decision's evidence from its slot (a mapping, or JSON text)."""
    if raw is None:
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {"text": raw}
    if isinstance(raw, Mapping):
        return dict(json_safe(dict(raw)))
    return {"value": json_safe(raw)}


def _turn_number(value: Any) -> Optional[int]:
    # The policy's slot is a float slot in most domains ("3.0").
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def trigger_section(
    slots: Mapping[str, Any], team: Optional[str], config: PayloadConfig
) -> Dict[str, Any]:
    """The decision: reason, evidence, turn, and the team to route to.

    The team is the evidence's (regulated topics), else `team` (the domain's
    `handover_team` of the latest intent, see `actions.team_for`), else
    `config.default_team`.
    """
    evidence = evidence_of(slots.get(SLOT_HANDOVER_EVIDENCE))
    chosen_team = evidence.get(EVIDENCE_TEAM) or team
    reason = slots.get(SLOT_HANDOVER_REASON)
    return {
        "reason": str(reason) if reason else None,
        "evidence": evidence,
        "turn": _turn_number(slots.get(SLOT_HANDOVER_TURN)),
        "team": str(chosen_team) if chosen_team else config.default_team,
        "offered_before": bool(slots.get(SLOT_HANDOVER_OFFERED)),
    }


def sentiment_section(transcript: Transcript, config: PayloadConfig) -> Dict[str, Any]:
    """Mean and latest sentiment, and the frustration signals seen lately."""
    # Imported here: signals pulls in spaCy, which only this section needs.
    from rasa_handover.signals import detect_signals, sentiment_score

    texts = [
        m.text
        for m in transcript.user_messages
        if m.text.strip() and not m.text.startswith(BUTTON_PAYLOAD_PREFIX)
    ]
    recent = texts[-config.sentiment_window :]
    scores = [sentiment_score(text) for text in recent]
    seen: Set[str] = set()
    for text in texts[-config.frustration_window :]:
        seen.update(signal.name for signal in detect_signals(text))
    return {
        "score": round(sum(scores) / len(scores), SENTIMENT_DECIMALS)
        if scores
        else None,
        "latest": round(scores[-1], SENTIMENT_DECIMALS) if scores else None,
        "frustration_signals": [name for name in ALL_SIGNALS if name in seen],
    }


# --- The summary. -------------------------------------------------------------


def summary_facts(payload: Mapping[str, Any], transcript: Transcript) -> SummaryFacts:
    """The summariser's input, taken from the already redacted payload."""
    turns = tuple(
        FactTurn(
            turn=int(item["turn"]),
            text=str(item.get("text") or ""),
            intent=item.get("intent"),
            confidence=item.get("confidence"),
            entities=tuple(
                (str(e.get("entity")), e.get("value"))
                for e in item.get("entities") or []
            ),
        )
        for item in payload["intent_history"]
        # Not the "[... N turns omitted ...]" marker of a cut history.
        if item.get("turn") is not None
    )
    trigger = payload["trigger"]
    return SummaryFacts(
        user_turns=turns,
        bot_actions=transcript.bot_actions,
        bot_responses=bot_responses(payload["transcript"]),
        slots=dict(payload["slots"]),
        customer_slots=tuple(
            s for s in transcript.customer_slots if s in payload["slots"]
        ),
        forms=transcript.forms,
        trigger_reason=trigger["reason"],
        trigger_evidence=dict(trigger["evidence"]),
        frustration_signals=tuple(payload["sentiment"]["frustration_signals"]),
        customer_name=payload["customer"]["name"],
    )


def bot_responses(entries: List[Mapping[str, Any]]) -> Tuple[BotResponse, ...]:
    """What the bot said (redacted transcript entries), with the intents before it."""
    responses: List[BotResponse] = []
    intents: List[str] = []
    for entry in entries:
        if entry.get("role") == ROLE_USER and entry.get("intent"):
            intents.append(str(entry["intent"]))
        elif entry.get("role") == ROLE_BOT and entry.get("action"):
            responses.append(
                BotResponse(
                    str(entry["action"]), str(entry.get("text") or ""), tuple(intents)
                )
            )
    return tuple(responses)


def summary_section(summariser: Summariser, facts: SummaryFacts) -> Dict[str, Any]:
    """The summary; the rule-based one when `summariser` fails."""
    try:
        summary = summariser.summarise(facts)
        name = summary.summariser or summariser.name
    except Exception as error:  # a summary must never block a handover
        logger.exception("rasa_handover: the summariser %r failed.", summariser)
        summary = RuleBasedSummariser().summarise(facts)
        failed = getattr(summariser, "name", "summariser")
        name = f"{RULE_BASED_NAME} ({failed}_failed: {type(error).__name__})"
    return _summary_dict(summary, name)


def _summary_dict(summary: Summary, name: str) -> Dict[str, Any]:
    return {
        "goal": summary.goal,
        "tried": list(summary.tried),
        "provided": list(summary.provided),
        "text": summary.text,
        "summariser": name,
    }
