"""The only reader of a conversation's events, shared by triggers, payload, summary.

Rasa's policy sees a `DialogueStateTracker` with event objects; rasa_sdk's actions
see a `Tracker` with event dictionaries. Both are turned into the same
`UserTurn`s, numbered the same way, so that every decision is a pure function of
one vocabulary and the `handover_turn` the policy writes is the turn the agent
reads in the payload.

- `view_from_rasa_tracker` builds the policy's `ConversationView` (below);
- `read_transcript` reads rasa_sdk's event dictionaries into a `Transcript`: every
  user and bot message in order (rewound ones included: the customer saw them),
  the user turns that count, what the bot tried, and which slots the customer
  filled. The payload and the summary are built from it.

The view only covers the current *segment*: the user turns since the session
started, the conversation restarted, or the last handover / handback. A handback
must not re-escalate on the frustration that caused the previous handover.

Building the view is on the policy's hot path (it runs before every prediction), so
it scans the events once, backwards, and stops at the segment boundary. It honours
rewinds (`UserUtteranceReverted`) and undos (`ActionReverted`) the way
`DialogueStateTracker.applied_events()` does, without that method's full-history
copy.
"""

import sys
from dataclasses import dataclass, field
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

from rasa_handover.constants import (
    ACTION_HANDBACK,
    ACTION_HANDOVER,
    ACTION_LISTEN,
    INTENT_NLU_FALLBACK,
    POLICY_SLOTS,
)

# Rasa's event type names (`Event.type_name` in Rasa, `event["event"]` in rasa_sdk).
EVENT_USER = "user"
EVENT_BOT = "bot"
EVENT_ACTION = "action"
EVENT_RESTART = "restart"
EVENT_SESSION_STARTED = "session_started"
EVENT_REWIND = "rewind"
EVENT_UNDO = "undo"
EVENT_SLOT = "slot"
EVENT_ACTIVE_LOOP = "active_loop"
EVENT_LOOP_REJECTED = "action_execution_rejected"
# The slot a form asks for (Rasa's `REQUESTED_SLOT`).
REQUESTED_SLOT = "requested_slot"
# Where Rasa puts the full name of a retrieval intent ("faq/ask_price") in a
# user event's intent (Rasa's `FULL_RETRIEVAL_INTENT_NAME_KEY`).
FULL_RETRIEVAL_INTENT_NAME = "full_retrieval_intent_name"
# Events after which the turns are numbered from 1 again.
SESSION_BOUNDARIES: Tuple[str, ...] = (EVENT_RESTART, EVENT_SESSION_STARTED)

# A user message that starts with this is an intent payload ("/greet"): sent by a
# button the customer clicked, or by the widget itself (rasa-webchat's
# `initPayload`), which the customer never saw.
INTENT_PAYLOAD_PREFIX = "/"

# Who wrote a transcript message.
ROLE_USER = "user"
ROLE_BOT = "bot"

# Actions after which a new segment starts.
DEFAULT_BOUNDARY_ACTIONS: Tuple[str, ...] = (ACTION_HANDOVER, ACTION_HANDBACK)


@dataclass(frozen=True)
class IntentScore:
    """One entry of NLU's intent ranking."""

    name: str
    confidence: float


@dataclass(frozen=True)
class Entity:
    """An entity NLU extracted from a user message."""

    entity: str
    value: Any
    start: Optional[int] = None
    end: Optional[int] = None
    role: Optional[str] = None
    group: Optional[str] = None


