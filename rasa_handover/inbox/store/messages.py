"""The human part of the conversation: customer, agent and system messages."""

from typing import List, Optional

import sqlalchemy as sa

from rasa_handover.inbox.contract import EVENT_MESSAGE, SENDER_AGENT, SENDERS
from rasa_handover.inbox.errors import NotFoundError, ValidationError
from rasa_handover.inbox.models import TicketMessage
from rasa_handover.inbox.store.base import Change, StoreBase
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
    ) -> Change:
        """Appends a message to a ticket's conversation.

        Args:
            ticket_id: The ticket.
            sender: `customer`, `agent` or `system`.
            text: The message.
            agent_name: The agent's name, for agent messages.

        Returns:
            The change, with `message` set.

        Raises:
            ValidationError: unknown sender or empty text.
            NotFoundError: unknown ticket.

        """
        if sender not in SENDERS:
            raise ValidationError(
                f"sender must be one of {', '.join(SENDERS)}", "sender"
            )
        if not text or not text.strip():
            raise ValidationError("text must not be empty", "text")
        now = self.clock()
        async with self._transaction() as conn:
            if await self._ticket_in(conn, ticket_id) is None:
                raise NotFoundError(f"unknown ticket {ticket_id}", "ticket_id")
            result = await conn.execute(
                messages_table.insert().values(
                    ticket_id=ticket_id,
                    sender=sender,
                    text=text,
                    agent_name=agent_name,
                    created_at=now,
                )
            )
            message = TicketMessage(
                id=int(result.inserted_primary_key[0]),
                ticket_id=ticket_id,
                sender=sender,
                text=text,
                created_at=now,
                agent_name=agent_name,
            )
            event = await self._append_event(
                conn,
                ticket_id,
                EVENT_MESSAGE,
                {
                    "message_id": message.id,
                    "sender": sender,
                    "text": text,
                    "agent_name": agent_name,
                },
            )
        return Change(await self.require_ticket(ticket_id), event, message)

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
