"""The channel against a real embedded inbox (SQLite), in process.

Rasa itself is replaced by a function that records the messages the channel
hands to it (`on_new_message`): the real Rasa server is exercised in
tests/e2e/. Everything else is real: the inbox service and store on an SQLite
file, the outbox file, the customer mailbox.
"""

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from rasa_handover.channels import HandoverInput
from rasa_handover.channels.outbox import Outbox
from rasa_handover.constants import MESSAGE_CSAT, MESSAGE_HANDOVER
from rasa_handover.inbox.config import InboxConfig
from rasa_handover.inbox.presence import Presence

# Long enough for the start-up check (config.MIN_TOKEN_CHARS).
MAYA_TOKEN = "maya-token-0123456789abcdef0123456789ab"

TEMPLATES = {
    "utter_handover_connecting": {"text": "Connecting you with {agent_name}."},
    "utter_handover_queued": {"text": "Passed to our {team} team."},
    "utter_handover_nobody_online": {"text": "Nobody is online right now."},
    "utter_handover_wait_update": {"text": "Now {wait_text}."},
    "utter_handover_delayed": {"text": "Trouble reaching our team."},
    "utter_handover_failed": {"text": "Sorry, please email {support_email}."},
    "utter_handover_alternatives_callback": {"text": "Shall we call you back?"},
}
INBOX_YML = f"""
agents:
  - name: Maya
    token: {MAYA_TOKEN}
    teams: [general, billing]
"""
# The inbox offers nothing instead of waiting (no callbacks, no e-mail).
NOTHING_OFFERED = "alternatives: []\n"


def handover_message(attempt: int = 1) -> Dict[str, Any]:
    return {
        "type": MESSAGE_HANDOVER,
        "attempt": attempt,
        "payload": {
            "conversation_id": "c1",
            "trigger": {"reason": "explicit_request", "team": "billing"},
        },
        "responses": TEMPLATES,
    }


@pytest.fixture(
    params=[
        pytest.param("", id="callbacks-offered"),
        pytest.param(NOTHING_OFFERED, id="nothing-offered"),
    ]
)
def inbox_extra(request: pytest.FixtureRequest) -> str:
    """What inbox.yml adds to INBOX_YML (only where a test asks for both)."""
    return str(request.param)


@pytest.fixture
async def channel(tmp_path: Path) -> Any:
    async for made in make_channel(tmp_path, INBOX_YML):
        yield made


@pytest.fixture
async def channel_with(tmp_path: Path, inbox_extra: str) -> Any:
    """The channel, with callbacks offered (the default) or nothing offered."""
    async for made in make_channel(tmp_path, INBOX_YML + inbox_extra):
        yield made


def offer_after(inbox_extra: str) -> List[str]:
    """What follows the honest news: the callback offer, if it is configured."""
    return [] if inbox_extra == NOTHING_OFFERED else ["Shall we call you back?"]


async def make_channel(tmp_path: Path, inbox_yml: str) -> AsyncIterator[Any]:
    """The channel with its embedded inbox configured by `inbox_yml`."""
    (tmp_path / "inbox.yml").write_text(inbox_yml)
    handed_to_rasa: List[UserMessage] = []

    async def on_new_message(message: UserMessage) -> None:
        handed_to_rasa.append(message)

    channel = HandoverInput(
        db=f"sqlite:///{tmp_path}/handover.db",
        inbox_config=str(tmp_path / "inbox.yml"),
        outbox=str(tmp_path / "outbox.db"),
        support_email="help@example.com",
    )
    channel.blueprint(on_new_message)
    channel.relay.outbox = Outbox(str(tmp_path / "outbox.db"))
    config = InboxConfig.from_yaml(tmp_path / "inbox.yml")
    await channel.service.start(config.agent_profiles())
    channel.handed_to_rasa = handed_to_rasa
    yield channel
    await channel.service.close()


async def maya(channel: Any) -> Any:
    return await channel.service.store.agent_by_token(MAYA_TOKEN)


