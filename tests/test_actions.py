"""The rasa_sdk actions, run with rasa_sdk's own Tracker and dispatcher."""

from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import yaml
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet as SdkSlotSet
from rasa_sdk.executor import CollectingDispatcher

from rasa_handover.actions import (
    DEFAULT_TEAM,
    ActionHandback,
    ActionHandover,
    ActionHandoverCsat,
    ActionOfferHandover,
    ActionScheduleCallback,
    handover_attempt,
)
from rasa_handover.constants import (
    MESSAGE_CALLBACK,
    MESSAGE_CSAT,
    MESSAGE_HANDOVER,
    MESSAGE_KEY,
)
from rasa_handover.payload import validate_payload

FRAGMENT = yaml.safe_load(
    (Path(__file__).parent.parent / "rasa_handover" / "domain.yml").read_text()
)
DOMAIN: Dict[str, Any] = {
    **FRAGMENT,
    "intents": [
        *FRAGMENT["intents"],
        {"request_refund": {"handover_team": "billing", "regulated": True}},
        "greet",
    ],
}


def user(text: str, intent: str, entities: Optional[list] = None) -> Dict[str, Any]:
    return UserUttered(
        text,
        {"name": intent, "confidence": 0.93},
        entities=entities or [],
        parse_data={
            "intent": {"name": intent, "confidence": 0.93},
            "entities": entities or [],
            "intent_ranking": [{"name": intent, "confidence": 0.93}],
        },
        input_channel="handover",
    ).as_dict()


def tracker(
    events: List[Dict[str, Any]],
    slots: Optional[Dict[str, Any]] = None,
    metadata: Optional[Dict[str, Any]] = None,
) -> Tracker:
    latest = next((e for e in reversed(events) if e["event"] == "user"), {})
    return Tracker(
        "dana-1",
        slots or {},
        {
            **latest.get("parse_data", {}),
            "text": latest.get("text"),
            "metadata": metadata or {},
        },
        events,
        False,
        None,
        {},
        "action_listen",
    )


CONVERSATION = [
    ActionExecuted("action_listen").as_dict(),
    user("hi, I'm Dana", "greet"),
    ActionExecuted("utter_greet").as_dict(),
    BotUttered("Hi! How can I help?").as_dict(),
    ActionExecuted("action_listen").as_dict(),
    user(
        "I want a refund of 250 for order 1182",
        "request_refund",
        [{"entity": "amount", "value": "250", "start": 19, "end": 22}],
    ),
    SlotSet("refund_amount", 250.0).as_dict(),
]
DECISION_SLOTS = {
    "handover_reason": "regulated_topic",
    "handover_evidence": {"intent": "request_refund", "team": "billing", "turn": 2},
    "handover_turn": 2,
    "refund_amount": 250.0,
    "account_tier": "vip",
}


async def test_handover_emits_the_payload_and_the_domains_sentences() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionHandover().run(
        dispatcher, tracker(CONVERSATION, DECISION_SLOTS), DOMAIN
    )
    assert events == [SdkSlotSet("handover_active", True)]
    [message] = dispatcher.messages
    body = message["custom"][MESSAGE_KEY]
    assert body["type"] == MESSAGE_HANDOVER
    assert body["attempt"] == 1
    payload = body["payload"]
    validate_payload(payload)
    assert payload["trigger"]["reason"] == "regulated_topic"
    assert payload["trigger"]["team"] == "billing"
    assert [t["text"] for t in payload["transcript"]][:2] == [
        "hi, I'm Dana",
        "Hi! How can I help?",
    ]
    assert payload["slots"]["refund_amount"] == 250.0
    assert "handover_reason" not in payload["slots"]
    # The channel fills the placeholders; the action passes the templates.
    assert "{agent_name}" in body["responses"]["utter_handover_connecting"]["text"]


async def test_team_comes_from_the_intents_domain_property() -> None:
    slots = {**DECISION_SLOTS, "handover_evidence": {"intent": "request_refund"}}
    dispatcher = CollectingDispatcher()
    await ActionHandover().run(dispatcher, tracker(CONVERSATION, slots), DOMAIN)
    payload = dispatcher.messages[0]["custom"][MESSAGE_KEY]["payload"]
    assert payload["trigger"]["team"] == "billing"


@pytest.mark.parametrize(
    ("evidence", "intents", "team"),
    [
        pytest.param(
            {"team": "compliance"},
            [{"request_refund": {"handover_team": "billing"}}],
            "compliance",
            id="the-decision-names-it",
        ),
        pytest.param(
            {"intent": "request_refund"},
            [{"request_refund": {"handover_team": "billing"}}, "greet"],
            "billing",
            id="latest-intent-declares-it",
        ),
        pytest.param({}, ["request_refund", "greet"], DEFAULT_TEAM, id="no-team"),
        pytest.param(
            {},
            [{"request_refund": {"handover_team": 5}}],
            DEFAULT_TEAM,
            id="invalid-declaration-still-hands-over",
        ),
    ],
)
async def test_team(evidence: Dict[str, Any], intents: List[Any], team: str) -> None:
    slots = {**DECISION_SLOTS, "handover_evidence": evidence}
    domain = {**FRAGMENT, "intents": [*FRAGMENT["intents"], *intents]}
    dispatcher = CollectingDispatcher()
    await ActionHandover().run(dispatcher, tracker(CONVERSATION, slots), domain)
    payload = dispatcher.messages[0]["custom"][MESSAGE_KEY]["payload"]
    assert payload["trigger"]["team"] == team


