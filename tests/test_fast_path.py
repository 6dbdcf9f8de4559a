"""The fast path's rule agrees with HandoverPolicy (channels/fast_path.py).

The fast path records `action_listen` without running the policies when the
conversation `waits_silently` and the message `stays_silent`. That is only
right if the policy itself predicts `action_listen` then, at confidence 1.0 and
above every other policy: checked here for every intent of the example bot's
domain, confident and unsure. The real processes are in
tests/e2e/test_relay_fast_path.py.
"""

import time
from pathlib import Path
from typing import List

import pytest
from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    ConversationPaused,
    Event,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_handover import HandoverPolicy
from rasa_handover.channels.fast_path import stays_silent, waits_silently
from rasa_handover.constants import (
    ACTION_HANDOVER,
    ACTION_LISTEN,
    FORM_CALLBACK,
    SLOT_HANDOVER_ACTIVE,
    WAITING_CONTROL_INTENTS,
)

EXAMPLE_DOMAIN = Path(__file__).resolve().parents[1] / "example_bot" / "domain"
DOMAIN = Domain.load(str(EXAMPLE_DOMAIN))


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> HandoverPolicy:
    trained = HandoverPolicy.create(
        HandoverPolicy.get_default_config(),
        LocalModelStorage(tmp_path_factory.mktemp("policy")),
        Resource("handover"),
        ExecutionContext(GraphSchema({}), "test"),
    )
    trained.train([], DOMAIN)
    return trained


def handed_over(*later: Event) -> List[Event]:
    """A conversation a human owns, the bot listening, then `later`."""
    return [
        ActionExecuted(ACTION_LISTEN),
        UserUttered("I want a human", {"name": "human_handoff", "confidence": 0.99}),
        ActionExecuted(ACTION_HANDOVER),
        SlotSet(SLOT_HANDOVER_ACTIVE, True),
        ActionExecuted(ACTION_LISTEN),
        *later,
    ]


def tracker(events: List[Event]) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("c1", events, DOMAIN.slots)


def message(intent: str, confidence: float) -> UserUttered:
    parse = {
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": intent, "confidence": confidence}],
        "entities": [],
    }
    return UserUttered("some words", parse["intent"], [], parse)


@pytest.mark.parametrize(
    "confidence",
    [pytest.param(0.99, id="confident"), pytest.param(0.3, id="unsure")],
)
def test_every_message_the_fast_path_takes_is_one_the_policy_ignores(
    policy: HandoverPolicy, confidence: float
) -> None:
    before = tracker(handed_over())
    assert waits_silently(before, DOMAIN)
    taken = 0
    for intent in [*DOMAIN.intents, "nlu_fallback"]:
        parsed = message(intent, confidence)
        if not stays_silent(parsed.parse_data):
            assert intent in WAITING_CONTROL_INTENTS
            continue
        taken += 1
        prediction = policy.predict_action_probabilities(
            tracker(handed_over(parsed)), DOMAIN
        )
        assert _listens_above_all(prediction), intent
    assert taken >= len(DOMAIN.intents) - len(WAITING_CONTROL_INTENTS)


def _listens_above_all(prediction: PolicyPrediction) -> bool:
    """`action_listen` at 1.0, marked to outrank every user-based prediction."""
    best = DOMAIN.action_names_or_texts[prediction.max_confidence_index]
    return (
        best == ACTION_LISTEN
        and prediction.max_confidence == 1.0
        and prediction.is_no_user_prediction
        and not prediction.events
    )


@pytest.mark.parametrize(
    "later",
    [
        pytest.param([ActiveLoop(FORM_CALLBACK)], id="a form runs"),
        pytest.param([ActionExecuted("utter_greet")], id="the bot is not listening"),
        pytest.param([ConversationPaused()], id="paused"),
        pytest.param([SlotSet(SLOT_HANDOVER_ACTIVE, False)], id="handed back"),
    ],
)
def test_a_conversation_in_any_other_state_takes_rasas_whole_way(
    later: List[Event],
) -> None:
    assert not waits_silently(tracker(handed_over(*later)), DOMAIN)


def test_an_expired_session_takes_rasas_whole_way() -> None:
    old = message("affirm", 0.99)
    old.timestamp = time.time() - 3600 * 24 * 30
    events = handed_over(old, ActionExecuted(ACTION_LISTEN))
    assert waits_silently(tracker(handed_over()), DOMAIN)
    assert not waits_silently(tracker(events), DOMAIN)


@pytest.mark.parametrize("intent", WAITING_CONTROL_INTENTS)
def test_the_control_intents_take_rasas_whole_way(intent: str) -> None:
    assert not stays_silent(message(intent, 0.99).parse_data)
