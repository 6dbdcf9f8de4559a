"""Expiring idle tickets: nobody picked them up and nothing happened for a while.

A waiting or assigned (not yet accepted) ticket is idle when it was created or
assigned before the cutoff and no message (customer or agent) was written since.
A message left for a reply by e-mail (an async ticket) never expires: the
customer was told the team will write back, and it waits until an agent does.
Each ticket is ended by one conditional `UPDATE` that repeats the idle
condition, so a ticket accepted or written to meanwhile is left alone, and when
several replicas sweep at once exactly one of them expires it.
"""

from datetime import datetime
from typing import Any, List

import sqlalchemy as sa

from rasa_handover.inbox.contract import EVENT_EXPIRED, REPLY_BY_EMAIL
from rasa_handover.inbox.models import STATUS_ASSIGNED, STATUS_EXPIRED, STATUS_WAITING
from rasa_handover.inbox.store.base import Change, StoreBase
from rasa_handover.inbox.store.schema import messages_table, tickets_table

# Statuses that expire when idle: nobody is talking to the customer yet.
EXPIRING_STATUSES = (STATUS_WAITING, STATUS_ASSIGNED)
# The `reason` of the `expired` event.
EXPIRED_IDLE = "idle"


def _idle_since(cutoff: datetime) -> Any:
    """Waiting or assigned, not async, no newer than `cutoff`, no message since."""
    tickets, messages = tickets_table, messages_table
    recent_message = sa.exists().where(
        messages.c.ticket_id == tickets.c.id, messages.c.created_at >= cutoff
    )
    # JSON_EXTRACT on SQLite, ->> on PostgreSQL; NULL without a callback.
    callback_kind = sa.func.coalesce(tickets.c.callback["kind"].as_string(), "")
    return sa.and_(
        tickets.c.status.in_(EXPIRING_STATUSES),
        callback_kind != REPLY_BY_EMAIL,
        sa.func.coalesce(tickets.c.assigned_at, tickets.c.created_at) < cutoff,
        ~recent_message,
    )


class ExpiryStore(StoreBase):
    """The expiry part of `InboxStore`."""

    async def expire_idle(self, cutoff: datetime, idle_seconds: float) -> List[Change]:
        """Ends every ticket idle since `cutoff` as `expired`.

        The agent a ticket was assigned to gets the capacity back (an expired
        ticket is no longer among their load).

        Args:
            cutoff: Tickets without activity since then expire.
            idle_seconds: The idle time (recorded in the event).

        Returns:
            One change (with its `expired` event) per ticket this call expired.

        """
        table = tickets_table
        async with self.engine.connect() as conn:
            candidates = (
                await conn.execute(
                    sa.select(table.c.id)
                    .where(_idle_since(cutoff))
                    .order_by(table.c.id)
                )
            ).all()
        changes: List[Change] = []
        for (ticket_id,) in candidates:
            async with self._transaction() as conn:
                result = await conn.execute(
                    table.update()
                    .where(table.c.id == ticket_id, _idle_since(cutoff))
                    .values(status=STATUS_EXPIRED, resolved_at=self.clock())
                )
                if not result.rowcount:
                    continue  # Picked up, written to or expired elsewhere.
                event = await self._append_event(
                    conn,
                    ticket_id,
                    EVENT_EXPIRED,
                    {"reason": EXPIRED_IDLE, "idle_seconds": int(idle_seconds)},
                )
            changes.append(Change(await self.require_ticket(ticket_id), event))
        return changes
