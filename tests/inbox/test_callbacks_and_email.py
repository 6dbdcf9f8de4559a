"""Alternatives that happen: callbacks agents can see and close, replies by e-mail.

The e-mail goes through a real SMTP server running in the test (aiosmtpd's
`Controller` on a loopback port); the inbox is the real service and HTTP API on
SQLite; the channel is the real `HandoverInput` with its embedded inbox.
"""

import asyncio
import socket
import uuid
from email import message_from_bytes
from pathlib import Path
from typing import Any, AsyncIterator, Dict, Iterator, List

import pytest
from aiosmtpd.controller import Controller
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from rasa_handover.channels import HandoverInput
from rasa_handover.channels.outbox import Outbox
from rasa_handover.constants import MESSAGE_ASYNC, MESSAGE_CALLBACK, MESSAGE_HANDOVER
from rasa_handover.inbox.api import create_app
from rasa_handover.inbox.config import AgentConfig, InboxConfig
from rasa_handover.inbox.email_delivery import EmailSettings
from rasa_handover.inbox.errors import ValidationError
from rasa_handover.inbox.models import STATUS_RESOLVED, STATUS_WAITING
from rasa_handover.inbox.service import InboxService
from rasa_handover.inbox.signing import SigningKeys
from rasa_handover.inbox.store import InboxStore
from tests.inbox.conftest import running

# Long enough for the start-up check (config.MIN_TOKEN_CHARS).
MAYA_TOKEN = "maya-token-0123456789abcdef0123456789ab"

PAYLOAD: Dict[str, Any] = {"trigger": {"reason": "explicit_request", "team": "billing"}}


class Inbox:
    """What the test SMTP server received."""

    def __init__(self) -> None:
        self.messages: List[Any] = []

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Inbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.port = port  # type: ignore[attr-defined]
    try:
        yield mailbox
    finally:
        controller.stop()


def email_settings(smtp: Inbox) -> EmailSettings:
    return EmailSettings.from_dict(
        {
            "host": "127.0.0.1",
            "port": smtp.port,  # type: ignore[attr-defined]
            "security": "none",
            "from": "Streamly support <support@streamly.example>",
            "subject": "Your message to Streamly",
        }
    )


async def maya(store: InboxStore) -> Any:
    await store.upsert_agent("maya", "Maya", "token-maya", teams=("billing",))
    agent = await store.get_agent("maya")
    assert agent is not None
    return agent


# --- Callbacks. ---------------------------------------------------------------------


async def test_callbacks_are_listed_soonest_due_first_and_done_closes_them(
    sqlite_store: InboxStore,
) -> None:
    service = InboxService(sqlite_store)
    agent = await maya(sqlite_store)
    booked = [
        ("late", "2026-12-02T09:00+00:00"),
        ("no-time", None),
        ("soon", "2026-12-01T10:00+01:00"),  # 09:00 UTC: before "late"
    ]
    for conversation, due in booked:
        await service.schedule_callback(
            conversation, "some time", "+1 555 0100", PAYLOAD, due
        )

    callbacks = await service.callbacks(agent.teams)
    assert [t.conversation_id for t in callbacks] == ["soon", "late", "no-time"]
    _, listed = await service.queue_for(agent)
    assert [t.conversation_id for t in listed] == ["soon", "late", "no-time"]

    done = await service.resolve(callbacks[0].id, agent, "escalation_needed", "called")
    assert (done.status, done.outcome) == (STATUS_RESOLVED, "escalation_needed")
    assert [t.conversation_id for t in await service.callbacks()] == ["late", "no-time"]


async def test_agents_read_the_callbacks_list_over_http(tmp_path: Path) -> None:
    config = InboxConfig(
        agents=(AgentConfig("Maya", "token-maya", teams=("billing",)),),
        housekeeping_seconds=0,
    )
    app = create_app(
        f"sqlite:///{tmp_path / 'inbox.db'}", config, name=f"cb_{uuid.uuid4().hex[:8]}"
    )
    async with running(app):
        service: InboxService = app.ctx.inbox_service
        await service.schedule_callback(
            "c2", "tomorrow at 10:00", "dana@example.com", PAYLOAD, "2026-12-01T10:00Z"
        )
        await service.schedule_callback(
            "c1", "today at 17:00", "+1 555 0100", PAYLOAD, "2026-11-30T17:00Z"
        )
        headers = {"Authorization": "Bearer token-maya"}
        _, answer = await app.asgi_client.get(
            "/webhooks/handover/inbox/api/callbacks", headers=headers
        )
        assert answer.status == 200
        listed = answer.json["callbacks"]
        assert [(c["conversation_id"], c["callback"]["contact"]) for c in listed] == [
            ("c1", "+1 555 0100"),
            ("c2", "dana@example.com"),
        ]
        _, anonymous = await app.asgi_client.get(
            "/webhooks/handover/inbox/api/callbacks"
        )
        assert anonymous.status == 401


