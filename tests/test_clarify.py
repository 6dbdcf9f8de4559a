"""low_confidence asks once before a person: content-free turns, the clarify step.

Pure trigger tests over hand-built views; `tests/test_example_bot.py` and the
example bot's test stories run the same paths through a real model.
"""

from typing import Any, Dict

import pytest

from rasa_handover.constants import (
    ACTION_CLARIFY,
    ACTION_HANDOVER,
    CLARIFY_STAGE_ASK,
    CLARIFY_STAGE_SOMETHING_ELSE,
    CLARIFY_STAGE_STILL_UNCLEAR,
    INTENT_SOMETHING_ELSE,
    REASON_LOW_CONFIDENCE,
)
from rasa_handover.responses import clarify_message
from rasa_handover.triggers import check_low_confidence, evaluate
from tests.builders import configured, settings, turn, view

UNSURE = [("ask_invoice", 0.31), ("ask_plans", 0.29), ("greet", 0.1)]
TITLES: Dict[str, Dict[str, Any]] = {
    "ask_invoice": {"handover_display_name": "Get an invoice"},
    "ask_plans": {"handover_display_name": "See the plans"},
    "ask_medical_advice": {"regulated": True},
}


def unclear(text: str = "blorp the invoice thing", **kwargs: Any):
    return turn(text, "ask_invoice", 0.31, UNSURE, **kwargs)


def test_first_unclear_turn_asks_with_the_likely_intents_as_choices() -> None:
    decision = check_low_confidence(view(unclear()), *configured(TITLES))
    assert decision is not None
    assert decision.action == ACTION_CLARIFY
    assert decision.reason == REASON_LOW_CONFIDENCE
    assert decision.evidence["stage"] == CLARIFY_STAGE_ASK
    assert decision.evidence["choices"] == [
        {"intent": "ask_invoice", "title": "Get an invoice"},
        {"intent": "ask_plans", "title": "See the plans"},
    ]


def test_intents_without_a_display_name_are_not_offered() -> None:
    decision = check_low_confidence(view(unclear()), *configured())
    assert decision is not None and decision.action == ACTION_CLARIFY
    assert decision.evidence["choices"] == []


def test_unclear_again_after_the_question_hands_over_with_both_turns() -> None:
    conversation = view(
        unclear("blorp the invoice thing"),
        unclear("the wibble is still wobbling", previous_action=ACTION_CLARIFY),
    )
    decision = check_low_confidence(conversation, *configured(TITLES))
    assert decision is not None
    assert decision.action == ACTION_HANDOVER
    assert decision.turn == 2
    assert decision.evidence["stage"] == CLARIFY_STAGE_STILL_UNCLEAR
    assert decision.evidence["text"] == "the wibble is still wobbling"
    clarified = decision.evidence["clarified"]
    assert clarified["turn"] == 1
    assert clarified["text"] == "blorp the invoice thing"
    assert clarified["confidence"] == 0.31


def test_something_else_hands_over() -> None:
    conversation = view(
        unclear(),
        turn(
            "/handover_something_else",
            INTENT_SOMETHING_ELSE,
            1.0,
            previous_action=ACTION_CLARIFY,
        ),
    )
    decision = check_low_confidence(conversation, *configured(TITLES))
    assert decision is not None and decision.action == ACTION_HANDOVER
    assert decision.evidence["stage"] == CLARIFY_STAGE_SOMETHING_ELSE
    assert decision.evidence["clarified"]["turn"] == 1


def test_a_clear_answer_to_the_question_lets_the_bot_go_on() -> None:
    conversation = view(
        unclear(),
        turn("/ask_invoice", "ask_invoice", 1.0, previous_action=ACTION_CLARIFY),
    )
    assert check_low_confidence(conversation, *configured(TITLES)) is None


def test_a_later_unclear_turn_asks_again() -> None:
    """Only the turn right after the question hands over; later ones ask anew."""
    conversation = view(
        unclear(),
        turn("/ask_invoice", "ask_invoice", 1.0, previous_action=ACTION_CLARIFY),
        unclear("and the blorp for the other one", previous_action="utter_ask_invoice"),
    )
    decision = check_low_confidence(conversation, *configured(TITLES))
    assert decision is not None and decision.action == ACTION_CLARIFY


def test_high_value_accounts_are_handed_over_at_once() -> None:
    decision = evaluate(
        view(unclear(), slots={"account_tier": "enterprise"}), *configured(TITLES)
    )
    assert decision is not None
    assert decision.action == ACTION_HANDOVER
    assert decision.evidence["high_value"] is True
    assert "stage" not in decision.evidence


