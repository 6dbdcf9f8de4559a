"""No outbox item cuts a conversation off (issue 11, Medium 6).

The relay runs with the real embedded inbox on SQLite and on PostgreSQL
(`HANDOVER_TEST_POSTGRES_URL`), the real outbox file, and a collecting output
for what the customer is told. Before: a lone surrogate or a value too long
for PostgreSQL raised in the store, was taken for an outage, and every later
message of that customer waited behind it forever.
"""

import sqlite3
from pathlib import Path
from typing import Any, AsyncIterator, List, Optional

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from rasa_handover.channels.inbox_client import EmbeddedInboxClient, HttpInboxClient
from rasa_handover.channels.outbox import KIND_RELAY, Outbox
from rasa_handover.channels.relay import HandoverRelay
from rasa_handover.inbox.config import InboxConfig
from rasa_handover.inbox.service import InboxService
from rasa_handover.inbox.signing import SigningKeys
from rasa_handover.limits import MAX_OUTBOX_ATTEMPTS
from tests.inbox.conftest import POSTGRES_SKIP_REASON, PostgresSchemas, postgres_url
from tests.test_channel_inbox import TEMPLATES, handover_message

FAILED_TEXT = "Sorry, please email help@example.com."
# What follows it when the inbox is known to offer callbacks (its default).
CALLBACK_OFFER = TEMPLATES["utter_handover_alternatives_callback"]["text"]


class Setup:
    def __init__(self, relay: HandoverRelay, told: CollectingOutputChannel) -> None:
        self.relay = relay
        self.told = told

    @property
    def outbox(self) -> Outbox:
        assert self.relay.outbox is not None
        return self.relay.outbox

    def told_texts(self) -> List[str]:
        return [m["text"] for m in self.told.messages]


def relay_for(tmp_path: Path, max_attempts: int = MAX_OUTBOX_ATTEMPTS) -> Setup:
    told = CollectingOutputChannel()

    async def active(_: str) -> bool:
        return True

    async def to_rasa(_: UserMessage) -> None:
        pass

    relay = HandoverRelay("handover", lambda: told, active, "help@example.com")
    relay.outbox = Outbox(str(tmp_path / "outbox.db"), max_attempts=max_attempts)
    relay.on_new_message = to_rasa
    return Setup(relay, told)


@pytest.fixture(params=["sqlite", "postgresql"])
async def embedded(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Any]:
    schemas: Optional[PostgresSchemas] = None
    if request.param == "sqlite":
        service = InboxService.from_config(
            InboxConfig(), f"sqlite:///{tmp_path / 'handover.db'}"
        )
    else:
        url = postgres_url()
        if url is None:
            pytest.skip(POSTGRES_SKIP_REASON)
        schemas = PostgresSchemas(url)
        service = InboxService.from_config(InboxConfig(), url, await schemas.new())
    await service.start()
    setup = relay_for(tmp_path)
    setup.relay.client = EmbeddedInboxClient(service)
    setup.service = service  # type: ignore[attr-defined]
    setup.database = request.param  # type: ignore[attr-defined]
    yield setup
    setup.outbox.close()
    await service.close()
    if schemas is not None:
        await schemas.drop_all()


async def test_a_lone_surrogate_is_stored_as_the_replacement_character(
    embedded: Any,
) -> None:
    relay = embedded.relay
    await relay.handle_plugin_message("c1", handover_message(), embedded.told)
    await relay.relay_to_inbox("c1", "half an emoji \ud83d")
    await relay.relay_to_inbox("c1", "and the next message")
    assert embedded.outbox.pending_count() == 0
    ticket = await embedded.service.store.active_ticket_for_conversation("c1")
    stored = [m.text for m in await embedded.service.store.messages(ticket.id)]
    assert stored[-2:] == ["half an emoji \ufffd", "and the next message"]


async def test_a_value_the_database_refuses_is_not_an_outage(embedded: Any) -> None:
    message = handover_message()
    message["payload"]["customer"] = {"name": "N" * 300}  # the column holds 255
    await embedded.relay.handle_plugin_message("c1", message, embedded.told)
    # Never retried forever, never holding back the conversation's next messages.
    assert embedded.outbox.pending_count() == 0
    await embedded.relay.relay_to_inbox("c1", "hello?")
    assert embedded.outbox.pending_count() == 0
    if embedded.database == "postgresql":  # SQLite stores any length
        assert embedded.told_texts() == [FAILED_TEXT]


def make_due(outbox: Outbox) -> None:
    """The backoff is in the items: make them due now."""
    outbox._db.execute("UPDATE outbox SET next_attempt_at = 0")


async def test_an_item_that_keeps_failing_becomes_a_dead_letter(
    tmp_path: Path,
) -> None:
    setup = relay_for(tmp_path, max_attempts=3)
    # A real outage: nothing listens there.
    setup.relay.client = HttpInboxClient(
        "http://127.0.0.1:9/inbox", SigningKeys("a" * 32, "b" * 32)
    )
    await setup.relay.handle_plugin_message("c1", handover_message(), setup.told)
    assert setup.outbox.pending_count() == 1
    for _ in range(3):
        make_due(setup.outbox)
        assert await setup.relay.retry_outbox() == 0
    assert setup.outbox.pending_count() == 0
    [dead] = setup.outbox.dead_letters()
    assert dead.conversation_id == "c1"
    assert dead.last_error is not None
    assert dead.last_error.startswith("gave up after 3 attempts: ")
    # Told about the delay, then (once) that it failed, with the alternatives.
    assert setup.told_texts() == ["Trouble reaching our team.", FAILED_TEXT]
    # The conversation is not blocked: its next request is tried at once.
    assert not setup.outbox.has_pending("c1")
    setup.outbox.close()


async def test_a_rejected_item_is_a_dead_letter_and_the_customer_is_told(
    tmp_path: Path,
) -> None:
    setup = relay_for(tmp_path)
    service = InboxService.from_config(
        InboxConfig(), f"sqlite:///{tmp_path / 'handover.db'}"
    )
    await service.start()
    setup.relay.client = EmbeddedInboxClient(service)
    await setup.relay.handle_plugin_message("c1", handover_message(), setup.told)
    # A relayed message the inbox will refuse every time (empty text).
    setup.outbox.add(KIND_RELAY, "c1", {"text": ""})
    await setup.relay.retry_outbox()
    assert setup.outbox.pending_count() == 0
    [dead] = setup.outbox.dead_letters()
    assert dead.last_error is not None
    assert dead.last_error.startswith("rejected by the inbox: ")
    # The inbox said it offers callbacks (the handover's answer): offered too.
    assert setup.told_texts()[-2:] == [FAILED_TEXT, CALLBACK_OFFER]
    setup.outbox.close()
    await service.close()


def test_an_outbox_file_from_before_dead_letters_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT "
        "NULL, conversation_id TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER "
        "NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL, created_at REAL NOT "
        "NULL, delivered_at REAL, last_error TEXT, customer_notified INTEGER NOT "
        "NULL DEFAULT 0);"
        "INSERT INTO outbox (kind, conversation_id, body, next_attempt_at, "
        "created_at) VALUES ('relay', 'c1', '{\"text\": \"hi\"}', 0, 0);"
    )
    old.commit()
    old.close()
    outbox = Outbox(str(path), max_attempts=1)
    [item] = outbox.due()
    assert item.body == {"text": "hi"}
    assert outbox.failed(item.id, "down") == 1
    assert [d.id for d in outbox.dead_letters()] == [item.id]
    assert outbox.due(now=float("inf")) == []
    outbox.close()
