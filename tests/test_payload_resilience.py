"""The payload is always sent: no message can stop a customer reaching a person.

Issue 11: one customer message (10 KB of digit groups, 1,200 card numbers) made
redaction take minutes or raise RecursionError, and `build_payload` raised with
it. Now redaction is linear, its input is capped, and whatever still fails is
left out and named in `dropped`.
"""

import time
from typing import Any, Dict, List

import pytest

from rasa_handover.limits import MAX_NAME_CHARS
from rasa_handover.payload import PayloadConfig, build_payload, validate_payload
from rasa_handover.redaction import DROPPED_TEXT, RedactionConfig, redact_payload
from tests.test_payload import NOW, Conversation


def conversation_with(*texts: str) -> Conversation:
    conversation = Conversation().session_start()
    for text in texts:
        conversation.user(text, "inform", 0.9)
        conversation.bot("utter_ok", "ok")
        conversation.listen()
    return conversation


def build(conversation: Conversation, slots: Dict[str, Any]) -> Dict[str, Any]:
    return build_payload(
        "c-1", conversation.events, slots, channel="handover", attempt=1, now=NOW
    )


def test_a_message_of_1200_cards_is_masked_not_fatal() -> None:
    cards = " ".join(["4242 4242 4242 4242"] * 1200)
    payload = build(conversation_with("hi", cards), {})
    texts = [item["text"] for item in payload["transcript"]]
    assert not any("4242 4242" in text for text in texts)
    assert payload["dropped"] == []
    validate_payload(payload)


def test_many_long_digit_messages_are_bounded_in_time() -> None:
    # 1 MB of "4 4 4 ...": redaction used to need hours for it.
    messages = ["4 " * 5000] * 100
    started = time.perf_counter()
    payload = build(conversation_with(*messages), {})
    assert time.perf_counter() - started < 10
    assert payload["transcript_truncated"] is True
    validate_payload(payload)


def nested(depth: int) -> List[Any]:
    value: List[Any] = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "depth",
    [
        pytest.param(100_000, id="too-deep-to-serialise"),
        pytest.param(300, id="too-deep-to-redact"),
    ],
)
def test_a_slot_that_cannot_be_sent_is_dropped_and_named(depth: int) -> None:
    slots = {"order_id": "1182", "document": nested(depth)}
    payload = build(conversation_with("card 4242 4242 4242 4242"), slots)
    assert payload["dropped"] == [
        {
            "field": "slots.document",
            "reason": "value left out (ValueError: nested deeper than 32 levels)",
        }
    ]
    assert payload["slots"] == {"order_id": "1182"}
    assert payload["transcript"][0]["text"] == "card **** **** **** 4242"
    validate_payload(payload)


def test_a_value_redaction_fails_on_is_dropped_never_sent() -> None:
    class Unreadable(int):  # a value whose redaction raises
        def __str__(self) -> str:
            raise RuntimeError("boom 4242 4242 4242 4242")

    dropped: List[Dict[str, str]] = []
    payload = {"slots": {"card": "4242 4242 4242 4242", "odd": Unreadable(7)}}
    result = redact_payload(payload, RedactionConfig(), dropped)
    assert result["slots"] == {"card": "**** **** **** 4242", "odd": DROPPED_TEXT}
    # The reason never quotes the text (the error's message might).
    assert dropped == [
        {"field": "slots.odd", "reason": "redaction failed (RuntimeError)"}
    ]


def test_a_long_string_cut_before_redaction_loses_no_partial_card() -> None:
    config = PayloadConfig()
    # The cut falls inside the card: its head must not survive unmasked.
    text = "x" * 9_970 + " 4242 4242 4242 4242 " + "y" * 100
    payload = build_payload(
        "c-1",
        conversation_with(text).events,
        {},
        channel="handover",
        attempt=1,
        now=NOW,
        config=config,
    )
    sent = payload["transcript"][0]["text"]
    assert "4242" not in sent
    assert payload["strings_truncated"] is True


def test_customer_fields_fit_the_inboxs_columns() -> None:
    payload = build(conversation_with("hi"), {"customer_name": "N" * 300})
    assert payload["customer"]["name"] == "N" * MAX_NAME_CHARS