@dataclass(frozen=True)
class UserTurn:
    """One user message with what NLU understood of it.

    Attributes:
        index: 1-based position of the message among the user messages of the
            current session (the number agents and evidence refer to).
        text: The message as the user typed it (empty for button payloads).
        intent: The predicted intent (may be `nlu_fallback`).
        confidence: Its confidence, `None` when NLU gave none.
        ranking: The intent ranking without `nlu_fallback`, best first, so that
            the model's real top-1 / top-2 are visible even when
            `FallbackClassifier` replaced the intent.
        entities: Extracted entities.
        previous_action: The last bot action before the message, ignoring
            `action_listen` (e.g. `action_offer_handover` when the user answers
            an offer).
        timestamp: Unix time of the message, if known.
        unanswered_before: What the customer typed just before this message
            that a rewind took back (Rasa's `action_default_fallback`: "Sorry,
            I didn't get that"), oldest first. Such messages are no turns (NLU
            and the policies forget them), but the customer said them: the
            frustration signals read them with this turn.
        answers_form_slot: The slot a form of the bot was asking for when the
            customer wrote this (`requested_slot`), unless the form rejected
            the message (Rasa then asks the policies what to do instead).
            None outside forms.
        retrieval_intent: For a retrieval intent (a `ResponseSelector`
            answers it), the full name Rasa gives the question ("faq/ask_price"
            where `intent` is "faq"); None otherwise.

    """

    index: int
    text: str
    intent: Optional[str]
    confidence: Optional[float]
    ranking: Tuple[IntentScore, ...] = ()
    entities: Tuple[Entity, ...] = ()
    previous_action: Optional[str] = None
    timestamp: Optional[float] = None
    unanswered_before: Tuple[str, ...] = ()
    answers_form_slot: Optional[str] = None
    retrieval_intent: Optional[str] = None

    def entity_values(self, name: str) -> List[Any]:
        """Returns the values of every entity called `name` in this message."""
        return [e.value for e in self.entities if e.entity == name]


@dataclass(frozen=True)
class ConversationView:
    """What the triggers may look at.

    Attributes:
        turns: The user turns of the current segment, oldest first, at most
            `max_turns` of them (the most recent ones).
        segment_turn_count: How many user turns the segment has in total.
        slots: Current slot values.
        latest_action: The name of the latest action (`action_listen` right after
            a user message).
        active_loop: The name of the active form/loop, if any.

    """

    turns: Tuple[UserTurn, ...]
    segment_turn_count: int
    slots: Mapping[str, Any] = field(default_factory=dict)
    latest_action: Optional[str] = None
    active_loop: Optional[str] = None

    @property
    def latest_turn(self) -> Optional[UserTurn]:
        """The latest user message of the segment, if any."""
        return self.turns[-1] if self.turns else None

    @property
    def awaiting_response(self) -> bool:
        """True right after a user message, before the bot has acted on it."""
        return self.latest_action == ACTION_LISTEN and self.latest_turn is not None

    def recent_turns(self, window: int) -> Tuple[UserTurn, ...]:
        """The last `window` user turns of the segment, oldest first."""
        return self.turns[-window:] if window > 0 else ()

    def slot(self, name: str) -> Any:
        """The value of slot `name`, or `None`."""
        return self.slots.get(name)


# --- Building the view. --------------------------------------------------------


def _ranking(parse_data: Mapping[str, Any]) -> Tuple[IntentScore, ...]:
    ranking = parse_data.get("intent_ranking") or []
    scores = [
        IntentScore(str(item.get("name")), float(item.get("confidence") or 0.0))
        for item in ranking
        if item.get("name") and item.get("name") != INTENT_NLU_FALLBACK
    ]
    scores.sort(key=lambda s: s.confidence, reverse=True)
    return tuple(scores)


def _entities(raw: Optional[Iterable[Mapping[str, Any]]]) -> Tuple[Entity, ...]:
    return tuple(
        Entity(
            str(e.get("entity")),
            e.get("value"),
            e.get("start"),
            e.get("end"),
            e.get("role"),
            e.get("group"),
        )
        for e in raw or ()
        if e.get("entity")
    )


def _user_turn(
    text: Optional[str],
    intent: Optional[Mapping[str, Any]],
    parse_data: Optional[Mapping[str, Any]],
    entities: Optional[Iterable[Mapping[str, Any]]],
    timestamp: Optional[float],
    previous_action: Optional[str],
    index: int,
    unanswered_before: Tuple[str, ...] = (),
    answers_form_slot: Optional[str] = None,
) -> UserTurn:
    intent = intent or {}
    confidence = intent.get("confidence")
    return UserTurn(
        index=index,
        text=text or "",
        intent=intent.get("name"),
        confidence=None if confidence is None else float(confidence),
        ranking=_ranking(parse_data or {}),
        entities=_entities(entities),
        previous_action=previous_action,
        timestamp=timestamp,
        unanswered_before=unanswered_before,
        answers_form_slot=answers_form_slot,
        retrieval_intent=intent.get(FULL_RETRIEVAL_INTENT_NAME) or None,
    )


