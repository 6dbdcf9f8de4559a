"""Database rows to the inbox's dataclasses (`models`), timestamps as UTC."""

from datetime import datetime, timezone
from typing import Optional

from sqlalchemy.engine import Row

from rasa_handover.inbox.models import (
    Agent,
    LifecycleEvent,
    OutcomeRecord,
    Ticket,
    TicketMessage,
)


def utc(moment: Optional[datetime]) -> Optional[datetime]:
    """The moment as timezone-aware UTC (None stays None)."""
    # SQLite hands back naive datetimes; everything the store writes is UTC.
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def agent_from_row(row: Row) -> Agent:
    """An `Agent` from an agents row joined with its load (`active`)."""
    return Agent(
        id=row.id,
        name=row.name,
        token_hash=row.token_hash,
        teams=tuple(row.teams or ()),
        languages=tuple(row.languages or ()),
        tier=row.tier,
        capacity=int(row.capacity),
        online=bool(row.online),
        active_tickets=int(row.active or 0),
        last_seen=utc(row.last_seen),
    )


def ticket_from_row(row: Row, queue_position: Optional[int]) -> Ticket:
    """A `Ticket` from a tickets row, with its queue position."""
    return Ticket(
        id=int(row.id),
        conversation_id=row.conversation_id,
        attempt=int(row.attempt),
        status=row.status,
        team=row.team,
        language=row.language,
        tier=row.tier,
        channel=row.channel,
        reason=row.reason,
        customer_name=row.customer_name,
        payload=dict(row.payload or {}),
        agent_id=row.agent_id,
        created_at=utc(row.created_at),
        assigned_at=utc(row.assigned_at),
        accepted_at=utc(row.accepted_at),
        resolved_at=utc(row.resolved_at),
        queue_position=queue_position,
        estimated_wait_seconds=row.estimated_wait_seconds,
        callback=dict(row.callback) if row.callback is not None else None,
        outcome=row.outcome,
        outcome_note=row.outcome_note,
        no_agent_reason=row.no_agent_reason,
        outcome_intent=row.outcome_intent,
        csat=row.csat,
    )


def message_from_row(row: Row) -> TicketMessage:
    """A `TicketMessage` from a messages row."""
    return TicketMessage(
        id=int(row.id),
        ticket_id=int(row.ticket_id),
        sender=row.sender,
        text=row.text,
        created_at=utc(row.created_at),
        agent_name=row.agent_name,
        client_message_id=row.client_message_id,
    )


def event_from_row(row: Row) -> LifecycleEvent:
    """A `LifecycleEvent` from an events row."""
    return LifecycleEvent(
        id=int(row.id),
        ticket_id=int(row.ticket_id),
        type=row.type,
        data=dict(row.data or {}),
        created_at=utc(row.created_at),
    )


def outcome_from_row(row: Row) -> OutcomeRecord:
    """An `OutcomeRecord` from a resolved ticket's row with `first_reply_at`."""
    return OutcomeRecord(
        ticket_id=row.id,
        conversation_id=row.conversation_id,
        attempt=row.attempt,
        reason=row.reason,
        team=row.team,
        outcome=row.outcome,
        note=row.outcome_note,
        agent_id=row.agent_id,
        resolved_at=utc(row.resolved_at),
        payload=dict(row.payload or {}),
        intent=row.outcome_intent,
        tier=row.tier,
        language=row.language,
        requested_at=utc(row.created_at),
        assigned_at=utc(row.assigned_at),
        first_reply_at=utc(row.first_reply_at),
        csat=row.csat,
        status=row.status,
        accepted_at=utc(row.accepted_at),
    )