# --- Messages answered by e-mail. ---------------------------------------------------


async def test_an_agent_reply_to_a_left_message_is_emailed(
    sqlite_store: InboxStore, smtp: Inbox
) -> None:
    service = InboxService(sqlite_store, email=email_settings(smtp))
    agent = await maya(sqlite_store)
    await service.request_handover("c1", 1, PAYLOAD)

    view = await service.leave_message(
        "c1", "dana@example.com", "Invoice 1182?", PAYLOAD
    )
    assert view.status == STATUS_WAITING  # waits in the queue, as async
    tickets, _ = await service.queue_for(agent)
    assert tickets[0].callback is not None
    assert tickets[0].callback["contact"] == "dana@example.com"

    await service.agent_reply(tickets[0].id, agent, "Your invoice is attached.")
    assert service.email_replies is not None
    await service.email_replies.drain()

    [mail] = smtp.messages
    assert mail["To"] == "dana@example.com"
    assert mail["Subject"] == "Your message to Streamly"
    assert "Your invoice is attached." in mail.get_payload()
    notes = [m.text for m in await sqlite_store.messages(tickets[0].id)]
    assert notes == [
        "Invoice 1182?",
        "Your invoice is attached.",
        "E-mailed to dana@example.com.",
    ]


async def test_an_smtp_failure_is_noted_for_the_agent_not_lost(
    sqlite_store: InboxStore,
) -> None:
    closed = EmailSettings.from_dict(
        {"host": "127.0.0.1", "port": 9, "security": "none", "from": "s@example.com"}
    )
    service = InboxService(sqlite_store, email=closed)
    agent = await maya(sqlite_store)
    view = await service.leave_message("c1", "dana@example.com", None, PAYLOAD)
    await service.agent_reply(view.ticket_id, agent, "Hello Dana")
    assert service.email_replies is not None
    await service.email_replies.drain()
    last = (await sqlite_store.messages(view.ticket_id))[-1]
    assert last.sender == "system"
    assert "could not be sent" in last.text


async def test_without_email_settings_no_message_can_be_left(
    sqlite_store: InboxStore,
) -> None:
    service = InboxService(sqlite_store)
    assert service.alternatives == ["callback"]
    with pytest.raises(ValidationError, match="no email: settings"):
        await service.leave_message("c1", "dana@example.com", None, PAYLOAD)


# --- The channel: the whole loop, embedded inbox. -----------------------------------

TEMPLATES = {
    "utter_handover_nobody_online": {"text": "Nobody is online."},
    "utter_handover_alternatives": {"text": "Callback or message?"},
    "utter_handover_alternatives_callback": {"text": "Callback?"},
    "utter_handover_alternatives_message": {"text": "Message?"},
    "utter_callback_scheduled": {"text": "Done: {when} at {contact}."},
    "utter_handover_message_left": {"text": "We'll reply to {email}."},
    "utter_handover_replied_while_away": {"text": "{agent_name} replied ({email}):"},
}


@pytest.fixture
async def channel(tmp_path: Path, smtp: Inbox) -> AsyncIterator[HandoverInput]:
    (tmp_path / "inbox.yml").write_text(
        f"agents:\n  - name: Maya\n    token: {MAYA_TOKEN}\n"
        "    teams: [billing]\n"
        f"email:\n  host: 127.0.0.1\n  port: {smtp.port}\n"  # type: ignore[attr-defined]
        "  security: none\n  from: support@streamly.example\n"
    )

    handed: List[UserMessage] = []

    async def on_new_message(message: UserMessage) -> None:
        handed.append(message)

    channel = HandoverInput(
        db=f"sqlite:///{tmp_path}/handover.db",
        inbox_config=str(tmp_path / "inbox.yml"),
        outbox=str(tmp_path / "outbox.db"),
    )
    channel.blueprint(on_new_message)
    channel.handed_to_rasa = handed  # type: ignore[attr-defined]
    channel.relay.outbox = Outbox(str(tmp_path / "outbox.db"))
    assert channel.service is not None
    config = InboxConfig.from_yaml(tmp_path / "inbox.yml")
    await channel.service.start(config.agent_profiles())
    yield channel
    await channel.service.close()


def plugin(kind: str, **fields: Any) -> Dict[str, Any]:
    return {"type": kind, "payload": PAYLOAD, "responses": TEMPLATES, **fields}


def texts(messages: List[Dict[str, Any]]) -> List[str]:
    return [m["text"] for m in messages]


