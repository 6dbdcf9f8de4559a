"""A read-only view of a conversation that the triggers, payload and summary share.

Rasa's policy sees a `DialogueStateTracker` with event objects; rasa_sdk's actions
see a `Tracker` with event dictionaries. Both are turned into the same
`ConversationView`, so that every decision is a pure function of one vocabulary.

The view only covers the current *segment*: the user turns since the session
started, the conversation restarted, or the last handover / handback. A handback
must not re-escalate on the frustration that caused the previous handover.

Building the view is on the policy's hot path (it runs before every prediction), so
it scans the events once, backwards, and stops at the segment boundary. It honours
rewinds (`UserUtteranceReverted`) and undos (`ActionReverted`) the way
`DialogueStateTracker.applied_events()` does, without that method's full-history
copy.
"""

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
)

# Rasa's event type names (`Event.type_name` in Rasa, `event["event"]` in rasa_sdk).
EVENT_USER = "user"
EVENT_BOT = "bot"
EVENT_ACTION = "action"
EVENT_RESTART = "restart"
EVENT_SESSION_STARTED = "session_started"
EVENT_REWIND = "rewind"
EVENT_UNDO = "undo"

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

    """

    index: int
    text: str
    intent: Optional[str]
    confidence: Optional[float]
    ranking: Tuple[IntentScore, ...] = ()
    entities: Tuple[Entity, ...] = ()
    previous_action: Optional[str] = None
    timestamp: Optional[float] = None

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
        Entity(str(e.get("entity")), e.get("value"), e.get("start"), e.get("end"))
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
    )


@dataclass
class _RawTurn:
    """A user event found by the backward scan, before numbering."""

    text: Optional[str]
    intent: Optional[Mapping[str, Any]]
    parse_data: Optional[Mapping[str, Any]]
    entities: Optional[Iterable[Mapping[str, Any]]]
    timestamp: Optional[float]
    previous_action: Optional[str] = None


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

    for type_name, event in reversed(events):
        if type_name in (EVENT_RESTART, EVENT_SESSION_STARTED):
            break
        if type_name == EVENT_REWIND:
            pending_user_removals += 1
            continue
        if type_name == EVENT_UNDO:
            pending_action_removals += 1
            continue
        if pending_user_removals:
            if type_name == EVENT_USER:
                pending_user_removals -= 1
                pending_action_removals += 1
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
            )
            raw_turns.append(awaiting_previous_action)
    return raw_turns, segment_count, earlier_count


# The scan runs on every prediction, so the accessor is chosen once per source
# rather than type-checked per event.


def _get_from_object(event: Any, key: str) -> Any:
    """Reads `key` from a Rasa event object."""
    if key == "name":
        return getattr(event, "action_name", None)
    return getattr(event, key, None)


def _get_from_dict(event: Mapping[str, Any], key: str) -> Any:
    """Reads `key` from a serialised (rasa_sdk) event dictionary."""
    if key in ("intent", "entities") and key not in event:
        # Serialised user events keep NLU's output under `parse_data`.
        return (event.get("parse_data") or {}).get(key)
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


def view_from_events(
    events: Sequence[Mapping[str, Any]],
    slots: Optional[Mapping[str, Any]] = None,
    active_loop: Optional[str] = None,
    max_turns: int = 10,
    boundary_actions: Tuple[str, ...] = DEFAULT_BOUNDARY_ACTIONS,
) -> ConversationView:
    """Builds the view from serialised events (rasa_sdk's `Tracker.events`).

    Args:
        events: Event dictionaries as Rasa serialises them.
        slots: Current slot values.
        active_loop: The active loop's name, if any.
        max_turns: How many of the segment's latest user turns to keep.
        boundary_actions: Actions after which a new segment starts.

    Returns:
        The conversation view.

    """
    pairs = [(str(e.get("event")), e) for e in events]
    raw, segment_count, earlier = _scan(
        pairs, max_turns, boundary_actions, _get_from_dict
    )
    latest_action = next(
        (e.get("name") for e in reversed(events) if e.get("event") == EVENT_ACTION),
        None,
    )
    return ConversationView(
        turns=_numbered(raw, segment_count, earlier),
        segment_turn_count=segment_count,
        slots=dict(slots or {}),
        latest_action=latest_action,
        active_loop=active_loop,
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
