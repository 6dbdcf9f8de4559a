"""The alternatives' forms: reading contact and time, asking again, booking.

The validation actions run with rasa_sdk's own Tracker and dispatcher, the way
the action server runs them (the whole form in a real Rasa server: tests/e2e).
"""

import time
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterator, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from rasa_handover.actions import (
    ActionHandoverLeaveMessage,
    ActionScheduleCallback,
    ValidateHandoverCallbackForm,
    ValidateHandoverMessageForm,
)
from rasa_handover.callback_details import find_contact, parse_callback_time
from rasa_handover.constants import MESSAGE_ASYNC, MESSAGE_CALLBACK, MESSAGE_KEY
from rasa_handover.validation import HandoverConfigError
from tests.test_actions import CONVERSATION, DOMAIN, user

# A Monday afternoon.
NOW = datetime(2026, 11, 30, 16, 20, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "said, expected",
    [
        pytest.param("tomorrow at 10am", "2026-12-01T10:00", id="tomorrow-10am"),
        pytest.param("in 2 hours", "2026-11-30T18:20", id="in-2-hours"),
        pytest.param("monday 3pm", "2026-12-07T15:00", id="monday-3pm-next-week"),
        pytest.param("friday at 9:30", "2026-12-04T09:30", id="friday-9-30"),
        pytest.param("at 5pm", "2026-11-30T17:00", id="later-today"),
        pytest.param("10am", "2026-12-01T10:00", id="past-today-means-tomorrow"),
        pytest.param("tomorrow morning", "2026-12-01T09:00", id="part-of-day"),
        pytest.param("in half an hour", "2026-11-30T16:50", id="half-an-hour"),
        pytest.param("asap", "2026-11-30T16:20", id="asap"),
        pytest.param(
            "yes please call me back tomorrow at 10am on +1 555 0100",
            "2026-12-01T10:00",
            id="the-issue-sentence-ignores-the-number",
        ),
        pytest.param("tomorrow", None, id="a-day-without-a-time-asks-again"),
        pytest.param("today at 9am", None, id="already-past"),
        pytest.param("I have 2 cats", None, id="a-bare-number-is-no-time"),
        pytest.param("whenever", None, id="not-understood"),
    ],
)
def test_callback_times_it_understands_and_those_it_asks_again(
    said: str, expected: Optional[str]
) -> None:
    parsed = parse_callback_time(said, NOW)
    due = parsed.due.isoformat(timespec="minutes")[:16] if parsed else None
    assert due == expected


@pytest.mark.parametrize(
    "said, expected",
    [
        pytest.param("+1 555 0100", ("phone", "+1 555 0100"), id="international"),
        pytest.param("(030) 1234-567", ("phone", "(030) 1234-567"), id="local"),
        pytest.param("Dana@Example.com", ("email", "dana@example.com"), id="email"),
        pytest.param("my number is 12", None, id="too-short"),
        pytest.param("1234567890123456789", None, id="too-long"),
        pytest.param("dana@example", None, id="no-domain"),
    ],
)
def test_contacts_it_accepts(said: str, expected: Optional[tuple]) -> None:
    contact = find_contact(said)
    assert ((contact.kind, contact.value) if contact else None) == expected


def form_tracker(
    text: str,
    slots: Dict[str, Any],
    form: str = "handover_callback_form",
) -> Tracker:
    events = [*CONVERSATION, user(text, "out_of_scope")]
    return Tracker(
        "dana-1",
        {"handover_active": True, **slots},
        {"text": text, "intent": {"name": "out_of_scope"}, "entities": []},
        events,
        False,
        None,
        {"name": form, "validate": True},
        "action_listen",
    )


async def run_form(action: Any, tracker: Tracker) -> tuple:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, DOMAIN)
    slots = {
        event["name"]: event["value"] for event in events if event["event"] == "slot"
    }
    return slots, [m.get("response") for m in dispatcher.messages]


class FixedClock(ValidateHandoverCallbackForm):
    clock = staticmethod(lambda: NOW)


async def test_the_issue_sentence_fills_the_whole_callback_form_at_once() -> None:
    slots, said = await run_form(
        FixedClock(),
        form_tracker("yes please call me back tomorrow at 10am on +1 555 0100", {}),
    )
    assert slots == {
        "callback_contact": "+1 555 0100",
        "callback_time": "tomorrow at 10:00",
        "callback_due": "2026-12-01T10:00+00:00",
    }
    assert said == []


@pytest.mark.parametrize(
    "requested, text, response",
    [
        pytest.param(
            "callback_contact",
            "my number is 12",
            "utter_handover_invalid_contact",
            id="bad-phone",
        ),
        pytest.param(
            "callback_time", "whenever", "utter_handover_invalid_time", id="bad-time"
        ),
    ],
)
async def test_what_it_cannot_read_is_asked_again_saying_why(
    requested: str, text: str, response: str
) -> None:
    filled = {"callback_contact": "+1 555 0100"} if requested == "callback_time" else {}
    slots, said = await run_form(
        FixedClock(), form_tracker(text, {**filled, "requested_slot": requested})
    )
    assert slots[requested] is None  # the form asks for it again
    assert said == [response]