def texts(messages: List[Dict[str, Any]]) -> List[str]:
    return [m["text"] for m in messages]


async def test_handover_is_acknowledged_with_the_agent_and_is_idempotent(
    channel: Any,
) -> None:
    await channel.service.set_availability(await maya(channel), True)
    first = CollectingOutputChannel()
    await channel.relay.handle_plugin_message("c1", handover_message(), first)
    assert texts(first.messages) == ["Connecting you with Maya."]

    retry = CollectingOutputChannel()
    await channel.relay.handle_plugin_message("c1", handover_message(), retry)
    tickets, _ = await channel.service.queue_for(await maya(channel))
    assert [t.conversation_id for t in tickets] == ["c1"]


async def test_agent_reply_and_resolution_reach_the_customer_and_rasa(
    channel: Any,
) -> None:
    agent = await maya(channel)
    await channel.service.set_availability(agent, True)
    await channel.relay.handle_plugin_message(
        "c1", handover_message(), CollectingOutputChannel()
    )
    tickets, _ = await channel.service.queue_for(agent)
    ticket_id = tickets[0].id

    await channel.service.agent_reply(ticket_id, agent, "Hi, I'm Maya")
    delivered = channel.mailbox.since("c1", 0)
    assert delivered[-1]["text"] == "Hi, I'm Maya"
    assert delivered[-1]["metadata"] == {"from": "agent", "agent_name": "Maya"}

    await channel.service.resolve(ticket_id, agent, "escalation_needed", "done")
    handback = channel.handed_to_rasa[-1]
    assert handback.text == "/handover_resolved"
    assert handback.sender_id == "c1"
    assert handback.metadata == {"agent_name": "Maya", "outcome": "escalation_needed"}


async def test_queued_customer_is_told_when_an_agent_takes_over(channel: Any) -> None:
    output = CollectingOutputChannel()
    await channel.relay.handle_plugin_message("c1", handover_message(), output)
    assert texts(output.messages) == [
        "Nobody is online right now.",
        "Shall we call you back?",
    ]

    await channel.service.set_availability(await maya(channel), True)
    assert "Connecting you with Maya." in texts(channel.mailbox.since("c1", 0))


async def test_a_customer_whose_agent_left_before_accepting_is_told(
    channel_with: Any, inbox_extra: str
) -> None:
    """Maya's page goes silent (a 0.2 s grace here) and nobody else may take it:
    the customer hears that nobody is online (not a wait), and only what the
    inbox really offers."""
    channel = channel_with
    channel.service.presence = Presence(timedelta(seconds=0.2))
    await channel.service.set_availability(await maya(channel), True)
    await channel.relay.handle_plugin_message(
        "c1", handover_message(), CollectingOutputChannel()
    )
    told = len(channel.mailbox.since("c1", 0))
    await asyncio.sleep(0.3)

    assert await channel.service.expire_absent() == ["maya"]

    assert texts(channel.mailbox.since("c1", 0))[told:] == [
        "Nobody is online right now.",
        *offer_after(inbox_extra),
    ]
    assert (
        await channel.service.store.active_ticket_for_conversation("c1")
    ).status == ("waiting")


async def test_a_customer_whose_ticket_expired_is_told_and_the_bot_answers_again(
    channel_with: Any, inbox_extra: str
) -> None:
    """Nobody picked the ticket up (a 0.1 s idle time here): housekeeping expires
    it. A callback is offered only when the inbox offers callbacks."""
    channel = channel_with
    channel.service.expire_idle_after = timedelta(seconds=0.1)
    await channel.relay.handle_plugin_message(
        "c1", handover_message(), CollectingOutputChannel()
    )
    await asyncio.sleep(0.2)

    told = len(channel.mailbox.since("c1", 0))
    await channel.service.housekeeping()

    assert texts(channel.mailbox.since("c1", 0))[told:] == [
        "Sorry, please email help@example.com.",
        *offer_after(inbox_extra),
    ]
    handback = channel.handed_to_rasa[-1]
    assert (handback.text, handback.metadata) == (
        "/handover_resolved",
        {"agent_name": None, "outcome": "expired"},
    )
    assert await channel.service.store.active_ticket_for_conversation("c1") is None


