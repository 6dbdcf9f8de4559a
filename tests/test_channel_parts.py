"""The channel's pure parts: acknowledgement wording, outbox, mailbox, templates."""

import asyncio
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

from rasa_handover.channels import customer_messages
from rasa_handover.channels.mailbox import Mailbox
from rasa_handover.channels.outbox import (
    BACKOFF_MAX_SECONDS,
    KIND_HANDOVER,
    KIND_RELAY,
    Outbox,
    backoff_seconds,
)
from rasa_handover.inbox.contract import DEFAULT_TEAM
from rasa_handover.responses import fill, pick_templates, pick_variation

TEMPLATES: Dict[str, Dict[str, Any]] = {
    "utter_handover_connecting": {"text": "Connecting you with {agent_name} ({team})."},
    "utter_handover_queued": {"text": "Passed to our {team} team."},
    "utter_handover_wait": {
        "text": "You're number {queue_position}; wait {wait_text}."
    },
    "utter_handover_alternatives": {"text": "Callback or message?"},
    "utter_handover_alternatives_callback": {"text": "Callback?"},
    "utter_handover_alternatives_message": {"text": "Message?"},
    "utter_handover_outside_hours": {"text": "We're closed."},
    "utter_handover_nobody_online": {"text": "Nobody is online."},
    "utter_handover_failed": {"text": "Sorry, email {support_email}."},
}
EXTRA = {"support_email": "help@example.com"}


def texts(messages: List[Dict[str, Any]]) -> List[str]:
    return [m["text"] for m in messages]


@pytest.mark.parametrize(
    "ticket, expected",
    [
        pytest.param(
            {"agent_name": "Maya", "team": "billing", "estimated_wait_seconds": 0},
            ["Connecting you with Maya (billing)."],
            id="agent-free-now",
        ),
        pytest.param(
            {
                "agent_name": "Maya",
                "team": "billing",
                "queue_position": 2,
                "estimated_wait_seconds": 90,
                "wait_text": "about 2 minutes",
            },
            [
                "Connecting you with Maya (billing).",
                "You're number 2; wait about 2 minutes.",
            ],
            id="agent-with-short-wait",
        ),
        pytest.param(
            {
                "team": "technical",
                "queue_position": 5,
                "estimated_wait_seconds": 600,
                "wait_text": "about 10 minutes",
                "no_agent_reason": "all_busy",
                "alternatives": ["callback", "email"],
            },
            [
                "Passed to our technical team.",
                "You're number 5; wait about 10 minutes.",
                "Callback or message?",
            ],
            id="queued-long-wait-offers-alternatives",
        ),
        pytest.param(
            {"team": "billing", "no_agent_reason": "outside_hours"},
            ["We're closed."],
            id="outside-hours-nothing-configured-nothing-offered",
        ),
        pytest.param(
            {
                "team": "billing",
                "no_agent_reason": "outside_hours",
                "alternatives": ["callback", "email"],
            },
            ["We're closed.", "Callback or message?"],
            id="outside-hours-offers-both",
        ),
        pytest.param(
            {
                "team": "billing",
                "no_agent_reason": "nobody_online",
                "alternatives": ["callback"],
            },
            ["Nobody is online.", "Callback?"],
            id="nobody-online-callback-only",
        ),
        pytest.param(
            {
                "team": "billing",
                "no_agent_reason": "nobody_online",
                "alternatives": ["email"],
            },
            ["Nobody is online.", "Message?"],
            id="nobody-online-email-only",
        ),
        pytest.param(
            {"team": "billing", "no_agent_reason": "nobody_online", "alternatives": []},
            ["Nobody is online."],
            id="nobody-online-nothing-configured-nothing-offered",
        ),
    ],
)
def test_acknowledgement_sets_honest_expectations(
    ticket: Dict[str, Any], expected: List[str]
) -> None:
    assert (
        texts(customer_messages.acknowledgement(ticket, TEMPLATES, EXTRA)) == expected
    )


def test_missing_templates_are_skipped_not_invented() -> None:
    only_connecting = {
        "utter_handover_connecting": TEMPLATES["utter_handover_connecting"]
    }
    ticket = {
        "agent_name": "Maya",
        "estimated_wait_seconds": 600,
        "wait_text": "10 min",
    }
    messages = customer_messages.acknowledgement(ticket, only_connecting, EXTRA)
    # No team in the answer: the inbox's default team, never "None".
    assert texts(messages) == [f"Connecting you with Maya ({DEFAULT_TEAM})."]


@pytest.mark.parametrize(
    "offered, expected",
    [
        pytest.param([], ["Sorry, email help@example.com."], id="nothing-configured"),
        pytest.param(
            ["callback"],
            ["Sorry, email help@example.com.", "Callback?"],
            id="callbacks-configured",
        ),
    ],
)
def test_failed_message_offers_what_the_inbox_offers(
    offered: List[str], expected: List[str]
) -> None:
    assert texts(customer_messages.failed(TEMPLATES, EXTRA, offered)) == expected


