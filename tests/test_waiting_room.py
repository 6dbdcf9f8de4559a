"""The waiting room: a waiting customer never types into silence (issue 10).

The decisions (`WaitingRoom`) with a settable clock, then the channel against a
real embedded inbox (SQLite) and a real standalone inbox over signed HTTP. Rasa
is replaced by a function that records what the channel hands it and, where a
test says so, answers like a bot would (the real Rasa server runs in
tests/e2e/).
"""

import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Optional

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from rasa_handover.channels import HandoverInput
from rasa_handover.channels.outbox import Outbox
from rasa_handover.channels.waiting_room import OFFER, WaitingRoom
from rasa_handover.constants import MESSAGE_CALLBACK, MESSAGE_HANDOVER, MESSAGE_KEY
from rasa_handover.inbox.api import create_app
from rasa_handover.inbox.config import AgentConfig, InboxConfig
from tests.inbox.conftest import running

# Long enough for the start-up check (config.MIN_TOKEN_CHARS).
MAYA_TOKEN = "maya-token-0123456789abcdef0123456789ab"

ACK = "utter_handover_waiting_ack"
UPDATE = "utter_handover_wait_update"
TEMPLATES = {
    "utter_handover_connecting": {"text": "Connecting you with {agent_name}."},
    "utter_handover_queued": {"text": "Passed to our {team} team."},
    "utter_handover_nobody_online": {"text": "Nobody is online right now."},
    "utter_handover_wait_update": {"text": "Now {wait_text}."},
    "utter_handover_waiting_ack": {"text": "Added for the {team} team."},
    "utter_handover_alternatives": {
        "text": "Callback or message?",
        "buttons": [{"title": "Call me back", "payload": "/handover_callback"}],
    },
    "utter_handover_alternatives_callback": {"text": "Callback?"},
}
SECRET = "waiting-secret"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- The decisions. ---------------------------------------------------------------


def test_a_burst_of_messages_gets_one_acknowledgement_then_one_per_interval() -> None:
    clock = Clock()
    room = WaitingRoom(ack_seconds=30, offer_seconds=0, clock=clock)
    room.entered("c1", "waiting", 120, ["callback"], offered=True)
    clock.now += 5
    assert room.answer("c1", "waiting", 120, ["callback"]) == [ACK]
    clock.now += 5
    assert room.answer("c1", "waiting", 120, ["callback"]) == []
    clock.now += 30
    assert room.answer("c1", "waiting", 120, ["callback"]) == [ACK]
    clock.now += 1
    assert room.answer("c1", "waiting", 120, ["callback"]) == []


def test_a_customer_nobody_acknowledged_yet_is_answered_at_once() -> None:
    """After a restart (or a missed acknowledgement) the first message is answered."""
    room = WaitingRoom(ack_seconds=30, offer_seconds=0, clock=Clock())
    assert room.answer("c1", "waiting", 60, []) == [ACK]


def test_a_grown_wait_is_told_at_once_with_the_acknowledgement() -> None:
    clock = Clock()
    room = WaitingRoom(ack_seconds=30, offer_seconds=0, clock=clock)
    room.entered("c1", "waiting", 120, [], offered=False)
    clock.now += 2
    assert room.answer("c1", "waiting", 120, []) == [ACK]
    clock.now += 2
    assert room.answer("c1", "waiting", 600, []) == [ACK, UPDATE]
    clock.now += 2
    assert room.answer("c1", "waiting", 600, []) == []


def test_alternatives_are_offered_again_after_the_setting_also_without_a_message() -> (
    None
):
    clock = Clock()
    room = WaitingRoom(ack_seconds=30, offer_seconds=120, clock=clock)
    room.entered("c1", "waiting", 60, ["callback", "email"], offered=True)
    clock.now += 119
    assert room.due_offers() == []
    clock.now += 1
    assert room.due_offers() == [("c1", ["callback", "email"])]
    assert room.due_offers() == []  # offered now: the next one in 120 s
    clock.now += 120
    assert room.answer("c1", "waiting", 60, ["callback", "email"]) == [ACK, OFFER]


