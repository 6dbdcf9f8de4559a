"""A ticket's state changes, each one conditional `UPDATE` plus its event.

The condition, not a prior read, decides who wins a race: two replicas can
never both accept the same ticket.
"""

from typing import Any, Mapping, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from rasa_handover.inbox.access import TicketScope
from rasa_handover.inbox.contract import (
    EVENT_ACCEPTED,
    EVENT_ASSIGNED,
    EVENT_EXPIRED,
    EVENT_FAILED,
    EVENT_QUEUED,
    EVENT_RESOLVED,
    EVENT_TRANSFERRED,
)
from rasa_handover.inbox.errors import (
    AtCapacityError,
    ConflictError,
    NotFoundError,
    ValidationError,
)
from rasa_handover.inbox.models import (
    LOAD_STATUSES,
    OPEN_STATUSES,
    OUTCOMES,
    STATUS_ACTIVE,
    STATUS_ASSIGNED,
    STATUS_CALLBACK,
    STATUS_EXPIRED,
    STATUS_FAILED,
    STATUS_RESOLVED,
    STATUS_WAITING,
)
from rasa_handover.inbox.store.base import Change, StoreBase
from rasa_handover.inbox.store.schema import agents_table, tickets_table

# Statuses from which an agent may take a ticket (plus "assigned to them").
_CLAIMABLE = (STATUS_WAITING, STATUS_CALLBACK)

# Statuses in which a ticket can still be resolved, transferred or expired.
_UNFINISHED = (*OPEN_STATUSES, STATUS_CALLBACK)


def _has_capacity(agent_id: str) -> Any:
    """The agent's open tickets are fewer than their capacity (one SQL condition)."""
    held = tickets_table.alias("held")
    load = (
        sa.select(sa.func.count())
        .select_from(held)
        .where(held.c.agent_id == agent_id, held.c.status.in_(LOAD_STATUSES))
        .scalar_subquery()
    )
    capacity = (
        sa.select(agents_table.c.capacity)
        .where(agents_table.c.id == agent_id)
        .scalar_subquery()
    )
    return load < capacity


def _in_scope(scope: Optional[TicketScope]) -> Any:
    """The team condition of an agent's operation: a team they may work, or theirs."""
    table = tickets_table
    if scope is None or scope.teams is None:
        return sa.true()
    return sa.or_(table.c.team.in_(scope.teams), table.c.agent_id == scope.agent_id)


def _not_a_colleagues(scope: Optional[TicketScope], agent_id: Optional[str]) -> Any:
    """Nobody acts on a ticket a colleague holds (supervisors excepted).

    Without a scope (the system, or an agent's call from code that checked
    nothing) only a colleague's *active* ticket is protected.
    """
    table = tickets_table
    if scope is not None and scope.supervisor:
        return sa.true()
    if scope is None:
        if agent_id is None:
            return sa.true()
        return sa.or_(table.c.status != STATUS_ACTIVE, table.c.agent_id == agent_id)
    return sa.or_(table.c.agent_id.is_(None), table.c.agent_id == scope.agent_id)