def test_an_unsure_regulated_intent_is_asked_about_not_handed_over() -> None:
    """NLU is not sure the topic is regulated: "is it safe with my heart
    thing" and "sounds good, not bad for the price" both read as medical."""
    medical = turn(
        "sounds good, not bad at all for the price", "ask_medical_advice", 0.33,
        [("ask_medical_advice", 0.33), ("ask_plans", 0.2)],
    )  # fmt: skip
    properties = {**TITLES, "ask_medical_advice": {
        "regulated": True, "handover_display_name": "A health question"}}  # fmt: skip
    decision = evaluate(view(medical), *configured(properties))
    assert decision is not None
    assert decision.reason == REASON_LOW_CONFIDENCE
    assert decision.action == ACTION_CLARIFY
    assert decision.evidence["choices"][0] == {
        "intent": "ask_medical_advice",
        "title": "A health question",
    }


def test_clarify_can_be_switched_off() -> None:
    rules = configured(TITLES, clarify_before_handover=False)
    decision = check_low_confidence(view(unclear()), *rules)
    assert decision is not None and decision.action == ACTION_HANDOVER


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("great", id="great"),
        pytest.param("👍", id="thumbs-up"),
        pytest.param("thanks so much, have a lovely day", id="thanks-goodbye"),
        pytest.param("ok", id="ok"),
        pytest.param("hello there", id="hello"),
    ],
)
def test_content_free_turns_never_escalate_on_confidence(text: str) -> None:
    unsure = turn(text, "greet", 0.2, [("greet", 0.2), ("thankyou", 0.19)])
    assert check_low_confidence(view(unsure), settings()) is None
    assert evaluate(view(unsure), settings()) is None


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("help", id="help"),
        pytest.param("refund?", id="refund"),
        pytest.param("thanks, but where is my order?", id="thanks-but-question"),
    ],
)
def test_short_real_requests_are_still_unclear(text: str) -> None:
    unsure = turn(text, "greet", 0.2, [("greet", 0.2), ("thankyou", 0.19)])
    decision = check_low_confidence(view(unsure), settings())
    assert decision is not None and decision.action == ACTION_CLARIFY


def test_the_clarification_message_puts_the_guesses_before_something_else() -> None:
    responses = {
        "utter_handover_clarify": [
            {
                "text": "Did you mean one of these?",
                "buttons": [
                    {"title": "Something else", "payload": "/handover_something_else"}
                ],
            }
        ]
    }
    evidence = {
        "choices": [
            {"intent": "ask_invoice", "title": "Get an invoice"},
            {"intent": "ask_plans", "title": "See the plans"},
            {"intent": "greet", "title": "Say hello"},
        ]
    }
    message = clarify_message(responses, {}, evidence)
    assert message["text"] == "Did you mean one of these?"
    assert [b["payload"] for b in message["buttons"]] == [
        "/ask_invoice",
        "/ask_plans",
        "/handover_something_else",
    ]


def test_the_clarification_message_without_guesses_or_response() -> None:
    message = clarify_message({}, {}, None)
    assert message == {"text": "Sorry, I'm not sure I understood."}


@pytest.mark.parametrize(
    "intent",
    [
        pytest.param("ask_medical_advice", id="regulated-intent"),
        pytest.param("human_handoff", id="explicit-request-intent"),
    ],
)
def test_a_content_free_turn_raises_no_topic_and_asks_for_nobody(intent: str) -> None:
    """Seen on the example bot: "thanks so much, that's really helpful. have a
    lovely evening" read as ask_medical_advice at 0.86, "that's super helpful"
    as human_handoff."""
    thanks = turn("thanks so much, that's really helpful", intent, 0.86)
    assert evaluate(view(thanks), *configured(TITLES)) is None
    # The same intents on a real message still hand over.
    real = turn("can I take this with my heart medication?", intent, 0.86)
    decision = evaluate(view(real), *configured(TITLES))
    assert decision is not None and decision.action == ACTION_HANDOVER


def test_a_display_name_that_is_not_text_fails_training_with_the_fix() -> None:
    from rasa_handover.validation import HandoverConfigError

    with pytest.raises(HandoverConfigError, match="Write the button title as text"):
        configured({"ask_invoice": {"handover_display_name": ["Invoice"]}})