@pytest.mark.parametrize(
    "earlier_handovers, attempt",
    [pytest.param(0, 1, id="first"), pytest.param(2, 3, id="third")],
)
def test_each_handover_has_its_own_attempt_number(
    earlier_handovers: int, attempt: int
) -> None:
    events = [ActionExecuted("action_handover").as_dict()] * earlier_handovers
    assert handover_attempt(events + CONVERSATION) == attempt


async def test_offer_asks_and_remembers() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionOfferHandover().run(dispatcher, tracker(CONVERSATION), DOMAIN)
    assert dispatcher.messages[0]["response"] == "utter_offer_handover"
    assert events == [SdkSlotSet("handover_offered", True)]


async def test_handback_names_the_agent_and_clears_the_handover() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionHandback().run(
        dispatcher,
        tracker(CONVERSATION, {"handover_active": True}, {"agent_name": "Maya"}),
        DOMAIN,
    )
    assert dispatcher.messages[0]["response"] == "utter_handback"
    assert dispatcher.messages[0]["agent_name"] == "Maya"
    assert SdkSlotSet("handover_active", False) in events
    assert SdkSlotSet("handover_reason", None) in events


async def test_handback_after_an_expired_ticket_greets_nobody_back() -> None:
    """The channel told the customer already that nobody could pick up."""
    dispatcher = CollectingDispatcher()
    events = await ActionHandback().run(
        dispatcher,
        tracker(CONVERSATION, {"handover_active": True}, {"outcome": "expired"}),
        DOMAIN,
    )
    assert dispatcher.messages == []
    assert SdkSlotSet("handover_active", False) in events


@pytest.mark.parametrize(
    "slots, kind",
    [
        pytest.param({}, "asks", id="nothing-given-asks"),
        pytest.param(
            {"callback_time": "tomorrow 9am", "callback_contact": "+44 20 7946 0000"},
            "schedules",
            id="time-and-contact",
        ),
    ],
)
async def test_callback(slots: Dict[str, Any], kind: str) -> None:
    dispatcher = CollectingDispatcher()
    await ActionScheduleCallback().run(dispatcher, tracker(CONVERSATION, slots), DOMAIN)
    [message] = dispatcher.messages
    if kind == "asks":
        assert message["response"] == "utter_ask_callback_details"
    else:
        body = message["custom"][MESSAGE_KEY]
        assert body["type"] == MESSAGE_CALLBACK
        assert body["when"] == "tomorrow 9am"
        assert "{when}" in body["responses"]["utter_callback_scheduled"]["text"]


def test_the_action_server_loads_the_payloads_models_at_start_up() -> None:
    """The first customer handed over must not wait for spaCy and the signal
    models (seconds on a busy machine; the waiting-room e2e test saw 19 s):
    creating the action, as rasa_sdk does when the server starts, loads them.
    A fresh interpreter, since this test run has long imported spaCy."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "import rasa_handover.actions as actions\n"
        "before = 'spacy' in sys.modules\n"
        "actions.ActionHandover()\n"
        "print(before, 'spacy' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert result.stdout.split()[-2:] == ["False", "True"], result.stdout


# --- The CSAT question after the handback (csat.py). -------------------------------


async def test_handback_asks_the_csat_question_the_domain_words() -> None:
    dispatcher = CollectingDispatcher()
    await ActionHandback().run(
        dispatcher,
        tracker(CONVERSATION, {"handover_active": True}, {"agent_name": "Maya"}),
        DOMAIN,
    )
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_handback",
        "utter_handover_csat",
    ]
    # The buttons send the score as an entity: 1-5, and a way to skip.
    [question] = DOMAIN["responses"]["utter_handover_csat"]
    payloads = [b["payload"] for b in question["buttons"]]
    assert payloads[:5] == [
        f'/handover_csat{{{{"handover_csat_score": "{n}"}}}}' for n in range(1, 6)
    ]
    assert payloads[5] == "/handover_csat"


async def test_a_domain_without_the_question_asks_nothing() -> None:
    responses = {
        k: v for k, v in DOMAIN["responses"].items() if k != "utter_handover_csat"
    }
    dispatcher = CollectingDispatcher()
    await ActionHandback().run(
        dispatcher,
        tracker(CONVERSATION, {"handover_active": True}, {"agent_name": "Maya"}),
        {**DOMAIN, "responses": responses},
    )
    assert [m["response"] for m in dispatcher.messages] == ["utter_handback"]


def rating(entities: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [*CONVERSATION, user("/handover_csat", "handover_csat", entities)]


@pytest.mark.parametrize(
    "entities, stored, answer",
    [
        pytest.param(
            [{"entity": "handover_csat_score", "value": "4"}],
            4,
            "utter_handover_csat_thanks",
            id="four",
        ),
        pytest.param([], None, "utter_handover_csat_skipped", id="skip"),
        pytest.param(
            [{"entity": "handover_csat_score", "value": "9"}],
            None,
            "utter_handover_csat_skipped",
            id="off-the-scale",
        ),
    ],
)
async def test_the_answer_goes_to_the_channel_and_is_thanked(
    entities: List[Dict[str, Any]], stored: Optional[int], answer: str
) -> None:
    dispatcher = CollectingDispatcher()

    events = await ActionHandoverCsat().run(
        dispatcher, tracker(rating(entities)), DOMAIN
    )

    custom = [m["custom"][MESSAGE_KEY] for m in dispatcher.messages if m["custom"]]
    expected = (
        [{"type": MESSAGE_CSAT, "conversation_id": "dana-1", "score": stored}]
        if stored
        else []
    )
    assert custom == expected
    assert dispatcher.messages[-1]["response"] == answer
    assert events == []
