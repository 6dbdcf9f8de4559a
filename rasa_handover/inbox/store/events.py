"""Reading lifecycle events back: the agents' event stream, pickup times, outcomes."""

from datetime import datetime
from typing import Callable, Dict, Iterable, List, Optional

import sqlalchemy as sa

from rasa_handover.inbox.contract import EVENT_TRANSFERRED, SENDER_AGENT
from rasa_handover.inbox.models import STATUS_RESOLVED, LifecycleEvent, OutcomeRecord
from rasa_handover.inbox.store.base import StoreBase
from rasa_handover.inbox.store.rows import event_from_row, outcome_from_row, utc
from rasa_handover.inbox.store.schema import (
    events_table,
    messages_table,
    tickets_table,
)
from rasa_handover.inbox.wait_estimate import PICKUP_SAMPLE_SIZE

# Upper bound on events returned by one `events()` call (SSE catch-up pages).
EVENTS_PAGE_SIZE = 500


class EventStore(StoreBase):
    """Events, statistics and outcome labels: their part of `InboxStore`."""

    async def events(
        self,
        after_id: int = 0,
        ticket_id: Optional[int] = None,
        teams: Optional[Iterable[str]] = None,
        agent_id: Optional[str] = None,
        limit: int = EVENTS_PAGE_SIZE,
    ) -> List[LifecycleEvent]:
        """Lifecycle events after a cursor, oldest first.

        Args:
            after_id: The last event id already seen.
            ticket_id: Only this ticket's events.
            teams: Only events of tickets now in these teams (plus, with
                `agent_id`, of tickets that agent holds).
            agent_id: See `teams`.
            limit: At most this many.

        Returns:
            The events.

        """
        events, tickets = events_table, tickets_table
        query = sa.select(events).where(events.c.id > after_id)
        if ticket_id is not None:
            query = query.where(events.c.ticket_id == ticket_id)
        if teams is not None:
            scope = tickets.c.team.in_(list(teams))
            if agent_id is not None:
                scope = sa.or_(scope, tickets.c.agent_id == agent_id)
            query = query.join(tickets, tickets.c.id == events.c.ticket_id).where(scope)
        query = query.order_by(events.c.id).limit(limit)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [event_from_row(row) for row in rows]

    async def transferred_by(self, ticket_ids: Iterable[int]) -> Dict[int, str]:
        """Who last transferred each of these tickets away.

        Tickets never transferred by an agent are left out.
        """
        wanted = list(ticket_ids)
        if not wanted:
            return {}
        table = events_table
        query = (
            sa.select(table.c.ticket_id, table.c.data)
            .where(table.c.type == EVENT_TRANSFERRED, table.c.ticket_id.in_(wanted))
            .order_by(table.c.id)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        found: Dict[int, str] = {}
        for row in rows:
            agent_id = (row.data or {}).get("agent_id")
            if agent_id:
                found[int(row.ticket_id)] = str(agent_id)
        return found

    async def recent_pickup_seconds(
        self, team: str, limit: int = PICKUP_SAMPLE_SIZE
    ) -> List[float]:
        """How long the team's latest accepted tickets waited, oldest first.

        Args:
            team: The team.
            limit: How many of the latest pickups.

        Returns:
            Seconds from request to acceptance.

        """
        table = tickets_table
        query = (
            sa.select(table.c.created_at, table.c.accepted_at)
            .where(table.c.team == team, table.c.accepted_at.isnot(None))
            .order_by(table.c.accepted_at.desc(), table.c.id.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        waits = []
        for row in reversed(rows):
            created, accepted = utc(row.created_at), utc(row.accepted_at)
            if created is not None and accepted is not None:
                waits.append((accepted - created).total_seconds())
        return waits

    async def outcomes(
        self,
        since: Optional[datetime] = None,
        labelled_only: bool = True,
        resolved_only: bool = True,
        progress: Optional[Callable[[int], Callable[[], None]]] = None,
    ) -> List[OutcomeRecord]:
        """Resolved tickets with their outcome labels, oldest first.

        Args:
            since: Only tickets resolved at or after this time (with
                `resolved_only=False`: requested at or after it).
            labelled_only: Leave out tickets resolved without a label.
            resolved_only: False: every ticket, open ones too, ordered by
                when it was requested (`rasa-handover report`).
            progress: For a progress bar on a long read: called once with the
                number of tickets to read, it returns what to call after each
                ticket read. The rows are then streamed, not fetched at once.

        Returns:
            The outcome records (the input of `rasa-handover tune`), each with
            when an agent first replied.

        """
        table, messages = tickets_table, messages_table
        first_reply = (
            sa.select(sa.func.min(messages.c.created_at))
            .where(
                messages.c.ticket_id == table.c.id,
                messages.c.sender == SENDER_AGENT,
            )
            .scalar_subquery()
            .label("first_reply_at")
        )
        query = sa.select(table, first_reply)
        if resolved_only:
            query = query.where(table.c.status == STATUS_RESOLVED)
        if labelled_only:
            query = query.where(table.c.outcome.isnot(None))
        moment = table.c.resolved_at if resolved_only else table.c.created_at
        if since is not None:
            query = query.where(moment >= since)
        query = query.order_by(moment, table.c.id)
        async with self.engine.connect() as conn:
            if progress is None:
                rows = (await conn.execute(query)).all()
                return [outcome_from_row(row) for row in rows]
            count = sa.select(sa.func.count()).select_from(query.subquery())
            advance = progress(int((await conn.execute(count)).scalar_one()))
            records = []
            async for row in await conn.stream(query):
                records.append(outcome_from_row(row))
                advance()
            return records
