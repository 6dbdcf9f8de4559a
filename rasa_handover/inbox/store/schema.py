"""The tables: agents, tickets, messages, events, channel cursors, used nonces."""

import sqlalchemy as sa

from rasa_handover.inbox.limits import MAX_CHANNEL_URL_CHARS
from rasa_handover.limits import MAX_CLIENT_MESSAGE_ID_CHARS

# Column sizes: generous for ids from any channel, bounded for indexes.
_ID_LENGTH = 255

_SHORT_LENGTH = 64

_NAME_LENGTH = 255

_HASH_LENGTH = 64

# Ticket, message and event ids (and the columns that hold one, and handover
# attempts): 64-bit on PostgreSQL since schema version 2. On SQLite an INTEGER
# is already 64-bit, and only `INTEGER PRIMARY KEY` numbers rows by itself.
_ID_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData()

agents_table = sa.Table(
    "handover_agents",
    metadata,
    sa.Column("id", sa.String(_SHORT_LENGTH), primary_key=True),
    sa.Column("name", sa.String(_NAME_LENGTH), nullable=False),
    sa.Column("token_hash", sa.String(_HASH_LENGTH), nullable=False, unique=True),
    sa.Column("teams", sa.JSON, nullable=False),
    sa.Column("languages", sa.JSON, nullable=False),
    sa.Column("tier", sa.String(_SHORT_LENGTH), nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("online", sa.Boolean, nullable=False, default=False),
    sa.Column("last_seen", sa.DateTime(timezone=True)),
)

tickets_table = sa.Table(
    "handover_tickets",
    metadata,
    sa.Column("id", _ID_TYPE, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(_ID_LENGTH), nullable=False, index=True),
    sa.Column("attempt", _ID_TYPE, nullable=False),
    sa.Column("status", sa.String(_SHORT_LENGTH), nullable=False),
    sa.Column("team", sa.String(_SHORT_LENGTH), nullable=False),
    sa.Column("language", sa.String(_SHORT_LENGTH)),
    sa.Column("tier", sa.String(_SHORT_LENGTH), nullable=False),
    sa.Column("channel", sa.String(_SHORT_LENGTH)),
    sa.Column("reason", sa.String(_SHORT_LENGTH)),
    sa.Column("customer_name", sa.String(_NAME_LENGTH)),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("agent_id", sa.String(_SHORT_LENGTH), index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("assigned_at", sa.DateTime(timezone=True)),
    sa.Column("accepted_at", sa.DateTime(timezone=True)),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.Column("estimated_wait_seconds", sa.Integer),
    sa.Column("no_agent_reason", sa.String(_SHORT_LENGTH)),
    sa.Column("callback", sa.JSON),
    sa.Column("outcome", sa.String(_SHORT_LENGTH)),
    sa.Column("outcome_note", sa.Text),
    # The intent the customer really had, as the resolving agent corrected it.
    sa.Column("outcome_intent", sa.String(_NAME_LENGTH)),
    # The customer's answer to the CSAT question after the handback (1-5).
    sa.Column("csat", sa.Integer),
    # The retry key: a channel that retries a handover gets the same ticket.
    sa.UniqueConstraint("conversation_id", "attempt", name="uq_handover_attempt"),
    sa.Index("ix_handover_tickets_queue", "status", "team"),
)


def _ticket_id_column() -> sa.Column:
    """The ticket a message or event belongs to (deleted with the ticket)."""
    return sa.Column(
        "ticket_id",
        _ID_TYPE,
        sa.ForeignKey("handover_tickets.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


messages_table = sa.Table(
    "handover_messages",
    metadata,
    sa.Column("id", _ID_TYPE, primary_key=True, autoincrement=True),
    _ticket_id_column(),
    sa.Column("sender", sa.String(_SHORT_LENGTH), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("agent_name", sa.String(_NAME_LENGTH)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # The sender's idempotency key (`contract.CLIENT_MESSAGE_ID`): a retry of
    # the message finds it instead of storing it again. None: sent without
    # one (and every message stored before schema version 3).
    sa.Column("client_message_id", sa.String(MAX_CLIENT_MESSAGE_ID_CHARS)),
    # Schema version 3; NULLs never collide.
    sa.Index(
        "uq_handover_messages_client_id",
        "ticket_id",
        "client_message_id",
        unique=True,
    ),
)

events_table = sa.Table(
    "handover_events",
    metadata,
    sa.Column("id", _ID_TYPE, primary_key=True, autoincrement=True),
    _ticket_id_column(),
    sa.Column("type", sa.String(_SHORT_LENGTH), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# Where a standalone inbox is with each channel: the id of the last event the
# channel acknowledged (`notifier`). One row per channel webhook URL.
channel_cursors_table = sa.Table(
    "handover_channel_cursors",
    metadata,
    sa.Column("channel_url", sa.String(MAX_CHANNEL_URL_CHARS), primary_key=True),
    sa.Column("last_event_id", _ID_TYPE, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # The replica delivering this channel's events, and until when (`deliveries`).
    sa.Column("leased_by", sa.String(_NAME_LENGTH)),
    sa.Column("lease_until", sa.DateTime(timezone=True)),
)

# Values that may be used once across every replica sharing the database: the
# nonces of signed channel calls and the redeemed stream tickets (`replay`).
# A row is kept until its value could no longer be accepted anyway.
used_once_table = sa.Table(
    "handover_used_once",
    metadata,
    sa.Column("kind", sa.String(_SHORT_LENGTH), primary_key=True),
    sa.Column("value", sa.String(_SHORT_LENGTH * 2), primary_key=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
)

# The schema version of the tables above (one row; `migrations`).
schema_version_table = sa.Table(
    "handover_schema_version",
    metadata,
    sa.Column("version", sa.Integer, nullable=False),
)