@dataclass
class _RawTurn:
    """A user event found by the backward scan, before numbering."""

    text: Optional[str]
    intent: Optional[Mapping[str, Any]]
    parse_data: Optional[Mapping[str, Any]]
    entities: Optional[Iterable[Mapping[str, Any]]]
    timestamp: Optional[float]
    # The event itself, so that `read_transcript` can number it.
    source: Any
    previous_action: Optional[str] = None
    # Rewound user messages just before this one, newest first.
    unanswered: List[str] = field(default_factory=list)
    # The slot a form asked for when the message came (see `_form_answers`).
    answers_form_slot: Optional[str] = None


def _scan(
    events: Sequence[Tuple[str, Any]],
    max_turns: int,
    boundary_actions: Tuple[str, ...],
    get: Callable[[Any, str], Any],
) -> Tuple[List[_RawTurn], int, int]:
    """Scans `(type_name, event)` pairs backwards.

    Returns:
        The newest `max_turns` user turns of the segment (newest first), the
        number of user turns in the segment, and the number of user turns in the
        session before the segment (so that turns can be numbered per session).

    """
    raw_turns: List[_RawTurn] = []
    segment_count = 0
    earlier_count = 0
    in_segment = True
    # A rewind removes the latest user message and the action before it
    # (`action_listen`); an undo removes the latest action. Scanning backwards,
    # pending removals swallow the next matching events.
    pending_user_removals = 0
    pending_action_removals = 0
    # The newest turn whose `previous_action` is still unknown.
    awaiting_previous_action: Optional[_RawTurn] = None
    # Rewinds in a row: one is a message taken back (`action_default_fallback`);
    # two take back a message and its confirmation (two-stage fallback).
    rewinds_in_a_row = 0
    previous_type = ""
    form_answers = _form_answers(events, get)

    for type_name, event in reversed(events):
        if type_name in (EVENT_RESTART, EVENT_SESSION_STARTED):
            break
        if type_name == EVENT_REWIND:
            pending_user_removals += 1
            in_a_row = previous_type == EVENT_REWIND
            rewinds_in_a_row = rewinds_in_a_row + 1 if in_a_row else 1
            previous_type = type_name
            continue
        previous_type = type_name
        if type_name == EVENT_UNDO:
            pending_action_removals += 1
            continue
        if pending_user_removals:
            if type_name == EVENT_USER:
                pending_user_removals -= 1
                pending_action_removals += 1
                if rewinds_in_a_row == 1:
                    _keep_unanswered(raw_turns, get(event, "text"), in_segment)
            continue
        if type_name == EVENT_ACTION:
            if pending_action_removals:
                pending_action_removals -= 1
                continue
            name = get(event, "name")
            if name != ACTION_LISTEN and awaiting_previous_action is not None:
                awaiting_previous_action.previous_action = name
                awaiting_previous_action = None
            if in_segment and name in boundary_actions:
                in_segment = False
            continue
        if pending_action_removals:
            continue
        if type_name != EVENT_USER:
            continue
        if not in_segment:
            earlier_count += 1
            continue
        segment_count += 1
        # Only a bot action *between* two user messages counts as the later
        # one's `previous_action`, so a new user event ends the wait.
        awaiting_previous_action = None
        if len(raw_turns) < max_turns:
            awaiting_previous_action = _RawTurn(
                get(event, "text"),
                get(event, "intent"),
                get(event, "parse_data"),
                get(event, "entities"),
                get(event, "timestamp"),
                event,
                answers_form_slot=form_answers.get(id(event)),
            )
            raw_turns.append(awaiting_previous_action)
    return raw_turns, segment_count, earlier_count


def _form_answers(
    events: Sequence[Tuple[str, Any]], get: Callable[[Any, str], Any]
) -> Dict[int, str]:
    """`id(event)` -> the slot a form asked for, for user messages that answer one.

    A forward pass: a message answers the form when a loop is active and has a
    `requested_slot` as it arrives, and the loop does not reject it
    (`ActionExecutionRejected`) before the customer's next message.
    """
    answers: Dict[int, str] = {}
    loop: Optional[str] = None
    requested: Optional[str] = None
    latest_user: Optional[int] = None
    for type_name, event in events:
        if type_name == EVENT_ACTIVE_LOOP:
            loop = get(event, "loop_name")
            requested = requested if loop else None
        elif type_name == EVENT_SLOT and get(event, "slot_name") == REQUESTED_SLOT:
            value = get(event, "value")
            requested = str(value) if value else None
        elif type_name == EVENT_USER:
            latest_user = id(event)
            if loop and requested:
                answers[latest_user] = requested
        elif type_name == EVENT_LOOP_REJECTED and latest_user is not None:
            answers.pop(latest_user, None)
        elif type_name in SESSION_BOUNDARIES:
            loop = requested = None
    return answers