@pytest.mark.parametrize(
    "status, alternatives",
    [
        pytest.param("assigned", ["callback"], id="an-agent-is-about-to-answer"),
        pytest.param("waiting", [], id="nothing-configured-nothing-offered"),
    ],
)
def test_no_alternatives_when_an_agent_comes_or_none_is_configured(
    status: str, alternatives: List[str]
) -> None:
    clock = Clock()
    room = WaitingRoom(ack_seconds=30, offer_seconds=60, clock=clock)
    room.entered("c1", status, 60, alternatives, offered=False)
    clock.now += 600
    assert room.due_offers() == []
    assert OFFER not in room.answer("c1", status, 60, alternatives)


def test_an_agent_answering_lets_the_customer_out_of_the_waiting_room() -> None:
    room = WaitingRoom(clock=Clock())
    room.entered("c1", "waiting", 60, ["callback"], offered=True)
    room.status_changed("c1", "active")
    assert not room.is_waiting("c1")
    assert room.answer("c1", "active", 0, ["callback"]) == []


# --- The channel, embedded inbox. ----------------------------------------------------


def handover_message() -> Dict[str, Any]:
    return {
        "type": MESSAGE_HANDOVER,
        "attempt": 1,
        "payload": {"trigger": {"reason": "frustration", "team": "billing"}},
        "responses": TEMPLATES,
    }


def texts(messages: List[Dict[str, Any]]) -> List[str]:
    return [m["text"] for m in messages]


def make_channel(tmp_path: Path, **settings: Any) -> HandoverInput:
    """A channel whose `Rasa` records messages and says `bot.reply` if set."""
    bot: Dict[str, Optional[str]] = {"reply": None}
    handed: List[UserMessage] = []

    async def on_new_message(message: UserMessage) -> None:
        handed.append(message)
        if bot["reply"]:
            await message.output_channel.send_text_message(
                message.sender_id, bot["reply"]
            )

    channel = HandoverInput(
        outbox=str(tmp_path / "outbox.db"),
        support_email="help@example.com",
        **settings,
    )
    channel.blueprint(on_new_message)
    channel.relay.outbox = Outbox(str(tmp_path / "outbox.db"))
    channel.bot = bot  # type: ignore[attr-defined]
    channel.handed = handed  # type: ignore[attr-defined]
    return channel


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[HandoverInput]:
    (tmp_path / "inbox.yml").write_text(
        f"agents:\n  - name: Maya\n    token: {MAYA_TOKEN}\n    teams: [billing]\n"
    )
    channel = make_channel(
        tmp_path,
        db=f"sqlite:///{tmp_path}/handover.db",
        inbox_config=str(tmp_path / "inbox.yml"),
        offer_alternatives_seconds=0,
    )
    assert channel.service is not None
    config = InboxConfig.from_yaml(tmp_path / "inbox.yml")
    await channel.service.start(config.agent_profiles())
    yield channel
    await channel.service.close()


async def say(channel: HandoverInput, text: str) -> List[str]:
    output = CollectingOutputChannel()
    await channel.relay.handle_customer_message(text, "c1", output, None)
    return texts(output.messages)


async def test_this_is_ridiculous_after_nobody_online_is_acknowledged_and_added(
    embedded: HandoverInput,
) -> None:
    """The issue's 80 s of silence: now one answer, and the agent sees every line."""
    assert embedded.service is not None
    opening = CollectingOutputChannel()
    await embedded.relay.handle_plugin_message("c1", handover_message(), opening)
    assert texts(opening.messages)[0] == "Nobody is online right now."

    assert await say(embedded, "this is ridiculous!!!") == [
        "Added for the billing team."
    ]
    assert await say(embedded, "hello? is anyone there?") == []  # one per burst

    ticket = await embedded.service.store.active_ticket_for_conversation("c1")
    assert ticket is not None
    messages = await embedded.service.store.messages(ticket.id)
    assert [m.text for m in messages] == [
        "this is ridiculous!!!",
        "hello? is anyone there?",
    ]