class TransitionStore(StoreBase):
    """Assign, claim, resolve, transfer, requeue, callback, expire."""

    async def assign(
        self,
        ticket_id: int,
        agent_id: str,
        routing: Optional[Mapping[str, Any]] = None,
    ) -> Change:
        """Routes a waiting ticket to an agent (who still has to accept it).

        Args:
            ticket_id: The ticket.
            agent_id: The agent.
            routing: How the router found the agent (`rule`, `routed_via`),
                kept in the `assigned` event as evidence.

        Returns:
            The change.

        The agent's capacity is a condition of the same `UPDATE`, after a row
        lock on the agent (PostgreSQL; SQLite has one writer at a time), so
        concurrent handovers never give an agent more tickets than capacity.

        Raises:
            NotFoundError: unknown ticket.
            ConflictError: the ticket is no longer waiting, or the agent is at
                capacity (or unknown).

        """
        table = tickets_table
        async with self._transaction() as conn:
            # Assignments to one agent queue here until the previous commits.
            await conn.execute(
                sa.select(agents_table.c.id)
                .where(agents_table.c.id == agent_id)
                .with_for_update()
            )
            result = await conn.execute(
                table.update()
                .where(
                    table.c.id == ticket_id,
                    table.c.status == STATUS_WAITING,
                    _has_capacity(agent_id),
                )
                .values(
                    status=STATUS_ASSIGNED,
                    agent_id=agent_id,
                    assigned_at=self.clock(),
                    no_agent_reason=None,
                )
            )
            if not result.rowcount:
                current = await self._ticket_in(conn, ticket_id)
                if current is not None and current.status == STATUS_WAITING:
                    raise AtCapacityError(
                        f"cannot assign ticket {ticket_id}: agent '{agent_id}' "
                        "is at capacity",
                        "agent_id",
                    )
                raise await self._refusal(conn, ticket_id, "assign")
            event = await self._append_event(
                conn,
                ticket_id,
                EVENT_ASSIGNED,
                {
                    **dict(routing or {}),
                    "agent_id": agent_id,
                    "agent_name": await self._name(conn, agent_id),
                },
            )
        return Change(await self.require_ticket(ticket_id), event)

    async def claim(
        self, ticket_id: int, agent_id: str, scope: Optional[TicketScope] = None
    ) -> Change:
        """An agent takes a ticket: waiting, a callback, or assigned to them.

        Args:
            ticket_id: The ticket.
            agent_id: The agent.
            scope: The team condition (see `access`); a supervisor's scope also
                takes a ticket assigned to a colleague who has not accepted it.

        Returns:
            The change (`event` is None if the agent already held the ticket).

        Raises:
            NotFoundError: unknown ticket.
            ConflictError: another agent holds it, or it is finished.

        """
        table = tickets_table
        now = self.clock()
        async with self._transaction() as conn:
            result = await conn.execute(
                table.update()
                .where(
                    table.c.id == ticket_id,
                    _in_scope(scope),
                    sa.or_(
                        table.c.status.in_(_CLAIMABLE),
                        sa.and_(
                            table.c.status == STATUS_ASSIGNED,
                            sa.true()
                            if scope is not None and scope.supervisor
                            else table.c.agent_id == agent_id,
                        ),
                    ),
                )
                .values(
                    status=STATUS_ACTIVE,
                    agent_id=agent_id,
                    assigned_at=sa.func.coalesce(table.c.assigned_at, now),
                    accepted_at=now,
                    no_agent_reason=None,
                )
            )
            if not result.rowcount:
                return await self._repeated_or_refused(
                    conn, ticket_id, agent_id, STATUS_ACTIVE, "claim", scope
                )
            event = await self._append_event(
                conn,
                ticket_id,
                EVENT_ACCEPTED,
                {"agent_id": agent_id, "agent_name": await self._name(conn, agent_id)},
            )
        return Change(await self.require_ticket(ticket_id), event)

    async def resolve(
        self,
        ticket_id: int,
        agent_id: str,
        outcome: Optional[str],
        note: Optional[str] = None,
        scope: Optional[TicketScope] = None,
        intent: Optional[str] = None,
    ) -> Change:
        """Closes a ticket with the agent's verdict on the escalation.

        Args:
            ticket_id: The ticket.
            agent_id: The resolving agent.
            outcome: One of `OUTCOMES`, or None: resolved without a label.
            note: Free text for tuning and reports.
            scope: The team condition (see `access`).
            intent: The intent the customer really had, if the agent says so
                (`rasa-handover export` turns it into NLU examples).

        Returns:
            The change (`event` is None if this agent had already resolved it).

        Raises:
            ValidationError: unknown outcome label.
            NotFoundError: unknown ticket.
            ConflictError: another agent is handling it, or it is finished.

        """
        if outcome is not None and outcome not in OUTCOMES:
            raise ValidationError(
                f"outcome must be one of {', '.join(OUTCOMES)} (or left out to "
                f"resolve without a label), got '{outcome}'",
                "outcome",
            )
        table = tickets_table
        async with self._transaction() as conn:
            result = await conn.execute(
                table.update()
                .where(
                    table.c.id == ticket_id,
                    table.c.status.in_(_UNFINISHED),
                    _in_scope(scope),
                    # Nobody closes a conversation a colleague is in the middle of.
                    _not_a_colleagues(scope, agent_id),
                )
                .values(
                    status=STATUS_RESOLVED,
                    agent_id=agent_id,
                    resolved_at=self.clock(),
                    outcome=outcome,
                    outcome_note=note,
                    outcome_intent=intent,
                )
            )
            if not result.rowcount:
                return await self._repeated_or_refused(
                    conn, ticket_id, agent_id, STATUS_RESOLVED, "resolve", scope
                )
            event = await self._append_event(
                conn,
                ticket_id,
                EVENT_RESOLVED,
                {
                    "agent_id": agent_id,
                    "agent_name": await self._name(conn, agent_id),
                    "outcome": outcome,
                    "note": note,
                    "intent": intent,
                },
            )
        return Change(await self.require_ticket(ticket_id), event)

    async def transfer(
        self,
        ticket_id: int,
        team: str,
        agent_id: Optional[str] = None,
        scope: Optional[TicketScope] = None,
    ) -> Change:
        """Moves a ticket to another team's queue (it waits there again).

        Args:
            ticket_id: The ticket.
            team: The new team.
            agent_id: Who transfers it (None: the system).
            scope: The team condition (see `access`).

        Returns:
            The change.

        Raises:
            ValidationError: empty team.
            NotFoundError: unknown ticket.
            ConflictError: finished, or another agent is handling it.

        """
        if not team:
            raise ValidationError("team must not be empty", "team")
        table = tickets_table
        async with self._transaction() as conn:
            before = await self._ticket_in(conn, ticket_id)
            condition = [
                table.c.id == ticket_id,
                table.c.status.in_(_UNFINISHED),
                _in_scope(scope),
                _not_a_colleagues(scope, agent_id),
            ]
            result = await conn.execute(
                table.update()
                .where(*condition)
                .values(
                    status=STATUS_WAITING,
                    team=team,
                    agent_id=None,
                    assigned_at=None,
                    accepted_at=None,
                )
            )
            if not result.rowcount or before is None:
                raise await self._refusal(conn, ticket_id, "transfer", scope)
            event = await self._append_event(
                conn,
                ticket_id,
                EVENT_TRANSFERRED,
                {
                    "from_team": before.team,
                    "to_team": team,
                    "agent_id": agent_id,
                    "agent_name": await self._name(conn, agent_id),
                },
            )
        return Change(await self.require_ticket(ticket_id), event)

    async def requeue(self, ticket_id: int, reason: str) -> Change:
        """Puts an assigned (not yet accepted) ticket back into its queue.

        Args:
            ticket_id: The ticket.
            reason: Why, e.g. "agent_offline" (stored in the `queued` event).

        Returns:
            The change.

        Raises:
            NotFoundError: unknown ticket.
            ConflictError: the ticket is not assigned.

        """
        table = tickets_table
        async with self._transaction() as conn:
            result = await conn.execute(
                table.update()
                .where(table.c.id == ticket_id, table.c.status == STATUS_ASSIGNED)
                .values(status=STATUS_WAITING, agent_id=None, assigned_at=None)
            )
            if not result.rowcount:
                raise await self._refusal(conn, ticket_id, "requeue")
            event = await self._append_event(
                conn, ticket_id, EVENT_QUEUED, {"reason": reason}
            )
        return Change(await self.require_ticket(ticket_id), event)

    async def mark_queued(
        self,
        ticket_id: int,
        no_agent_reason: Optional[str],
        estimated_wait_seconds: Optional[int],
        notes: Sequence[str] = (),
        reason: Optional[str] = None,
    ) -> Change:
        """Records that a ticket waits in its queue, and why.

        Args:
            ticket_id: The ticket.
            no_agent_reason: Why no agent was assigned.
            estimated_wait_seconds: The wait told to the customer.
            notes: Routing notes for the agents.
            reason: Why it is (back) in the queue, e.g. "agent_away".

        Returns:
            The change.

        """
        table = tickets_table
        async with self._transaction() as conn:
            await conn.execute(
                table.update()
                .where(table.c.id == ticket_id)
                .values(
                    no_agent_reason=no_agent_reason,
                    estimated_wait_seconds=estimated_wait_seconds,
                )
            )
            event = await self._append_event(
                conn,
                ticket_id,
                EVENT_QUEUED,
                {
                    **({"reason": reason} if reason else {}),
                    "no_agent_reason": no_agent_reason,
                    "estimated_wait_seconds": estimated_wait_seconds,
                    "notes": list(notes),
                },
            )
        return Change(await self.require_ticket(ticket_id), event)

    async def set_estimate(self, ticket_id: int, seconds: Optional[int]) -> None:
        """Remembers the wait estimate last told to the customer (no event)."""
        async with self._transaction() as conn:
            await conn.execute(
                tickets_table.update()
                .where(tickets_table.c.id == ticket_id)
                .values(estimated_wait_seconds=seconds)
            )

    async def set_callback(self, ticket_id: int, callback: Mapping[str, Any]) -> Change:
        """Turns an open ticket into a callback request.

        Args:
            ticket_id: The ticket.
            callback: `{"when": ..., "contact": ...}`.

        Returns:
            The change (a `queued` event carrying the callback).

        Raises:
            NotFoundError: unknown ticket.
            ConflictError: the ticket is finished.

        """
        table = tickets_table
        async with self._transaction() as conn:
            result = await conn.execute(
                table.update()
                .where(table.c.id == ticket_id, table.c.status.in_(_UNFINISHED))
                .values(
                    status=STATUS_CALLBACK,
                    callback=dict(callback),
                    agent_id=None,
                    assigned_at=None,
                    accepted_at=None,
                )
            )
            if not result.rowcount:
                raise await self._refusal(conn, ticket_id, "schedule a callback for")
            event = await self._append_event(
                conn, ticket_id, EVENT_QUEUED, {"callback": dict(callback)}
            )
        return Change(await self.require_ticket(ticket_id), event)

    async def set_reply_by_email(
        self, ticket_id: int, details: Mapping[str, Any]
    ) -> Change:
        """Marks an open ticket as async: it stays queued, replies go by e-mail.

        Args:
            ticket_id: The ticket.
            details: `{"kind": "email", "contact": address, ...}` (the ticket's
                `callback` field).

        Returns:
            The change (a `queued` event carrying the details).

        Raises:
            NotFoundError: unknown ticket.
            ConflictError: the ticket is not open.

        """
        table = tickets_table
        async with self._transaction() as conn:
            result = await conn.execute(
                table.update()
                .where(table.c.id == ticket_id, table.c.status.in_(OPEN_STATUSES))
                .values(callback=dict(details))
            )
            if not result.rowcount:
                raise await self._refusal(conn, ticket_id, "leave a message on")
            event = await self._append_event(
                conn, ticket_id, EVENT_QUEUED, {"reply_by_email": dict(details)}
            )
        return Change(await self.require_ticket(ticket_id), event)

    async def finish(self, ticket_id: int, status: str, reason: str) -> Change:
        """Ends an unfinished ticket as `expired` or `failed`.

        Args:
            ticket_id: The ticket.
            status: `STATUS_EXPIRED` or `STATUS_FAILED`.
            reason: Why (stored in the event).

        Returns:
            The change.

        Raises:
            ValidationError: another status.
            NotFoundError: unknown ticket.
            ConflictError: already finished.

        """
        events = {STATUS_EXPIRED: EVENT_EXPIRED, STATUS_FAILED: EVENT_FAILED}
        if status not in events:
            raise ValidationError("status must be expired or failed", "status")
        table = tickets_table
        async with self._transaction() as conn:
            result = await conn.execute(
                table.update()
                .where(table.c.id == ticket_id, table.c.status.in_(_UNFINISHED))
                .values(status=status, resolved_at=self.clock())
            )
            if not result.rowcount:
                raise await self._refusal(conn, ticket_id, f"mark {status}")
            event = await self._append_event(
                conn, ticket_id, events[status], {"reason": reason}
            )
        return Change(await self.require_ticket(ticket_id), event)

    async def _repeated_or_refused(
        self,
        conn: AsyncConnection,
        ticket_id: int,
        agent_id: str,
        status: str,
        action: str,
        scope: Optional[TicketScope] = None,
    ) -> Change:
        """A repeated request by the same agent is a no-op; anything else refused."""
        current = await self._ticket_in(conn, ticket_id)
        if (
            current is not None
            and current.status == status
            and current.agent_id == agent_id
        ):
            return Change(current, None)
        raise await self._refusal(conn, ticket_id, action, scope)

    async def _refusal(
        self,
        conn: AsyncConnection,
        ticket_id: int,
        operation: str,
        scope: Optional[TicketScope] = None,
    ) -> Exception:
        """The error explaining why a conditional update changed nothing.

        A ticket outside the scope's teams is unknown to that agent (404).
        """
        current = await self._ticket_in(conn, ticket_id)
        outside = (
            current is not None
            and scope is not None
            and scope.teams is not None
            and current.team not in scope.teams
            and current.agent_id != scope.agent_id
        )
        if current is None or outside:
            return NotFoundError(f"unknown ticket {ticket_id}", "ticket_id")
        holder = f" by agent '{current.agent_id}'" if current.agent_id else ""
        return ConflictError(
            f"cannot {operation} ticket {ticket_id}: it is {current.status}{holder}",
            "ticket_id",
        )