def _keep_unanswered(
    raw_turns: List[_RawTurn], text: Optional[str], in_segment: bool
) -> None:
    """Keeps a rewound message with the turn that followed it (the newest found).

    A rewound intent payload ("/greet") was no text the customer typed, and a
    two-stage fallback rewinds the message it then re-adds: neither is kept.
    """
    if not (in_segment and raw_turns and text):
        return
    newer = raw_turns[-1]
    if text.startswith(INTENT_PAYLOAD_PREFIX) or text == newer.text:
        return
    if text not in newer.unanswered:
        newer.unanswered.append(text)


# The scan runs on every prediction, so the accessor is chosen once per source
# rather than type-checked per event.


def _get_from_object(event: Any, key: str) -> Any:
    """Reads `key` from a Rasa event object."""
    if key == "name":
        return getattr(event, "action_name", None)
    if key == "loop_name":
        return getattr(event, "name", None)
    if key == "slot_name":
        return getattr(event, "key", None)
    return getattr(event, key, None)


def _get_from_dict(event: Mapping[str, Any], key: str) -> Any:
    """Reads `key` from a serialised (rasa_sdk) event dictionary."""
    if key in ("intent", "entities") and key not in event:
        # Serialised user events keep NLU's output under `parse_data`.
        return (event.get("parse_data") or {}).get(key)
    if key in ("loop_name", "slot_name"):
        return event.get("name")
    return event.get(key)


def _numbered(
    raw_turns: List[_RawTurn], segment_count: int, earlier_count: int
) -> Tuple[UserTurn, ...]:
    turns = []
    # raw_turns is newest first; the newest is turn number earlier + segment_count.
    for offset, raw in enumerate(raw_turns):
        turns.append(
            _user_turn(
                raw.text,
                raw.intent,
                raw.parse_data,
                raw.entities,
                raw.timestamp,
                raw.previous_action,
                earlier_count + segment_count - offset,
                tuple(reversed(raw.unanswered)),
                raw.answers_form_slot,
            )
        )
    turns.reverse()
    return tuple(turns)


def view_from_rasa_tracker(
    tracker: Any,
    max_turns: int = 10,
    boundary_actions: Tuple[str, ...] = DEFAULT_BOUNDARY_ACTIONS,
) -> ConversationView:
    """Builds the view from Rasa's `DialogueStateTracker` (used by the policy).

    Args:
        tracker: The tracker the policy is asked to predict for.
        max_turns: How many of the segment's latest user turns to keep.
        boundary_actions: Actions after which a new segment starts.

    Returns:
        The conversation view.

    """
    events = [(e.type_name, e) for e in tracker.events]
    raw, segment_count, earlier = _scan(
        events, max_turns, boundary_actions, _get_from_object
    )
    latest_action = tracker.latest_action_name
    return ConversationView(
        turns=_numbered(raw, segment_count, earlier),
        segment_turn_count=segment_count,
        slots=tracker.current_slot_values(),
        latest_action=latest_action,
        active_loop=tracker.active_loop_name,
    )


def view_from_turns(
    turns: Sequence[UserTurn],
    slots: Optional[Dict[str, Any]] = None,
    latest_action: Optional[str] = ACTION_LISTEN,
) -> ConversationView:
    """Builds a view directly (tests, `rasa-handover evaluate`)."""
    return ConversationView(
        turns=tuple(turns),
        segment_turn_count=len(turns),
        slots=dict(slots or {}),
        latest_action=latest_action,
    )


# --- The transcript (rasa_sdk's event dictionaries). ---------------------------