async def test_the_waiting_room_is_quiet_when_the_bot_answers(
    embedded: HandoverInput,
) -> None:
    """A form the bot runs while the customer waits (the callback) is the answer."""
    await embedded.relay.handle_plugin_message(
        "c1", handover_message(), CollectingOutputChannel()
    )
    embedded.bot["reply"] = "On which number?"  # type: ignore[attr-defined]
    assert await say(embedded, "call me back") == ["On which number?"]


async def test_no_acknowledgement_when_the_bot_books_a_callback(
    embedded: HandoverInput,
) -> None:
    """The booking's confirmation is the answer (the relay says it, not Rasa)."""
    await embedded.relay.handle_plugin_message(
        "c1", handover_message(), CollectingOutputChannel()
    )
    booking = {
        "type": MESSAGE_CALLBACK,
        "when": "tomorrow at 10:00",
        "contact": "+1 555 0100",
        "payload": {},
        "responses": {"utter_callback_scheduled": {"text": "Done: {when}."}},
    }

    async def books(message: UserMessage) -> None:
        await message.output_channel.send_custom_json(
            message.sender_id, {MESSAGE_KEY: booking}
        )

    embedded.relay.on_new_message = books
    said = await say(embedded, "call me back tomorrow at 10am on +1 555 0100")
    assert said == ["Done: tomorrow at 10:00."]


async def test_no_acknowledgement_once_the_agent_has_answered(
    embedded: HandoverInput,
) -> None:
    assert embedded.service is not None
    await embedded.relay.handle_plugin_message(
        "c1", handover_message(), CollectingOutputChannel()
    )
    maya = await embedded.service.store.agent_by_token(MAYA_TOKEN)
    assert maya is not None
    ticket = await embedded.service.store.active_ticket_for_conversation("c1")
    assert ticket is not None
    await embedded.service.agent_reply(ticket.id, maya, "Hi, Maya here")
    assert await say(embedded, "thanks Maya") == []


async def test_the_alternatives_are_offered_again_to_a_silent_waiting_customer(
    tmp_path: Path,
) -> None:
    (tmp_path / "inbox.yml").write_text(
        f"agents:\n  - name: Maya\n    token: {MAYA_TOKEN}\n"
        "    teams: [billing]\n"
        "alternatives: [callback]\n"
    )
    channel = make_channel(
        tmp_path,
        db=f"sqlite:///{tmp_path}/handover.db",
        inbox_config=str(tmp_path / "inbox.yml"),
    )
    assert channel.service is not None
    await channel.service.start(
        InboxConfig.from_yaml(tmp_path / "inbox.yml").agent_profiles()
    )
    try:
        clock = Clock()
        channel.relay.waiting_room.clock = clock
        opening = CollectingOutputChannel()
        await channel.relay.handle_plugin_message("c1", handover_message(), opening)
        assert texts(opening.messages) == ["Nobody is online right now.", "Callback?"]
        clock.now += channel.relay.waiting_room.offer_seconds
        assert await channel.relay.offer_alternatives_again() == 1
        assert texts(channel.mailbox.since("c1", 0)) == ["Callback?"]
    finally:
        await channel.service.close()


# --- The channel, standalone inbox over HTTP. -------------------------------------


async def test_a_standalone_inbox_tells_the_waiting_room_the_ticket(
    tmp_path: Path,
) -> None:
    config = InboxConfig(
        agents=(AgentConfig("Maya", "token-maya", teams=("billing",)),),
        shared_secret=SECRET,
        housekeeping_seconds=0,
    )
    app = create_app(
        f"sqlite:///{tmp_path / 'inbox.db'}",
        config,
        name=f"waiting_{uuid.uuid4().hex[:10]}",
    )
    async with running(app) as url:
        channel = make_channel(tmp_path, inbox_url=url, shared_secret=SECRET)
        channel.handover_active = _always  # type: ignore[method-assign]
        await channel.relay.handle_plugin_message(
            "c1", handover_message(), CollectingOutputChannel()
        )
        assert await say(channel, "this is ridiculous!!!") == [
            "Added for the billing team."
        ]
        assert await say(channel, "hello?") == []


async def _always(_conversation_id: str) -> bool:
    return True