async def test_the_customer_is_offered_both_then_books_a_callback_in_one_sentence(
    channel: HandoverInput,
) -> None:
    first = CollectingOutputChannel()
    await channel.relay.handle_plugin_message(
        "c1", plugin(MESSAGE_HANDOVER, attempt=1), first
    )
    assert texts(first.messages) == ["Nobody is online.", "Callback or message?"]

    booked = CollectingOutputChannel()
    await channel.relay.handle_plugin_message(
        "c1",
        plugin(
            MESSAGE_CALLBACK,
            when="tomorrow at 10:00",
            due_at="2026-12-01T10:00+00:00",
            contact="+1 555 0100",
        ),
        booked,
    )
    assert texts(booked.messages) == ["Done: tomorrow at 10:00 at +1 555 0100."]
    assert channel.service is not None
    [callback] = await channel.service.callbacks()
    assert callback.callback is not None
    assert callback.callback["due_at"] == "2026-12-01T10:00+00:00"
    assert not channel.relay.waiting_room.is_waiting("c1")

    agent = await channel.service.store.agent_by_token(MAYA_TOKEN)
    assert agent is not None
    await channel.service.resolve(callback.id, agent, "escalation_needed", "called")
    assert channel.handed_to_rasa == []  # the bot has it already: no handback


async def test_a_left_message_is_answered_by_email_and_shown_when_the_customer_returns(
    channel: HandoverInput, smtp: Inbox
) -> None:
    assert channel.service is not None
    await channel.relay.handle_plugin_message(
        "c1", plugin(MESSAGE_HANDOVER, attempt=1), CollectingOutputChannel()
    )
    left = CollectingOutputChannel()
    await channel.relay.handle_plugin_message(
        "c1",
        plugin(MESSAGE_ASYNC, email="dana@example.com", message="Invoice 1182?"),
        left,
    )
    assert texts(left.messages) == ["We'll reply to dana@example.com."]

    agent = await channel.service.store.agent_by_token(MAYA_TOKEN)
    assert agent is not None
    [ticket] = await channel.service.store.tickets_for_conversation("c1")
    await channel.service.agent_reply(ticket.id, agent, "Your invoice is attached.")
    assert channel.service.email_replies is not None
    await channel.service.email_replies.drain()
    assert smtp.messages[0]["To"] == "dana@example.com"

    back = CollectingOutputChannel()
    await channel.relay.customer_returned("c1", back)  # socket.io session_request
    assert texts(back.messages) == [
        "Maya replied (dana@example.com):",
        "Your invoice is attached.",
    ]
    again = CollectingOutputChannel()
    await channel.relay.customer_returned("c1", again)
    assert again.messages == []  # shown once


async def test_no_email_settings_means_only_the_callback_is_offered(
    tmp_path: Path,
) -> None:
    (tmp_path / "inbox.yml").write_text(
        f"agents:\n  - name: Maya\n    token: {MAYA_TOKEN}\n    teams: [billing]\n"
    )
    channel = HandoverInput(
        db=f"sqlite:///{tmp_path}/handover.db",
        inbox_config=str(tmp_path / "inbox.yml"),
        outbox=str(tmp_path / "outbox.db"),
    )

    async def on_new_message(message: UserMessage) -> None:
        pass

    channel.blueprint(on_new_message)
    channel.relay.outbox = Outbox(str(tmp_path / "outbox.db"))
    assert channel.service is not None
    await channel.service.start(
        InboxConfig.from_yaml(tmp_path / "inbox.yml").agent_profiles()
    )
    try:
        output = CollectingOutputChannel()
        await channel.relay.handle_plugin_message(
            "c1", plugin(MESSAGE_HANDOVER, attempt=1), output
        )
        assert texts(output.messages) == ["Nobody is online.", "Callback?"]
    finally:
        await channel.service.close()
    await asyncio.sleep(0)


# --- A standalone inbox: the same over signed HTTP. ---------------------------------


async def test_a_standalone_inbox_books_callbacks_and_emails_replies(
    tmp_path: Path, smtp: Inbox
) -> None:
    from rasa_handover.channels.inbox_client import HttpInboxClient

    config = InboxConfig(
        agents=(AgentConfig("Maya", "token-maya", teams=("billing",)),),
        shared_secret="s3cret",
        housekeeping_seconds=0,
        email=email_settings(smtp),
    )
    app = create_app(
        f"sqlite:///{tmp_path / 'inbox.db'}", config, name=f"sa_{uuid.uuid4().hex[:8]}"
    )
    async with running(app) as url:
        client = HttpInboxClient(url, SigningKeys.from_settings("s3cret"))
        booked = await client.schedule_callback(
            "c1", "tomorrow at 10:00", "+1 555 0100", PAYLOAD, "2026-12-01T10:00Z"
        )
        assert booked["status"] == "callback"
        left = await client.leave_message("c2", "dana@example.com", "Hi?", PAYLOAD)
        assert left["status"] == STATUS_WAITING

        service: InboxService = app.ctx.inbox_service
        [callback] = await service.callbacks()
        assert callback.callback is not None
        assert callback.callback["due_at"] == "2026-12-01T10:00Z"
        agent = await service.store.agent_by_token("token-maya")
        assert agent is not None
        await service.agent_reply(left["ticket_id"], agent, "Hello Dana")
        assert service.email_replies is not None
        await service.email_replies.drain()
        assert [m["To"] for m in smtp.messages] == ["dana@example.com"]