SHIPPED = yaml.safe_load(
    (Path(customer_messages.__file__).parents[1] / "domain.yml").read_text()
)["responses"]
NOBODY_ONLINE = {"team": "billing", "no_agent_reason": "nobody_online"}


@pytest.mark.parametrize(
    "said",
    [
        pytest.param(
            lambda t: customer_messages.failed(t, EXTRA, []), id="delivery-failed"
        ),
        pytest.param(
            lambda t: customer_messages.expired(t, EXTRA, []), id="nobody-picked-up"
        ),
        pytest.param(
            lambda t: customer_messages.acknowledgement(
                {**NOBODY_ONLINE, "alternatives": []}, t, EXTRA
            ),
            id="nobody-online",
        ),
    ],
)
def test_the_shipped_sentences_offer_no_callback_when_none_is_configured(
    said: Any,
) -> None:
    """With the domain fragment's own wording: nothing promises a callback."""
    templates = pick_templates(SHIPPED, SHIPPED, {})
    messages = said(templates)
    assert messages, "the customer must hear something"
    for message in messages:
        assert "call" not in message["text"].lower(), message
        assert "buttons" not in message, message


@pytest.mark.parametrize(
    "template, values, expected",
    [
        pytest.param("Hi {name}!", {"name": "Dana"}, "Hi Dana!", id="filled"),
        pytest.param("Hi {name}!", {}, "Hi {name}!", id="missing-stays-visible"),
        pytest.param("Hi {name}!", {"name": None}, "Hi !", id="none-is-empty"),
        pytest.param("Broken {", {"x": 1}, "Broken {", id="malformed-kept"),
    ],
)
def test_fill(template: str, values: Dict[str, Any], expected: str) -> None:
    assert fill(template, values) == expected


def test_pick_variation_prefers_matching_conditions_and_channel() -> None:
    variations = [
        {"text": "Hello"},
        {
            "text": "Hallo",
            "condition": [{"type": "slot", "name": "language", "value": "de"}],
        },
        {"text": "Hello, Slack", "channel": "slack"},
    ]
    assert pick_variation(variations, {"language": "de"}, "handover")["text"] == "Hallo"
    assert pick_variation(variations, {"language": "en"}, "handover")["text"] == "Hello"
    assert pick_variation(variations[2:], {}, "handover") is None
    picked = pick_templates(
        {"utter_x": variations}, ["utter_x", "utter_y"], {}, "slack"
    )
    assert picked == {"utter_x": {"text": "Hello"}}


# --- Outbox ----------------------------------------------------------------------


def test_outbox_survives_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "outbox.db")
    outbox = Outbox(path)
    item_id = outbox.add(
        KIND_HANDOVER, "c1", {"attempt": 1, "payload": {"a": 1}}, now=0
    )
    outbox.close()
    reopened = Outbox(path)
    due = reopened.due(now=1)
    assert [(i.id, i.kind, i.body["payload"]) for i in due] == [
        (item_id, KIND_HANDOVER, {"a": 1})
    ]


def test_outbox_backs_off_and_keeps_order_per_conversation(tmp_path: Path) -> None:
    outbox = Outbox(str(tmp_path / "o.db"))
    first = outbox.add(KIND_HANDOVER, "c1", {"attempt": 1}, now=0)
    outbox.add(KIND_RELAY, "c1", {"text": "hello?"}, now=0)
    outbox.add(KIND_RELAY, "c2", {"text": "other"}, now=0)
    assert outbox.failed(first, "connection refused", now=10) == 1
    # c1's handover is backing off, so its relay must wait behind it; c2 goes.
    assert [i.conversation_id for i in outbox.due(now=10.5)] == ["c2"]
    assert [i.kind for i in outbox.due(now=11)][:2] == [KIND_HANDOVER, KIND_RELAY]
    outbox.delivered(first, now=11)
    assert outbox.has_pending("c1")
    assert outbox.pending_count() == 2


@pytest.mark.parametrize(
    "attempts, seconds",
    [
        pytest.param(0, 0.0, id="first-try-now"),
        pytest.param(1, 1.0, id="then-1s"),
        pytest.param(3, 4.0, id="doubling"),
        pytest.param(30, BACKOFF_MAX_SECONDS, id="capped"),
    ],
)
def test_backoff(attempts: int, seconds: float) -> None:
    assert backoff_seconds(attempts) == seconds


# --- Mailbox ---------------------------------------------------------------------


async def test_mailbox_long_poll_wakes_on_new_message() -> None:
    mailbox = Mailbox()
    waiter = asyncio.ensure_future(mailbox.wait("c1", after=0, timeout=5))
    await asyncio.sleep(0.01)
    mailbox.put("c1", {"text": "Hi, I'm Maya"})
    messages = await asyncio.wait_for(waiter, 1)
    assert [(m["id"], m["text"]) for m in messages] == [(1, "Hi, I'm Maya")]
    assert mailbox.since("c1", after=1) == []
    assert await mailbox.wait("c2", after=0, timeout=0.01) == []
