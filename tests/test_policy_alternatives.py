"""The policy lets a waiting customer book a callback or leave a message.

While a handover is active the bot stays silent, except for the alternatives'
intents (`handover_callback`, `handover_leave_message`) and the answers to their
forms, which the bot's rules run (a phone number is no unclear turn either).
"""

from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_handover import HandoverPolicy
from rasa_handover.constants import (
    ACTION_CLARIFY,
    ACTION_HANDOVER,
    ACTION_LISTEN,
    ACTION_SCHEDULE_CALLBACK,
    SLOT_HANDOVER_ACTIVE,
)
from tests.test_policy import DOMAIN, create, predicted, user

FRAGMENT = Path(__file__).parent.parent / "rasa_handover" / "domain.yml"
WITH_FORMS = DOMAIN.merge(Domain.from_path(FRAGMENT))


@pytest.fixture
def policy(tmp_path: Path) -> HandoverPolicy:
    trained = create(tmp_path)
    trained.train([], WITH_FORMS)
    return trained


def predict(policy: HandoverPolicy, *events: object) -> object:
    tracker = DialogueStateTracker.from_events("t", list(events), WITH_FORMS.slots)
    return predicted(
        policy.predict_action_probabilities(tracker, WITH_FORMS), WITH_FORMS
    )


@pytest.mark.parametrize(
    "intent",
    [
        pytest.param("handover_callback", id="call-me-back"),
        pytest.param("handover_leave_message", id="leave-a-message"),
    ],
)
def test_a_waiting_customer_may_start_an_alternative(
    policy: HandoverPolicy, intent: str
) -> None:
    assert (
        predict(policy, SlotSet(SLOT_HANDOVER_ACTIVE, True), *user("call me", intent))
        is None  # abstains: the bot's rule starts the form
    )


def test_can_someone_call_me_back_is_no_request_for_a_person_now(
    policy: HandoverPolicy,
) -> None:
    assert (
        predict(policy, *user("can someone call me back", "handover_callback")) is None
    )


def test_the_answers_to_the_form_are_the_forms_not_unclear_turns(
    policy: HandoverPolicy,
) -> None:
    events = [
        SlotSet(SLOT_HANDOVER_ACTIVE, True),
        ActiveLoop("handover_callback_form"),
        *user("+1 555 0100", "out_of_scope", confidence=0.2),
    ]
    assert predict(policy, *events) is None


def test_an_unclear_guess_at_an_alternative_is_no_request_for_it(
    policy: HandoverPolicy,
) -> None:
    """ "<img src=x onerror=alert(1)>" read as handover_callback at 0.3: no form."""
    waiting = [SlotSet(SLOT_HANDOVER_ACTIVE, True)]
    guess = user("<img src=x onerror=alert(1)>", "handover_callback", confidence=0.3)
    assert predict(policy, *waiting, *guess) == ACTION_LISTEN
    assert predict(policy, *guess) == ACTION_CLARIFY


@pytest.mark.parametrize(
    "waiting, expected",
    [
        pytest.param(False, ACTION_HANDOVER, id="hands-over"),
        pytest.param(True, ACTION_LISTEN, id="already-waiting-keeps-waiting"),
    ],
)
def test_asking_for_a_person_in_the_form_ends_it(
    policy: HandoverPolicy, waiting: bool, expected: str
) -> None:
    events = [
        SlotSet(SLOT_HANDOVER_ACTIVE, waiting),
        ActiveLoop("handover_callback_form"),
        *user("I want to talk to a human", "human_handoff"),
    ]
    tracker = DialogueStateTracker.from_events("t", events, WITH_FORMS.slots)
    prediction = policy.predict_action_probabilities(tracker, WITH_FORMS)
    assert predicted(prediction, WITH_FORMS) == expected
    assert ActiveLoop(None) in prediction.optional_events


def test_other_messages_of_a_waiting_customer_keep_the_bot_silent(
    policy: HandoverPolicy,
) -> None:
    events = [SlotSet(SLOT_HANDOVER_ACTIVE, True), *user("hello??", "greet")]
    assert predict(policy, *events) == ACTION_LISTEN


def test_the_bot_listens_after_booking(policy: HandoverPolicy) -> None:
    events = [
        *user("call me back", "handover_callback"),
        ActionExecuted(ACTION_SCHEDULE_CALLBACK),
    ]
    assert predict(policy, *events) == ACTION_LISTEN
