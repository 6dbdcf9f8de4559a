"""The handover actions, for Rasa's action server (rasa_sdk).

Serve them on their own::

    rasa run actions --actions rasa_handover.actions

or import them from your own actions package (`from rasa_handover.actions import
*`). They need nothing but the domain fragment `rasa_handover/domain.yml`.

- `action_handover` builds the context payload (transcript, intents, entities,
  slots, sentiment, trigger and summary) and emits it, with the domain's
  customer-facing responses, as a custom message that the handover channel turns
  into an inbox ticket and the acknowledgement the customer sees.
- `action_offer_handover` asks whether the customer wants a person.
- `action_handover_clarify` asks once what an unclear turn meant.
- `action_handback` greets the customer back when the agent resolves, and
  asks the CSAT question (`utter_handover_csat`, if the domain has it);
  `action_handover_csat` stores the answer on the ticket (`csat.py`).
- `action_schedule_callback` books the callback `handover_callback_form`
  collected (`validate_handover_callback_form` reads contact and time).
- `action_handover_leave_message` leaves a message answered by e-mail
  (`handover_message_form`, `validate_handover_message_form`).

Configuration (optional): a YAML file named by the environment variable
`RASA_HANDOVER_CONFIG`, with `payload:` (see docs/payload.md) and `summariser:`;
`HANDOVER_TIMEZONE`, the time zone callback times are read in (an IANA name,
default UTC; see callback_details.py).
"""

import logging
import os
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

import yaml
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from rasa_handover.callback_details import (
    callback_timezone,
    find_contact,
    find_email,
    parse_callback_time,
)
from rasa_handover.constants import (
    ACTION_CLARIFY,
    ACTION_HANDBACK,
    ACTION_HANDOVER,
    ACTION_LEAVE_MESSAGE,
    ACTION_OFFER_HANDOVER,
    ACTION_SCHEDULE_CALLBACK,
    FORM_CALLBACK,
    FORM_MESSAGE,
    MESSAGE_ASYNC,
    MESSAGE_CALLBACK,
    MESSAGE_HANDOVER,
    MESSAGE_KEY,
    METADATA_AGENT_NAME,
    METADATA_OUTCOME,
    OUTCOME_EXPIRED,
    SLOT_CALLBACK_CONTACT,
    SLOT_CALLBACK_DUE,
    SLOT_CALLBACK_TIME,
    SLOT_HANDOVER_ACTIVE,
    SLOT_HANDOVER_EMAIL,
    SLOT_HANDOVER_EVIDENCE,
    SLOT_HANDOVER_MESSAGE,
    SLOT_HANDOVER_OFFERED,
    SLOT_HANDOVER_REASON,
    SLOT_HANDOVER_TURN,
)
from rasa_handover.conversation import read_transcript
from rasa_handover.csat import ActionHandoverCsat, ask_csat
from rasa_handover.inbox.contract import DEFAULT_TEAM
from rasa_handover.intent_properties import intent_properties_of, parse_declarations
from rasa_handover.payload import (
    PayloadConfig,
    build_payload_async,
    preload_payload_builder,
)
from rasa_handover.payload.sections import EVIDENCE_TEAM, evidence_of
from rasa_handover.responses import (
    HANDOVER_RESPONSES,
    UTTER_ASK_CALLBACK,
    UTTER_CALLBACK_SCHEDULED,
    UTTER_HANDBACK,
    UTTER_INVALID_CONTACT,
    UTTER_INVALID_EMAIL,
    UTTER_INVALID_TIME,
    UTTER_MESSAGE_LEFT,
    UTTER_OFFER,
    UTTER_REPLIED_WHILE_AWAY,
    clarify_message,
    pick_templates,
)
from rasa_handover.settings import HandoverConfigError
from rasa_handover.summary import Summariser, summariser_from_config

logger = logging.getLogger(__name__)

CONFIG_ENV = "RASA_HANDOVER_CONFIG"
# Slots that may hold a callback's time and contact, in order of preference.
CALLBACK_TIME_SLOTS = (SLOT_CALLBACK_TIME, "time")
CALLBACK_CONTACT_SLOTS = (SLOT_CALLBACK_CONTACT, "phone", "phone_number", "email")


@lru_cache(maxsize=1)
def _config() -> Dict[str, Any]:
    path = os.environ.get(CONFIG_ENV)
    if not path:
        return {}
    with open(path, encoding="utf-8") as file:
        data = yaml.safe_load(file) or {}
    if not isinstance(data, dict):
        raise ValueError(
            f"{CONFIG_ENV}={path}: the file must be a YAML mapping with the keys "
            f"`payload` and/or `summariser`."
        )
    return data


