"""The bot's own forms: an answer to a slot question is not an unclear turn.

A form that asks for a name, a date or a yes/no gets answers NLU has no good
intent for ("Jon Smiht", "the 14th"); Rasa's `FallbackClassifier` leaves them
to the form's slot mappings, and so does `HandoverPolicy`. When the form cannot
use an answer it rejects it (`ActionExecutionRejected`), and Rasa asks the
policies again: then the turn is judged like any other.
"""

from pathlib import Path
from typing import List

import pytest
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActiveLoop,
    BotUttered,
    Event,
    SlotSet,
)

from rasa_handover import HandoverPolicy
from rasa_handover.constants import ACTION_CLARIFY, ACTION_HANDOVER
from rasa_handover.conversation import view_from_rasa_tracker
from tests.test_policy import DOMAIN, create, predicted, tracker, user

FORM = "refund_form"


@pytest.fixture
def policy(tmp_path: Path) -> HandoverPolicy:
    trained = create(tmp_path)
    trained.train([], DOMAIN)
    return trained


def form_asks(slot: str, question: str) -> List[Event]:
    """What Rasa logs when a running form asks for `slot`."""
    return [
        SlotSet("requested_slot", slot),
        ActionExecuted(FORM),
        BotUttered(question),
    ]


def in_form(*answers: List[Event]) -> List[Event]:
    events: List[Event] = [ActiveLoop(FORM)]
    slots = ["order_number", "reason", "refund_method"]
    for slot, answer in zip(slots, answers):
        events += form_asks(slot, f"What is your {slot}?") + answer
    return events


def test_an_unsure_answer_to_the_forms_question_goes_to_the_form(
    policy: HandoverPolicy,
) -> None:
    t = tracker(*in_form(user("it came brokn", "greet", 0.31)))

    assert view_from_rasa_tracker(t).latest_turn.answers_form_slot == "order_number"
    assert predicted(policy.predict_action_probabilities(t, DOMAIN)) is None


def test_an_answer_the_form_rejected_is_asked_about(policy: HandoverPolicy) -> None:
    t = tracker(
        *in_form(user("it came brokn", "greet", 0.31)),
        ActionExecutionRejected(FORM),
    )

    assert view_from_rasa_tracker(t).latest_turn.answers_form_slot is None
    assert predicted(policy.predict_action_probabilities(t, DOMAIN)) == ACTION_CLARIFY


def test_the_same_unsure_message_outside_a_form_is_asked_about(
    policy: HandoverPolicy,
) -> None:
    t = tracker(*user("it came brokn", "greet", 0.31))

    assert predicted(policy.predict_action_probabilities(t, DOMAIN)) == ACTION_CLARIFY


def test_an_explicit_request_in_the_form_still_hands_over(
    policy: HandoverPolicy,
) -> None:
    t = tracker(*in_form(user("agent please", "human_handoff")))

    assert predicted(policy.predict_action_probabilities(t, DOMAIN)) == ACTION_HANDOVER


def test_answers_labelled_alike_are_no_repeat_loop(policy: HandoverPolicy) -> None:
    """Two slots answered with words NLU reads as one intent fill two slots."""
    t = tracker(
        *in_form(
            user("the blue one", "ask_invoice"),
            user("the one from march", "ask_invoice"),
        )
    )

    assert predicted(policy.predict_action_probabilities(t, DOMAIN)) is None


def test_the_same_question_twice_outside_a_form_is_a_repeat_loop(
    policy: HandoverPolicy,
) -> None:
    t = tracker(
        *user("where is my invoice", "ask_invoice"),
        ActionExecuted("utter_invoice"),
        *user("where is my invoice??", "ask_invoice"),
    )

    assert predicted(policy.predict_action_probabilities(t, DOMAIN)) is not None


def test_a_finished_form_leaves_later_turns_alone(policy: HandoverPolicy) -> None:
    t = tracker(
        *in_form(user("1182", "ask_invoice", 0.9)),
        SlotSet("requested_slot", None),
        ActiveLoop(None),
        *user("it came brokn", "greet", 0.31),
    )

    assert view_from_rasa_tracker(t).latest_turn.answers_form_slot is None
    assert predicted(policy.predict_action_probabilities(t, DOMAIN)) == ACTION_CLARIFY
