"""The customer's side of a handover: the request, their messages, their rating.

`CustomerRequests` opens and routes the ticket for a handover, relays the
customer's messages to their open ticket (`RelayedMessage`), and records the
rating they give a resolved one. The channel calls these.
"""

import dataclasses
from typing import Any, Mapping, Optional

from rasa_handover.inbox.models import STATUS_WAITING, Ticket, TicketMessage
from rasa_handover.inbox.service.base import ServiceBase
from rasa_handover.inbox.views import TicketView


@dataclasses.dataclass(frozen=True)
class RelayedMessage:
    """A customer's message on their open ticket (`InboxService.relay_and_view`).

    Attributes:
        view: The ticket's view (the channel's waiting room reads it).
        message: The stored message.
        repeated: It had been stored before, under the same client message id
            (a retry): nothing was stored or announced now.

    """

    view: TicketView
    message: TicketMessage
    repeated: bool


class CustomerRequests(ServiceBase):
    """Handover requests, customer messages and ratings (called by the channel)."""

    # --- Customer side (called by the channel). ---------------------------------

    async def request_handover(
        self, conversation_id: str, attempt: int, payload: Mapping[str, Any]
    ) -> TicketView:
        """Opens (or, on a retry, returns) the ticket for a handover and routes it.

        Args:
            conversation_id: Rasa's sender id.
            attempt: Counts handovers within the conversation; a retry of the same
                handover must reuse the number.
            payload: The context payload (see `HandoverRequestFields`).

        Returns:
            What to tell the customer: agent name or queue position, wait,
            alternatives.

        Raises:
            ValidationError: empty conversation id or attempt < 1.

        """
        ticket, created = await self._create_ticket(conversation_id, attempt, payload)
        if not created:
            return await self.view(ticket, created=False)
        self._events.signal_change()
        # Dispatch the whole team's queue, not only this ticket: customers who
        # were waiting before get the first free agent.
        decisions = await self._dispatch(teams={ticket.team})
        decision = decisions.get(ticket.id)
        current = await self.store.require_ticket(ticket.id)
        notes = list(decision.notes) if decision is not None else []
        if current.status == STATUS_WAITING:
            reason = decision.no_agent_reason if decision is not None else None
            estimate = await self._estimate(current)
            change = await self.store.mark_queued(
                current.id, reason, estimate[0].seconds, notes
            )
            current = change.ticket
        return await self.view(current, created=True, notes=notes)

    async def relay_customer_message(
        self, conversation_id: str, text: str, client_message_id: Optional[str] = None
    ) -> bool:
        """Adds a customer's message to their open ticket.

        Args:
            conversation_id: Rasa's sender id.
            text: What the customer wrote.
            client_message_id: The channel's idempotency key (`relay_and_view`).

        Returns:
            False if the conversation has no open ticket (the bot should answer).

        Raises:
            ValidationError: empty text.

        """
        relayed = await self.relay_and_view(conversation_id, text, client_message_id)
        return relayed is not None

    async def relay_and_view(
        self, conversation_id: str, text: str, client_message_id: Optional[str] = None
    ) -> Optional[RelayedMessage]:
        """Adds a customer's message to their open ticket, with the ticket's view.

        The channel's waiting room reads the view (status, wait) to decide
        whether the customer hears an acknowledgement.

        Args:
            conversation_id: Rasa's sender id.
            text: What the customer wrote.
            client_message_id: The channel's idempotency key: a message the
                ticket has under this id already is not stored again (and no
                second event is announced); the answer is the one stored first.

        Returns:
            None if the conversation has no open ticket (the bot should answer).

        Raises:
            ValidationError: empty text.

        """
        change = await self.store.add_customer_message(
            conversation_id, text, client_message_id
        )
        if change is None:
            return None
        await self._events.publish(change)
        assert change.message is not None
        view = await self.view(change.ticket, created=False)
        return RelayedMessage(view, change.message, repeated=change.event is None)

    async def record_csat(self, conversation_id: str, score: int) -> Optional[Ticket]:
        """The customer rated the conversation's latest resolved ticket.

        Returns:
            The ticket with its score, or None: nothing resolved to rate.

        Raises:
            ValidationError: the score is not on the scale (`CSAT_SCORES`).

        """
        return await self.store.record_csat(conversation_id, score)