@lru_cache(maxsize=1)
def payload_config() -> PayloadConfig:
    """The payload configuration from `RASA_HANDOVER_CONFIG` (or the defaults)."""
    return PayloadConfig.from_dict(_config().get("payload") or {})


@lru_cache(maxsize=1)
def summariser() -> Summariser:
    """The summariser from `RASA_HANDOVER_CONFIG` (offline rule-based default)."""
    return summariser_from_config(_config().get("summariser") or {"type": "rule_based"})


def handover_attempt(events: List[Dict[str, Any]]) -> int:
    """The number of this handover in the conversation (1 for the first).

    Together with the conversation id it identifies the handover, so that a
    retried delivery never creates a second ticket.
    """
    return read_transcript(events).action_counts.get(ACTION_HANDOVER, 0) + 1


def team_for(tracker: Tracker, domain: Mapping[str, Any]) -> str:
    """The team that should take the conversation.

    The policy's decision names it in its evidence (regulated topics);
    otherwise the `handover_team` that domain.yml declares for the latest user
    intent that has one decides (read by `intent_properties`, as the policy
    reads it), else `DEFAULT_TEAM`.
    """
    evidence = evidence_of(tracker.get_slot(SLOT_HANDOVER_EVIDENCE))
    if evidence.get(EVIDENCE_TEAM):
        return str(evidence[EVIDENCE_TEAM])
    try:
        declarations = parse_declarations(intent_properties_of(domain), None, None)
    except HandoverConfigError as error:
        # `rasa train` rejects this domain with the policy; without it, route to
        # the default team rather than fail the handover.
        logger.error("rasa_handover: %s Routing to '%s'.", error, DEFAULT_TEAM)
        return DEFAULT_TEAM
    for message in reversed(read_transcript(tracker.events).user_messages):
        declaration = declarations.get(str(message.intent))
        if declaration is not None and declaration.team:
            return declaration.team
    return DEFAULT_TEAM


class ActionHandover(Action):
    """Hands the conversation to a human with everything the bot learned."""

    def __init__(self) -> None:
        """Loads spaCy, the signals' and the language models at start-up.

        The first customer handed over then does not wait for them.
        """
        super().__init__()
        preload_payload_builder(payload_config())

    def name(self) -> str:
        """The action's name in the domain."""
        return ACTION_HANDOVER

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> List[EventType]:
        """Emits the context payload for the handover channel.

        Returns:
            `handover_active` set to true: the bot stays silent from now on.

        """
        attempt = handover_attempt(tracker.events)
        dispatcher.utter_message(
            json_message={
                MESSAGE_KEY: {
                    "type": MESSAGE_HANDOVER,
                    "conversation_id": tracker.sender_id,
                    "attempt": attempt,
                    "payload": await _payload(tracker, domain, attempt),
                    "responses": _templates(tracker, domain, HANDOVER_RESPONSES),
                }
            }
        )
        return [SlotSet(SLOT_HANDOVER_ACTIVE, True)]


class ActionOfferHandover(Action):
    """Offers a person when the customer keeps asking the same thing."""

    def name(self) -> str:
        """The action's name in the domain."""
        return ACTION_OFFER_HANDOVER

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> List[EventType]:
        """Asks the offer question (`utter_offer_handover`), once per conversation."""
        dispatcher.utter_message(response=UTTER_OFFER)
        return [SlotSet(SLOT_HANDOVER_OFFERED, True)]


class ActionHandback(Action):
    """The agent resolved the conversation: the bot takes over again."""

    def name(self) -> str:
        """The action's name in the domain."""
        return ACTION_HANDBACK

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> List[EventType]:
        """Greets the customer back with the agent's name and clears the handover.

        Returns:
            The decision slots reset, so the next escalation starts afresh.

        """
        metadata = (tracker.latest_message or {}).get("metadata") or {}
        agent_name = metadata.get(METADATA_AGENT_NAME) or "Our team"
        if metadata.get(METADATA_OUTCOME) != OUTCOME_EXPIRED:
            # After an expiry nobody handed the customer back: no greeting.
            dispatcher.utter_message(response=UTTER_HANDBACK, agent_name=agent_name)
            # One CSAT question about the person who helped (none after expiry).
            ask_csat(dispatcher, domain)
        return [
            SlotSet(SLOT_HANDOVER_ACTIVE, False),
            SlotSet(SLOT_HANDOVER_REASON, None),
            SlotSet(SLOT_HANDOVER_EVIDENCE, None),
            SlotSet(SLOT_HANDOVER_TURN, None),
        ]


