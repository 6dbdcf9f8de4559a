"""Telling every replica that an event was written: PostgreSQL `NOTIFY`.

Each `INSERT` of a lifecycle event also sends a notification on the store's
channel (`change_channel`; `announce_change` in its `RETURNING` clause, so it
costs no extra round trip); PostgreSQL delivers it when (and only if) the
transaction commits, to every connection listening on that channel,
whatever replica it belongs to (`inbox.change_feed` listens). SQLite has no
such thing, and needs none: one process writes it.
"""

from typing import Optional

import sqlalchemy as sa

CHANNEL_PREFIX = "rasa_handover_events"
# PostgreSQL's longest channel name (an identifier: 63 bytes).
_MAX_CHANNEL_BYTES = 63


def change_channel(schema: Optional[str]) -> str:
    """The notification channel of the tables in `schema` (None: search path).

    Stores of one schema share a channel; a name cut to PostgreSQL's limit
    may be shared by two schemas, which only wakes a few streams needlessly.
    """
    name = f"{CHANNEL_PREFIX}:{schema}" if schema else CHANNEL_PREFIX
    return name.encode()[:_MAX_CHANNEL_BYTES].decode(errors="ignore")


def announce_change(channel: str) -> sa.sql.ColumnElement:
    """`pg_notify(channel, '')`, for the `RETURNING` clause of an event's `INSERT`.

    The notification is delivered when the transaction commits.
    """
    return sa.func.pg_notify(channel, "")
