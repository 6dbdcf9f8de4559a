"""Tickets: idempotent creation per (conversation, attempt), queues, lookups."""

from datetime import datetime
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from rasa_handover.inbox.contract import CSAT_SCORES, DEFAULT_TEAM, EVENT_REQUESTED
from rasa_handover.inbox.errors import ValidationError
from rasa_handover.inbox.limits import MAX_ID
from rasa_handover.inbox.models import (
    OPEN_STATUSES,
    STATUS_RESOLVED,
    STATUS_WAITING,
    TIER_STANDARD,
    Ticket,
)
from rasa_handover.inbox.store.base import StoreBase
from rasa_handover.inbox.store.rows import utc
from rasa_handover.inbox.store.schema import tickets_table


class TicketStore(StoreBase):
    """Creating and finding tickets: the tickets' part of `InboxStore`."""

    async def create_ticket(
        self,
        conversation_id: str,
        attempt: int,
        payload: Mapping[str, Any],
        team: str = DEFAULT_TEAM,
        language: Optional[str] = None,
        tier: str = TIER_STANDARD,
        channel: Optional[str] = None,
        reason: Optional[str] = None,
        customer_name: Optional[str] = None,
        status: str = STATUS_WAITING,
        callback: Optional[Mapping[str, Any]] = None,
    ) -> Tuple[Ticket, bool]:
        """Creates the ticket for a handover attempt, or returns the existing one.

        Args:
            conversation_id: Rasa's sender id.
            attempt: The handover attempt within the conversation (>= 1).
            payload: The context payload.
            team: The queue.
            language: The customer's language.
            tier: The agent tier wanted.
            channel: The customer's channel.
            reason: The trigger's reason code.
            customer_name: For the agent's greeting.
            status: `waiting`, or `callback` for callback requests.
            callback: The callback request (`when`, `contact`).

        Returns:
            `(ticket, created)`; `created` is False when the attempt already had
            a ticket (a retry), even when the retry raced the first call.

        Raises:
            ValidationError: for an empty conversation id or attempt < 1.

        """
        _check_request(conversation_id, attempt)
        existing = await self._ticket_by_attempt(conversation_id, attempt)
        if existing is not None:
            return existing, False
        now = self.clock()
        try:
            async with self._transaction() as conn:
                result = await conn.execute(
                    tickets_table.insert().values(
                        conversation_id=conversation_id,
                        attempt=attempt,
                        status=status,
                        team=team or DEFAULT_TEAM,
                        language=language,
                        tier=tier,
                        channel=channel,
                        reason=reason,
                        customer_name=customer_name,
                        payload=dict(payload),
                        callback=dict(callback) if callback is not None else None,
                        created_at=now,
                    )
                )
                ticket_id = int(result.inserted_primary_key[0])
                data: Dict[str, Any] = {
                    "conversation_id": conversation_id,
                    "attempt": attempt,
                    "team": team or DEFAULT_TEAM,
                    "reason": reason,
                }
                if callback is not None:
                    data["callback"] = dict(callback)
                await self._append_event(conn, ticket_id, EVENT_REQUESTED, data)
        except IntegrityError:
            # Lost the race against a concurrent retry: the winner's ticket stands.
            existing = await self._ticket_by_attempt(conversation_id, attempt)
            if existing is None:
                raise
            return existing, False
        ticket = await self.get_ticket(ticket_id)
        assert ticket is not None
        return ticket, True

    async def list_queue(
        self,
        teams: Optional[Iterable[str]] = None,
        statuses: Sequence[str] = OPEN_STATUSES,
        agent_id: Optional[str] = None,
    ) -> List[Ticket]:
        """Open tickets, oldest first, waiting ones with their queue position.

        Args:
            teams: Only these teams (None: all teams).
            statuses: Which statuses to list (default: waiting, assigned, active).
            agent_id: Also include this agent's tickets from other teams.

        Returns:
            The tickets.

        """
        table = tickets_table
        condition = table.c.status.in_(list(statuses))
        if teams is not None:
            scope = table.c.team.in_(list(teams))
            if agent_id is not None:
                scope = sa.or_(scope, table.c.agent_id == agent_id)
            condition = sa.and_(condition, scope)
        return await self._tickets(condition)

    async def active_ticket_for_conversation(
        self, conversation_id: str
    ) -> Optional[Ticket]:
        """The conversation's open (waiting, assigned or active) ticket, or None."""
        tickets = await self._tickets(
            sa.and_(
                tickets_table.c.conversation_id == conversation_id,
                tickets_table.c.status.in_(OPEN_STATUSES),
            )
        )
        return tickets[-1] if tickets else None

    async def tickets_for_conversation(self, conversation_id: str) -> List[Ticket]:
        """Every ticket of a conversation, oldest first."""
        return await self._tickets(tickets_table.c.conversation_id == conversation_id)

    async def last_agent_for_conversation(
        self, conversation_id: str
    ) -> Optional[Tuple[str, datetime]]:
        """Who last helped this customer, and when, for routing continuity.

        Args:
            conversation_id: Rasa's sender id.

        Returns:
            `(agent_id, last contact time)` of the latest ticket an agent
            accepted, or None. The contact time is when that ticket was resolved
            (or accepted, if it is still open).

        """
        table = tickets_table
        query = (
            sa.select(table.c.agent_id, table.c.accepted_at, table.c.resolved_at)
            .where(
                table.c.conversation_id == conversation_id,
                table.c.accepted_at.isnot(None),
                table.c.agent_id.isnot(None),
            )
            .order_by(table.c.accepted_at.desc(), table.c.id.desc())
            .limit(1)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        contact = utc(row.resolved_at) or utc(row.accepted_at)
        assert contact is not None
        return str(row.agent_id), contact

    async def record_csat(self, conversation_id: str, score: int) -> Optional[Ticket]:
        """Stores the customer's CSAT score on the latest resolved ticket.

        A later answer replaces an earlier one. Returns the ticket, or None
        when the conversation has no resolved ticket.
        """
        if score not in CSAT_SCORES:
            raise ValidationError(
                f"score must be one of {', '.join(map(str, CSAT_SCORES))}, "
                f"got {score!r}",
                "score",
            )
        table = tickets_table
        latest = (
            sa.select(sa.func.max(table.c.id))
            .where(
                table.c.conversation_id == conversation_id,
                table.c.status == STATUS_RESOLVED,
            )
            .scalar_subquery()
        )
        async with self._transaction() as conn:
            result = await conn.execute(
                table.update().where(table.c.id == latest).values(csat=score)
            )
        if not result.rowcount:
            return None
        tickets = await self._tickets(
            sa.and_(
                table.c.conversation_id == conversation_id,
                table.c.status == STATUS_RESOLVED,
            )
        )
        return tickets[-1]

    async def next_attempt(self, conversation_id: str) -> int:
        """The attempt number a new handover of this conversation should use."""
        query = sa.select(sa.func.max(tickets_table.c.attempt)).where(
            tickets_table.c.conversation_id == conversation_id
        )
        async with self.engine.connect() as conn:
            latest = (await conn.execute(query)).scalar()
        return int(latest or 0) + 1

    async def _ticket_by_attempt(
        self, conversation_id: str, attempt: int
    ) -> Optional[Ticket]:
        tickets = await self._tickets(
            sa.and_(
                tickets_table.c.conversation_id == conversation_id,
                tickets_table.c.attempt == attempt,
            )
        )
        return tickets[0] if tickets else None


def _check_request(conversation_id: str, attempt: int) -> None:
    """Raises `ValidationError` for an empty conversation id or a bad attempt.

    An attempt is from 1 to the largest number its column holds (`MAX_ID`).
    """
    if not conversation_id:
        raise ValidationError("conversation_id must not be empty", "conversation_id")
    if not 1 <= attempt <= MAX_ID:
        raise ValidationError(f"attempt must be from 1 to {MAX_ID}", "attempt")