class ActionScheduleCallback(Action):
    """Nobody is available: arrange a callback (or an async reply) instead."""

    def name(self) -> str:
        """The action's name in the domain."""
        return ACTION_SCHEDULE_CALLBACK

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> List[EventType]:
        """Creates an async ticket with the time and contact the customer gave.

        Asks for them (`utter_ask_callback_details`) when the slots are empty.
        """
        when = _first_slot(tracker, CALLBACK_TIME_SLOTS)
        contact = _first_slot(tracker, CALLBACK_CONTACT_SLOTS)
        if not when and not contact:
            dispatcher.utter_message(response=UTTER_ASK_CALLBACK)
            return []
        dispatcher.utter_message(
            json_message={
                MESSAGE_KEY: {
                    "type": MESSAGE_CALLBACK,
                    "conversation_id": tracker.sender_id,
                    "when": when,
                    "due_at": tracker.get_slot(SLOT_CALLBACK_DUE),
                    "contact": contact,
                    "payload": await _payload(
                        tracker, domain, handover_attempt(tracker.events)
                    ),
                    "responses": _templates(
                        tracker, domain, [UTTER_CALLBACK_SCHEDULED]
                    ),
                }
            }
        )
        # The ticket leaves the queue: the bot talks again until the call.
        return [SlotSet(SLOT_HANDOVER_ACTIVE, False)]


async def _payload(
    tracker: Tracker, domain: Mapping[str, Any], attempt: int
) -> Dict[str, Any]:
    # In a worker thread: language models and an LLM summariser take time.
    return await build_payload_async(
        tracker.sender_id,
        tracker.events,
        tracker.current_slot_values(),
        channel=tracker.get_latest_input_channel(),
        attempt=attempt,
        config=payload_config(),
        summariser=summariser(),
        team=team_for(tracker, domain),
    )


def _templates(
    tracker: Tracker, domain: Mapping[str, Any], names: Iterable[str]
) -> Dict[str, Dict[str, Any]]:
    """The domain's variations of `names` that fit the conversation."""
    return pick_templates(
        domain.get("responses") or {},
        names,
        tracker.current_slot_values(),
        tracker.get_latest_input_channel(),
    )


def _first_slot(tracker: Tracker, names: Any) -> Optional[str]:
    for name in names:
        value = tracker.get_slot(name)
        if value:
            return str(value)
    return None


class ActionHandoverClarify(Action):
    """NLU is unsure: asks the customer once what they meant, before a person.

    Says `utter_handover_clarify` with the likely intents as buttons (those the
    domain gives a `handover_display_name`), then the response's own buttons
    ("Something else" hands over). If the next turn is unclear too, the policy
    hands over.
    """

    def name(self) -> str:
        """The action's name in the domain."""
        return ACTION_CLARIFY

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> List[EventType]:
        """Asks the clarifying question; the policy listens for the answer."""
        message = clarify_message(
            domain.get("responses") or {},
            tracker.current_slot_values(),
            tracker.get_slot(SLOT_HANDOVER_EVIDENCE),
            tracker.get_latest_input_channel(),
        )
        dispatcher.utter_message(**message)
        return []


# --- The alternatives to waiting: callback and message forms. -----------------

# Slots of the bot that may already hold the customer's e-mail address.
KNOWN_EMAIL_SLOTS = ("email", "customer_email")

Clock = Callable[[], datetime]


def callback_now() -> datetime:
    """Now, in the callback time zone (`HANDOVER_TIMEZONE`, default UTC)."""
    return datetime.now(timezone.utc).astimezone(callback_timezone())


def _text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "")


def _asked_for(tracker: Tracker, slot: str) -> bool:
    return tracker.get_slot("requested_slot") == slot


def _ask_again(
    dispatcher: CollectingDispatcher, tracker: Tracker, slot: str, why: str
) -> Dict[str, Any]:
    """When `slot` was asked for and not read: say `why`, and ask again.

    The slot is set to None, so the form asks again (an empty answer would make
    Rasa reject the form and drop this message). Otherwise nothing is set.
    """
    if not _asked_for(tracker, slot):
        return {}
    dispatcher.utter_message(response=why)
    return {slot: None}