@dataclass(frozen=True)
class Message:
    """One message of the transcript, as the customer saw it.

    Attributes:
        role: `user` or `bot`.
        text: The text; a bot message without one (an image, a card) is
            described, e.g. "[image] https://...".
        timestamp: Unix time, if known.
        session: 1-based session number (a restart starts a new one too).
        intent: User messages: NLU's intent.
        action: Bot messages: the response (`utter_action`) or the action that
            sent it.
        buttons: Bot messages: the titles of its buttons or quick replies.
        metadata: User messages: the channel's metadata.
        turn: User messages that count (not rewound): the turn with what NLU
            understood, numbered like the policy's `UserTurn.index`.
        typed: False for an intent payload that no button of the bot offered
            (a widget's init payload such as `/greet`): the customer neither
            typed nor saw it, so the agent's transcript leaves it out.
        button: User messages sent by clicking a button: its title (what the
            customer saw as their message; `text` is the payload).
        sent_by: Bot messages: the action that ran when it was sent (a custom
            action that sent a response, where `action` names the response).

    """

    role: str
    text: str
    timestamp: Optional[float]
    session: int
    intent: Optional[str] = None
    action: Optional[str] = None
    buttons: Tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    turn: Optional[UserTurn] = None
    typed: bool = True
    button: Optional[str] = None
    sent_by: Optional[str] = None


@dataclass(frozen=True)
class Transcript:
    """The whole conversation, read once (see `read_transcript`).

    Attributes:
        messages: Every user and bot message, oldest first.
        bot_actions: The bot's actions in order, without `action_listen`; a run
            of the same action (a form asking again) counts once.
        forms: The forms (active loops) that ran, in order.
        customer_slots: Slots the customer filled (through slot mappings right
            after a message, or a form), as opposed to the bot's lookups.
        input_channel: The latest user message's input channel.
        action_counts: How often each action ran.

    """

    messages: Tuple[Message, ...] = ()
    bot_actions: Tuple[str, ...] = ()
    forms: Tuple[str, ...] = ()
    customer_slots: Tuple[str, ...] = ()
    input_channel: Optional[str] = None
    action_counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def user_messages(self) -> Tuple[Message, ...]:
        """The user's messages, rewound ones included."""
        return tuple(m for m in self.messages if m.role == ROLE_USER)

    @property
    def turns(self) -> Tuple[Message, ...]:
        """The user messages that count as turns (not rewound), in order."""
        return tuple(m for m in self.messages if m.turn is not None)

    def latest_metadata(self, keys: Sequence[str]) -> Optional[Any]:
        """The latest user message's metadata value under any of `keys`."""
        for message in reversed(self.user_messages):
            for key in keys:
                value = message.metadata.get(key)
                if value not in (None, ""):
                    return value
        return None


def _numbered_user_events(events: Sequence[Mapping[str, Any]]) -> Dict[int, UserTurn]:
    """`id(event)` -> its turn, for the user events that count.

    Each session is scanned with the policy's own `_scan`, so rewinds, undos and
    the numbering are the policy's by construction.
    """
    turns: Dict[int, UserTurn] = {}
    starts = [0]
    starts += [i for i, e in enumerate(events) if e.get("event") in SESSION_BOUNDARIES]
    for start, end in zip(starts, [*starts[1:], len(events)]):
        pairs = [(str(e.get("event")), e) for e in events[start:end]]
        raw, count, _ = _scan(pairs, sys.maxsize, (), _get_from_dict)
        numbered = _numbered(raw, count, 0)
        for raw_turn, turn in zip(raw, reversed(numbered)):
            turns[id(raw_turn.source)] = turn
    return turns


def _describe_rich_message(data: Mapping[str, Any]) -> str:
    """A text stand-in for a bot message without text (image, card, custom)."""
    if data.get("image"):
        return f"[image] {data['image']}"
    if data.get("attachment"):
        return "[attachment]"
    if data.get("elements"):
        return "[carousel]"
    if data.get("custom"):
        # Never the custom payload itself: an earlier handover's payload would
        # nest inside a later one.
        return "[custom message]"
    return ""