@pytest.mark.parametrize(
    "known, text, expected, asked",
    [
        pytest.param(
            {"customer_email": "alex@example.com"},
            "leave a message",
            "alex@example.com",
            [],
            id="the-bot-knows-it",
        ),
        pytest.param(
            {"requested_slot": "handover_email"},
            "it's dana@example.com",
            "dana@example.com",
            [],
            id="asked-and-given",
        ),
        pytest.param(
            {"requested_slot": "handover_email"},
            "dana at example",
            None,
            ["utter_handover_invalid_email"],
            id="asked-again",
        ),
    ],
)
async def test_the_reply_address_is_asked_only_when_the_bot_lacks_it(
    known: Dict[str, Any], text: str, expected: Optional[str], asked: List[str]
) -> None:
    slots, said = await run_form(
        ValidateHandoverMessageForm(),
        form_tracker(text, known, form="handover_message_form"),
    )
    assert slots.get("handover_email") == expected
    assert said == asked


async def test_the_callback_is_booked_with_its_due_time_and_the_bot_talks_again() -> (
    None
):
    dispatcher = CollectingDispatcher()
    events = await ActionScheduleCallback().run(
        dispatcher,
        form_tracker(
            "tomorrow at 10am",
            {
                "callback_contact": "+1 555 0100",
                "callback_time": "tomorrow at 10:00",
                "callback_due": "2026-12-01T10:00+00:00",
            },
        ),
        DOMAIN,
    )
    body = dispatcher.messages[0]["custom"][MESSAGE_KEY]
    assert body["type"] == MESSAGE_CALLBACK
    assert (body["when"], body["due_at"], body["contact"]) == (
        "tomorrow at 10:00",
        "2026-12-01T10:00+00:00",
        "+1 555 0100",
    )
    assert {"event": "slot", "name": "handover_active", "value": False} in [
        {k: e[k] for k in ("event", "name", "value")} for e in events
    ]


async def test_leaving_a_message_hands_it_to_the_channel() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionHandoverLeaveMessage().run(
        dispatcher,
        form_tracker(
            "please check my invoice",
            {"handover_email": "dana@example.com", "handover_message": "check it"},
            form="handover_message_form",
        ),
        DOMAIN,
    )
    body = dispatcher.messages[0]["custom"][MESSAGE_KEY]
    assert body["type"] == MESSAGE_ASYNC
    assert (body["email"], body["message"]) == ("dana@example.com", "check it")
    assert "{email}" in body["responses"]["utter_handover_message_left"]["text"]
    assert any(e["name"] == "handover_active" and e["value"] is False for e in events)


@pytest.fixture
def machine_in_kiritimati(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The action server's machine runs at UTC+14 (its local zone, TZ)."""
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def booked_due(said: str) -> datetime:
    """The due time the callback form reads from `said`, with the real clock."""
    slots, _ = await run_form(ValidateHandoverCallbackForm(), form_tracker(said, {}))
    return datetime.fromisoformat(slots["callback_due"])


@pytest.mark.parametrize(
    "zone, offset_hours",
    [
        pytest.param(None, 0, id="unset-means-utc"),
        pytest.param("Asia/Tokyo", 9, id="tokyo"),
        pytest.param("America/Argentina/Buenos_Aires", -3, id="buenos-aires"),
    ],
)
async def test_callback_times_are_read_in_the_configured_time_zone(
    machine_in_kiritimati: None,
    monkeypatch: pytest.MonkeyPatch,
    zone: Optional[str],
    offset_hours: int,
) -> None:
    """Not the action server's local zone: '10am' is 10:00 in HANDOVER_TIMEZONE."""
    if zone is None:
        monkeypatch.delenv("HANDOVER_TIMEZONE", raising=False)
    else:
        monkeypatch.setenv("HANDOVER_TIMEZONE", zone)
    offset = timedelta(hours=offset_hours)
    tomorrow = (datetime.now(timezone.utc) + offset).date() + timedelta(days=1)

    due = await booked_due("call me back tomorrow at 10am on +1 555 0100")

    assert due.utcoffset() == offset
    assert (due.date(), due.hour, due.minute) == (tomorrow, 10, 0)
    in_two_hours = await booked_due("in 2 hours please, +1 555 0100")
    expected = datetime.now(timezone.utc) + timedelta(hours=2)
    assert abs((in_two_hours - expected).total_seconds()) < 120


def test_a_time_zone_that_does_not_exist_stops_the_action_server_saying_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HANDOVER_TIMEZONE", "Mars/Olympus_Mons")
    with pytest.raises(HandoverConfigError) as error:
        ValidateHandoverCallbackForm()
    message = str(error.value)
    assert "HANDOVER_TIMEZONE='Mars/Olympus_Mons' is not a time zone" in message
    assert "Europe/Berlin" in message
