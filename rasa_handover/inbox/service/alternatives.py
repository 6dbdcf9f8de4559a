"""What a customer may do instead of waiting in the chat.

`AlternativesToWaiting` records a callback request (`schedule_callback`) or a
message left for a reply by e-mail (`leave_message`), and lists the callback
requests, the soonest due first (`callbacks`, ordered by `by_due_time`).
"""

from datetime import datetime, timezone
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from rasa_handover.inbox.contract import SENDER_CUSTOMER
from rasa_handover.inbox.email_delivery import REPLY_BY_EMAIL
from rasa_handover.inbox.errors import ValidationError
from rasa_handover.inbox.models import STATUS_CALLBACK, Ticket, iso
from rasa_handover.inbox.service.base import ServiceBase
from rasa_handover.inbox.views import TicketView


class AlternativesToWaiting(ServiceBase):
    """Callback requests and messages left for a reply by e-mail."""

    # --- Customer side (called by the channel). ---------------------------------

    async def schedule_callback(
        self,
        conversation_id: str,
        when_text: Optional[str],
        contact: Optional[str],
        payload: Mapping[str, Any],
        due_at: Optional[str] = None,
    ) -> TicketView:
        """Records that the customer wants to be called back instead of waiting.

        An open ticket of the conversation becomes the callback request (the
        customer leaves the queue); otherwise a new callback ticket is created
        for the next attempt (or `payload["attempt"]`). Repeating the request
        returns the existing callback ticket.

        Args:
            conversation_id: Rasa's sender id.
            when_text: When the customer wants the call, as they said it.
            contact: Phone number or e-mail address.
            payload: The context payload.
            due_at: When, as an ISO 8601 timestamp (orders the callbacks list).

        Returns:
            The callback ticket's view.

        Raises:
            ValidationError: empty contact.

        """
        if not contact or not contact.strip():
            raise ValidationError("contact must not be empty", "contact")
        callback = {
            "when": when_text,
            "due_at": due_at,
            "contact": contact,
            "requested_at": iso(self.store.clock()),
        }
        tickets = await self.store.tickets_for_conversation(conversation_id)
        latest = tickets[-1] if tickets else None
        if latest is not None and latest.status == STATUS_CALLBACK:
            return await self.view(latest, created=False)
        if latest is not None and latest.is_open:
            change = await self.store.set_callback(latest.id, callback)
            await self._events.publish(change)
            return await self.view(change.ticket, created=True)
        requested = payload.get("attempt")
        attempt = (
            requested
            if isinstance(requested, int) and not isinstance(requested, bool)
            else await self.store.next_attempt(conversation_id)
        )
        ticket, created = await self._create_ticket(
            conversation_id,
            attempt,
            payload,
            status=STATUS_CALLBACK,
            callback=callback,
        )
        if created:
            self._events.signal_change()
        return await self.view(ticket, created=created)

    async def leave_message(
        self,
        conversation_id: str,
        email: str,
        message: Optional[str],
        payload: Mapping[str, Any],
        client_message_id: Optional[str] = None,
    ) -> TicketView:
        """The customer leaves a message: the ticket waits, the reply goes by e-mail.

        The open ticket of the conversation (or a new one) stays in the queue,
        marked async; the message is added to it (once per `client_message_id`:
        a retried call does not store it twice); every agent reply on it is
        e-mailed to `email` (and still reaches the chat).

        Raises:
            ValidationError: e-mail is not configured, or `email` is empty.

        """
        if self.email_replies is None:
            raise ValidationError(
                "this inbox has no email: settings, so it cannot reply by e-mail",
                "email",
            )
        if not email or "@" not in email:
            raise ValidationError("email must be an e-mail address", "email")
        details = {
            "kind": REPLY_BY_EMAIL,
            "contact": email.strip(),
            "requested_at": iso(self.store.clock()),
        }
        ticket = await self.store.active_ticket_for_conversation(conversation_id)
        if ticket is None:
            attempt = await self.store.next_attempt(conversation_id)
            ticket, _ = await self._create_ticket(conversation_id, attempt, payload)
            await self._dispatch(teams={ticket.team})
        change = await self.store.set_reply_by_email(ticket.id, details)
        await self._events.publish(change)
        if message and message.strip():
            change = await self.store.add_message(
                ticket.id,
                SENDER_CUSTOMER,
                message,
                client_message_id=client_message_id,
            )
            await self._events.publish(change)
        return await self.view(await self.store.require_ticket(ticket.id), False)

    async def callbacks(self, teams: Optional[Sequence[str]] = None) -> List[Ticket]:
        """Callback requests, the soonest due first (no time given: last).

        Args:
            teams: Only these teams (None: all).

        """
        tickets = await self.store.list_queue(teams=teams, statuses=(STATUS_CALLBACK,))
        return sorted(tickets, key=by_due_time)


def by_due_time(ticket: Ticket) -> Tuple[int, str, str]:
    """Sorts callbacks by due time (ISO strings of one zone), undated last."""
    due = (ticket.callback or {}).get("due_at")
    if not due:
        return (1, "", iso(ticket.created_at) or "")
    try:
        text = str(due)
        text = text[:-1] + "+00:00" if text.endswith("Z") else text  # Python 3.10
        moment = datetime.fromisoformat(text).astimezone(timezone.utc)
    except ValueError:
        return (1, "", iso(ticket.created_at) or "")
    return (0, moment.isoformat(), iso(ticket.created_at) or "")