class _TranscriptReader:
    """One forward pass over the events (see `read_transcript`)."""

    def __init__(self, events: Sequence[Mapping[str, Any]]) -> None:
        self.turns = _numbered_user_events(events)
        self.form_names = {
            str(e.get("name"))
            for e in events
            if e.get("event") == EVENT_ACTIVE_LOOP and e.get("name")
        }
        self.messages: List[Message] = []
        self.bot_actions: List[str] = []
        self.forms: List[str] = []
        self.customer_slots: List[str] = []
        self.input_channel: Optional[str] = None
        self.action_counts: Dict[str, int] = {}
        # The payloads of the buttons the bot offered: a click sends one.
        self.button_titles: Dict[str, str] = {}
        self.session = 1
        self.latest_action: Optional[str] = None
        # Slots set right after a user message, before any action, come from
        # the domain's slot mappings (Rasa's action_extract_slots is not logged
        # as an action): the customer gave them. So did slots a form validated.
        self.after_user = False

    def read(self, index: int, event: Mapping[str, Any]) -> None:
        kind = event.get("event")
        if kind in SESSION_BOUNDARIES and index > 0:
            if self.messages and self.messages[-1].session == self.session:
                self.session += 1
        elif kind == EVENT_USER:
            self._user(event)
        elif kind == EVENT_BOT:
            self._bot(event)
        elif kind == EVENT_ACTION:
            self._action(event.get("name"))
        elif kind == EVENT_ACTIVE_LOOP and event.get("name"):
            if str(event["name"]) not in self.forms:
                self.forms.append(str(event["name"]))
        elif kind == EVENT_SLOT:
            self._slot(event.get("name"))

    def _user(self, event: Mapping[str, Any]) -> None:
        parse_data = event.get("parse_data") or {}
        metadata = event.get("metadata") or parse_data.get("metadata") or {}
        text = str(event.get("text") or "")
        self.messages.append(
            Message(
                role=ROLE_USER,
                text=text,
                timestamp=event.get("timestamp"),
                session=self.session,
                intent=(_get_from_dict(event, "intent") or {}).get("name"),
                metadata=metadata if isinstance(metadata, Mapping) else {},
                turn=self.turns.get(id(event)),
                typed=not text.startswith(INTENT_PAYLOAD_PREFIX)
                or text in self.button_titles,
                button=self.button_titles.get(text),
            )
        )
        if event.get("input_channel"):
            self.input_channel = str(event["input_channel"])
        self.after_user = True

    def _bot(self, event: Mapping[str, Any]) -> None:
        metadata = event.get("metadata") or {}
        data = event.get("data") or {}
        action = metadata.get("utter_action") if isinstance(metadata, Mapping) else None
        buttons = data.get("buttons") or data.get("quick_replies") or []
        self.button_titles.update(
            (str(button["payload"]), str(button.get("title") or button["payload"]))
            for button in buttons
            if isinstance(button, Mapping) and button.get("payload")
        )
        self.messages.append(
            Message(
                role=ROLE_BOT,
                text=str(event.get("text") or _describe_rich_message(data)),
                timestamp=event.get("timestamp"),
                session=self.session,
                action=action or self.latest_action,
                sent_by=self.latest_action,
                buttons=tuple(
                    str(button.get("title"))
                    for button in buttons
                    if isinstance(button, Mapping) and button.get("title")
                ),
            )
        )

    def _action(self, name: Optional[str]) -> None:
        self.after_user = False
        if name:
            self.action_counts[name] = self.action_counts.get(name, 0) + 1
        if name and name != ACTION_LISTEN:
            self.latest_action = str(name)
            # A form or a fallback runs over and over; once per run of the
            # same action is what the bot "tried".
            if not self.bot_actions or self.bot_actions[-1] != name:
                self.bot_actions.append(str(name))

    def _slot(self, name: Optional[str]) -> None:
        latest = self.latest_action
        from_customer = self.after_user or (
            latest is not None
            and (latest in self.form_names or latest.startswith("validate_"))
        )
        if (
            name
            and from_customer
            and name not in POLICY_SLOTS
            and name != "requested_slot"
            and name not in self.customer_slots
        ):
            self.customer_slots.append(str(name))

    def transcript(self) -> Transcript:
        return Transcript(
            messages=tuple(self.messages),
            bot_actions=tuple(self.bot_actions),
            forms=tuple(self.forms),
            customer_slots=tuple(self.customer_slots),
            input_channel=self.input_channel,
            action_counts=dict(self.action_counts),
        )


def read_transcript(events: Sequence[Mapping[str, Any]]) -> Transcript:
    """Reads serialised events (rasa_sdk's `Tracker.events`) into a `Transcript`.

    Args:
        events: Event dictionaries as Rasa serialises them, oldest first.

    Returns:
        The transcript: every message, the user turns numbered per session the
        way the policy numbers them (what `handover_turn` refers to), what the
        bot tried, and the slots the customer filled.

    """
    reader = _TranscriptReader(events)
    for index, event in enumerate(events):
        reader.read(index, event)
    return reader.transcript()