class ValidateHandoverCallbackForm(FormValidationAction):
    """Reads the callback's contact and time; asks again when unclear."""

    clock: Clock = staticmethod(callback_now)

    def __init__(self) -> None:
        """Checks the time zone setting: a bad one stops the action server's start."""
        super().__init__()
        callback_timezone()

    def name(self) -> str:
        """The validation action of `handover_callback_form`."""
        return f"validate_{FORM_CALLBACK}"

    async def extract_callback_contact(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """A phone number or e-mail address in the latest message."""
        if tracker.get_slot(SLOT_CALLBACK_CONTACT):
            return {}
        contact = find_contact(_text(tracker))
        if contact is not None:
            return {SLOT_CALLBACK_CONTACT: contact.value}
        return _ask_again(
            dispatcher, tracker, SLOT_CALLBACK_CONTACT, UTTER_INVALID_CONTACT
        )

    async def extract_callback_time(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """When to call, read from the latest message."""
        if tracker.get_slot(SLOT_CALLBACK_TIME):
            return {}
        when = parse_callback_time(_text(tracker), self.clock())
        if when is not None:
            return {
                SLOT_CALLBACK_TIME: when.text,
                SLOT_CALLBACK_DUE: when.due.isoformat(timespec="minutes"),
            }
        return _ask_again(dispatcher, tracker, SLOT_CALLBACK_TIME, UTTER_INVALID_TIME)

    async def validate_callback_contact(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[str, Any]:
        """Read by `extract_callback_contact` already."""
        return {SLOT_CALLBACK_CONTACT: value}

    async def validate_callback_time(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[str, Any]:
        """Read by `extract_callback_time` already."""
        return {SLOT_CALLBACK_TIME: value}

    async def get_validation_events(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[EventType]:
        """The form's slots, plus the due time read with the time.

        rasa_sdk keeps only the form's own slots; `callback_due` is not asked
        for, so it is added here.
        """
        events = await super().get_validation_events(dispatcher, tracker, domain)
        due = tracker.get_slot(SLOT_CALLBACK_DUE)
        if due and any(
            event.get("name") == SLOT_CALLBACK_TIME and event.get("value")
            for event in events
        ):
            events.append(SlotSet(SLOT_CALLBACK_DUE, due))
        return events


class ValidateHandoverMessageForm(FormValidationAction):
    """The reply address: the bot's own if known, else asked and checked."""

    def name(self) -> str:
        """The validation action of `handover_message_form`."""
        return f"validate_{FORM_MESSAGE}"

    async def extract_handover_email(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """The bot's known address, or one in the latest message."""
        if tracker.get_slot(SLOT_HANDOVER_EMAIL):
            return {}
        for slot in KNOWN_EMAIL_SLOTS:
            known = find_email(str(tracker.get_slot(slot) or ""))
            if known is not None:
                return {SLOT_HANDOVER_EMAIL: known.value}
        found = find_email(_text(tracker))
        if found is not None:
            return {SLOT_HANDOVER_EMAIL: found.value}
        return _ask_again(dispatcher, tracker, SLOT_HANDOVER_EMAIL, UTTER_INVALID_EMAIL)

    async def validate_handover_email(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[str, Any]:
        """Read by `extract_handover_email` already."""
        return {SLOT_HANDOVER_EMAIL: value}

    async def validate_handover_message(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[str, Any]:
        """Any text is a message."""
        return {SLOT_HANDOVER_MESSAGE: value}


class ActionHandoverLeaveMessage(Action):
    """Leaves the customer's message for the team, answered by e-mail."""

    def name(self) -> str:
        """The action's name in the domain."""
        return ACTION_LEAVE_MESSAGE

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> List[EventType]:
        """Emits the async request for the channel and confirms in one sentence.

        Returns:
            `handover_active` false: the bot talks again while the team answers
            by e-mail.

        """
        email = tracker.get_slot(SLOT_HANDOVER_EMAIL)
        if not email:
            dispatcher.utter_message(response=UTTER_INVALID_EMAIL)
            return []
        dispatcher.utter_message(
            json_message={
                MESSAGE_KEY: {
                    "type": MESSAGE_ASYNC,
                    "conversation_id": tracker.sender_id,
                    "email": email,
                    "message": tracker.get_slot(SLOT_HANDOVER_MESSAGE),
                    "payload": await _payload(
                        tracker, domain, handover_attempt(tracker.events)
                    ),
                    "responses": _templates(
                        tracker, domain, [UTTER_MESSAGE_LEFT, UTTER_REPLIED_WHILE_AWAY]
                    ),
                }
            }
        )
        return [
            SlotSet(SLOT_HANDOVER_ACTIVE, False),
            SlotSet(SLOT_HANDOVER_MESSAGE, None),
        ]


__all__ = [
    "ActionHandback",
    "ActionHandover",
    "ActionHandoverClarify",
    "ActionHandoverCsat",
    "ActionHandoverLeaveMessage",
    "ActionOfferHandover",
    "ActionScheduleCallback",
    "ValidateHandoverCallbackForm",
    "ValidateHandoverMessageForm",
]