async def test_unreachable_inbox_queues_and_tells_the_customer_once(
    tmp_path: Path,
) -> None:
    channel = HandoverInput(
        inbox_url="http://127.0.0.1:9/webhooks/handover/inbox",  # nothing listens
        shared_secret="s",
        outbox=str(tmp_path / "outbox.db"),
        notify_after_failures=2,
        support_email="help@example.com",
    )

    async def on_new_message(message: UserMessage) -> None:
        pass

    channel.blueprint(on_new_message)
    channel.relay.outbox = Outbox(str(tmp_path / "outbox.db"))
    output = CollectingOutputChannel()
    await channel.relay.handle_plugin_message("c1", handover_message(), output)
    assert texts(output.messages) == ["Trouble reaching our team."]
    assert channel.relay.outbox.pending_count() == 1

    for _ in range(3):
        # Due immediately: the backoff is in the item, so move time forward.
        for item in channel.relay.outbox.due(now=float("inf")):
            channel.relay.outbox._db.execute(
                "UPDATE outbox SET next_attempt_at = 0 WHERE id = ?", (item.id,)
            )
        assert await channel.relay.retry_outbox() == 0
    told = texts(channel.mailbox.since("c1", 0))
    assert told == ["Sorry, please email help@example.com."]
    assert channel.relay.outbox.pending_count() == 1  # still kept, still retried


async def test_rasa_run_logs_where_the_inbox_is_and_who_is_online(
    channel: Any, tmp_path: Path
) -> None:
    """The one line `rasa run` logs at start (after_server_start)."""
    summary = await channel.startup_summary()
    assert "inbox at /webhooks/handover/inbox/" in summary
    assert "1 agent(s) defined, 0 online" in summary
    assert f"storage sqlite+aiosqlite:///{tmp_path}/handover.db" in summary
    await channel.service.set_availability(await maya(channel), True)
    assert "1 agent(s) defined, 1 online" in await channel.startup_summary()


def test_a_standalone_inbox_is_named_by_its_url() -> None:
    channel = HandoverInput(inbox_url="http://inbox:5010", public_url="http://bot:5005")
    assert "standalone inbox at http://inbox:5010" in asyncio.run(
        channel.startup_summary()
    )


async def test_the_customers_csat_score_is_stored_on_the_resolved_ticket(
    channel: Any,
) -> None:
    agent = await maya(channel)
    await channel.service.set_availability(agent, True)
    await channel.relay.handle_plugin_message(
        "c1", handover_message(), CollectingOutputChannel()
    )
    tickets, _ = await channel.service.queue_for(agent)
    await channel.service.resolve(tickets[0].id, agent, "escalation_needed", None)
    output = CollectingOutputChannel()

    # What action_handover_csat emits when the customer taps "4".
    await channel.relay.handle_plugin_message(
        "c1", {"type": MESSAGE_CSAT, "conversation_id": "c1", "score": 4}, output
    )

    [ticket] = await channel.service.store.tickets_for_conversation("c1")
    assert ticket.csat == 4
    assert output.messages == []  # Data only: the action thanks the customer.


async def test_a_score_without_a_resolved_ticket_is_dropped_quietly(
    channel: Any,
) -> None:
    output = CollectingOutputChannel()

    await channel.relay.handle_plugin_message(
        "c9", {"type": MESSAGE_CSAT, "conversation_id": "c9", "score": 2}, output
    )

    assert output.messages == []
    assert not channel.relay.outbox.has_pending("c9")


async def test_a_score_the_inbox_refuses_is_not_told_to_the_customer(
    channel: Any,
) -> None:
    output = CollectingOutputChannel()

    await channel.relay.handle_plugin_message(
        "c1", {"type": MESSAGE_CSAT, "conversation_id": "c1", "score": 9}, output
    )

    assert output.messages == []  # No "Sorry, please email ...": it is data.
