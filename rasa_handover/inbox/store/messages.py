"""The human part of the conversation: customer, agent and system messages."""

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from rasa_handover.inbox.contract import (
    EVENT_MESSAGE,
    SENDER_AGENT,
    SENDER_CUSTOMER,
    SENDERS,
)
from rasa_handover.inbox.errors import NotFoundError, ValidationError
from rasa_handover.inbox.models import OPEN_STATUSES, TicketMessage
from rasa_handover.inbox.store.base import (
    TICKET_BY_ID,
    Change,
    StoreBase,
    append_event,
    select_tickets,
)
from rasa_handover.inbox.store.rows import message_from_row
from rasa_handover.inbox.store.schema import messages_table, tickets_table


class MessageStore(StoreBase):
    """The messages' part of `InboxStore`."""

    async def add_message(
        self,
        ticket_id: int,
        sender: str,
        text: str,
        agent_name: Optional[str] = None,
        client_message_id: Optional[str] = None,
    ) -> Change:
        """Appends a message to a ticket's conversation.

        Args:
            ticket_id: The ticket.
            sender: `customer`, `agent` or `system`.
            text: The message.
            agent_name: The agent's name, for agent messages.
            client_message_id: The sender's idempotency key: a message of the
                ticket stored with it already is not stored again.

        Returns:
            The change, with `message` set (and no `event` when the message was
            stored before: a repeat).

        Raises:
            ValidationError: unknown sender or empty text.
            NotFoundError: unknown ticket.

        """
        _check_message(sender, text)
        change = await self._write(
            functools.partial(
                _add_to_ticket,
                (TICKET_BY_ID, {"ticket_id": ticket_id}),
                _NewMessage(self.clock(), sender, text, agent_name, client_message_id),
                self.change_channel,
            )
        )
        if change is None:
            raise NotFoundError(f"unknown ticket {ticket_id}", "ticket_id")
        return change

    async def add_customer_message(
        self, conversation_id: str, text: str, client_message_id: Optional[str] = None
    ) -> Optional[Change]:
        """Appends a customer's message to their conversation's open ticket.

        The lookup and the write are one transaction (and one group commit on
        SQLite): the message lands on the ticket that was open when it was
        stored.

        Args:
            conversation_id: Rasa's sender id.
            text: What the customer wrote.
            client_message_id: The channel's idempotency key (see `add_message`).

        Returns:
            The change, with `message` set (no `event`: a repeat); None if no
            ticket is open.

        Raises:
            ValidationError: empty text.

        """
        _check_message(SENDER_CUSTOMER, text)
        return await self._write(
            functools.partial(
                _add_to_ticket,
                (_OPEN_TICKETS_OF, {"conversation_id": conversation_id}),
                _NewMessage(
                    self.clock(), SENDER_CUSTOMER, text, None, client_message_id
                ),
                self.change_channel,
            )
        )

    async def messages(self, ticket_id: int, after_id: int = 0) -> List[TicketMessage]:
        """A ticket's messages with an id above `after_id`, oldest first."""
        table = messages_table
        query = (
            sa.select(table)
            .where(table.c.ticket_id == ticket_id, table.c.id > after_id)
            .order_by(table.c.id)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [message_from_row(row) for row in rows]

    async def pending_agent_messages(
        self, conversation_id: str, after_id: int = 0
    ) -> List[TicketMessage]:
        """Agent messages for a conversation (any of its tickets) after a cursor.

        A polling channel passes the last message id it delivered.

        Args:
            conversation_id: Rasa's sender id.
            after_id: The last delivered message id.

        Returns:
            The messages, oldest first.

        """
        messages, tickets = messages_table, tickets_table
        query = (
            sa.select(messages)
            .join(tickets, tickets.c.id == messages.c.ticket_id)
            .where(
                tickets.c.conversation_id == conversation_id,
                messages.c.sender == SENDER_AGENT,
                messages.c.id > after_id,
            )
            .order_by(messages.c.id)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [message_from_row(row) for row in rows]


# Built once: a relayed message's statements skip most of SQLAlchemy's work.
_OPEN_TICKETS_OF = sa.and_(
    tickets_table.c.conversation_id == sa.bindparam("conversation_id"),
    tickets_table.c.status.in_(OPEN_STATUSES),
)
_INSERT_MESSAGE = messages_table.insert()
_MESSAGE_BY_CLIENT_ID = sa.select(messages_table).where(
    messages_table.c.ticket_id == sa.bindparam("ticket_id"),
    messages_table.c.client_message_id == sa.bindparam("client_message_id"),
)
# A message with a client id: nothing is inserted when the ticket has it
# already (a concurrent repeat waits for the first one's commit, then skips).
_CLIENT_ID_COLUMNS = ["ticket_id", "client_message_id"]
_INSERT_ONCE = {
    "postgresql": postgresql.insert(messages_table)
    .on_conflict_do_nothing(index_elements=_CLIENT_ID_COLUMNS)
    .returning(messages_table.c.id),
    "sqlite": sqlite.insert(messages_table).on_conflict_do_nothing(
        index_elements=_CLIENT_ID_COLUMNS
    ),
}


@dataclass(frozen=True)
class _NewMessage:
    """A message to store, stamped when it was submitted."""

    created_at: datetime
    sender: str
    text: str
    agent_name: Optional[str]
    client_message_id: Optional[str] = None


def _check_message(sender: str, text: str) -> None:
    if sender not in SENDERS:
        raise ValidationError(f"sender must be one of {', '.join(SENDERS)}", "sender")
    if not text or not text.strip():
        raise ValidationError("text must not be empty", "text")


def _add_to_ticket(
    which: Tuple[Any, Dict[str, Any]],
    new: _NewMessage,
    change_channel: Optional[str],
    conn: Connection,
) -> Optional[Change]:
    """Stores a message and its `message` event on the latest ticket matching `which`.

    `which` is a condition built once and the values of its parameters.

    Runs in the caller's transaction (a group commit's savepoint on SQLite).

    Returns:
        The change; None when no ticket matches. A message whose client id the
        ticket has already is not stored again: the change carries the one
        stored first, and no event.

    """
    tickets = select_tickets(conn, *which)
    if not tickets:
        return None
    ticket = tickets[-1]
    values = {
        "ticket_id": ticket.id,
        "sender": new.sender,
        "text": new.text,
        "agent_name": new.agent_name,
        "created_at": new.created_at,
    }
    message_id = _insert_message(conn, values, new.client_message_id)
    if message_id is None:
        row = conn.execute(
            _MESSAGE_BY_CLIENT_ID,
            {"ticket_id": ticket.id, "client_message_id": new.client_message_id},
        ).one()
        return Change(ticket, None, message_from_row(row))
    message = TicketMessage(
        id=message_id,
        ticket_id=ticket.id,
        sender=new.sender,
        text=new.text,
        created_at=new.created_at,
        agent_name=new.agent_name,
        client_message_id=new.client_message_id,
    )
    event = append_event(
        conn,
        new.created_at,
        ticket.id,
        EVENT_MESSAGE,
        {
            "message_id": message.id,
            "sender": new.sender,
            "text": new.text,
            "agent_name": new.agent_name,
        },
        change_channel,
    )
    return Change(ticket, event, message)


def _insert_message(
    conn: Connection, values: Dict[str, Any], client_message_id: Optional[str]
) -> Optional[int]:
    """Inserts a message row; returns its id (None: its client id was taken).

    Without a client id the statement names no such column (as before schema
    version 3).
    """
    if client_message_id is None:
        return int(conn.execute(_INSERT_MESSAGE, values).inserted_primary_key[0])
    values = {**values, "client_message_id": client_message_id}
    result = conn.execute(_INSERT_ONCE[conn.dialect.name], values)
    if conn.dialect.name == "postgresql":
        inserted = result.scalar()
        return None if inserted is None else int(inserted)
    return int(result.inserted_primary_key[0]) if result.rowcount else None
