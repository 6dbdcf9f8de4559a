"""Persistence of agents, tickets, messages and lifecycle events.

SQLAlchemy 1.4 Core over an async engine: SQLite through aiosqlite by default
(`handover.db` next to the bot), PostgreSQL through asyncpg when several inbox or
Rasa replicas share one database.

Every state change is a single conditional `UPDATE ... WHERE <expected state>`
plus the `LifecycleEvent` it causes, in one transaction. The condition, not a
prior read, decides who wins a race, so two replicas can never both accept the
same ticket. Ticket creation is idempotent per `(conversation_id, attempt)`
through a unique constraint, which holds across processes.

Where to look:

* `schema`: the tables; `migrations`: the schema version and the numbered
  migrations every start runs; `engine`: database URLs and the async engine;
  `rows`: rows to dataclasses; `base`: transactions and shared lookups;
  `group_commit`: on an SQLite file, the relayed messages and the ticket
  reads of many callers in one transaction on one thread.
* `agents`, `tickets` (creation, queues), `transitions` (assign, claim,
  resolve, transfer, ...), `expiry` (idle tickets), `messages`, `events`
  (event stream, statistics, outcomes), `deliveries` (each channel's cursor
  and its delivery lease), `replay` (nonces and stream tickets used once
  across replicas): the parts `InboxStore` is made of.
"""

from rasa_handover.inbox.store.agents import AgentStore, hash_token
from rasa_handover.inbox.store.base import Change, utcnow
from rasa_handover.inbox.store.deliveries import DELIVERY_PAGE_SIZE, DeliveryStore
from rasa_handover.inbox.store.engine import SQLITE_BUSY_TIMEOUT_SECONDS, to_async_url
from rasa_handover.inbox.store.events import EVENTS_PAGE_SIZE, EventStore
from rasa_handover.inbox.store.expiry import ExpiryStore
from rasa_handover.inbox.store.messages import MessageStore
from rasa_handover.inbox.store.migrations import SCHEMA_VERSION, SchemaVersionError
from rasa_handover.inbox.store.replay import ReplayStore
from rasa_handover.inbox.store.schema import (
    agents_table,
    events_table,
    messages_table,
    metadata,
    tickets_table,
)
from rasa_handover.inbox.store.tickets import TicketStore
from rasa_handover.inbox.store.transitions import TransitionStore


class InboxStore(
    AgentStore,
    TicketStore,
    TransitionStore,
    ExpiryStore,
    MessageStore,
    EventStore,
    DeliveryStore,
    ReplayStore,
):
    """The inbox's database.

    Call `await create_all()` once before use and `await close()` at shutdown.
    """


__all__ = [
    "DELIVERY_PAGE_SIZE",
    "EVENTS_PAGE_SIZE",
    "SCHEMA_VERSION",
    "SQLITE_BUSY_TIMEOUT_SECONDS",
    "Change",
    "InboxStore",
    "SchemaVersionError",
    "agents_table",
    "events_table",
    "hash_token",
    "messages_table",
    "metadata",
    "tickets_table",
    "to_async_url",
    "utcnow",
]
