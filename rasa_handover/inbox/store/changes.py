"""Telling every replica that an event was written: PostgreSQL `NOTIFY`.

Each transaction that appends a lifecycle event also sends a notification on
the store's channel (`change_channel`); PostgreSQL delivers it when (and only
if) the transaction commits, to every connection listening on that channel,
whatever replica it belongs to (`inbox.change_feed` listens). SQLite has no
such thing, and needs none: one process writes it.
"""

from typing import Optional

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

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


async def notify_change(conn: AsyncConnection, channel: str) -> None:
    """Sends the notification; delivered when `conn`'s transaction commits."""
    await conn.execute(sa.select(sa.func.pg_notify(channel, "")))
