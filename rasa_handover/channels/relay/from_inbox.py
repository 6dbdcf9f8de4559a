"""Inbox events for the channel's customers: agent replies, assignments, handbacks.

`RelayFromInbox.on_inbox_event` applies a ticket's lifecycle event: an agent's
reply reaches the customer (and is kept for one who is not in the chat, shown
when they return: `customer_returned`), an assignment after queueing names the
agent, a grown wait or a ticket back in the queue with nobody to take it is
told, and an expiry or a resolution hands the conversation back to Rasa
(`/handover_resolved`). It keeps the waiting room in step with the ticket, and
offers the alternatives again to customers who have waited long enough
(`offer_alternatives_again`).
"""

from typing import Any, Dict, Optional

from rasa.core.channels.channel import OutputChannel

from rasa_handover.channels import customer_messages
from rasa_handover.channels.relay.base import HANDBACK_TEXT, _send_all
from rasa_handover.channels.relay.from_customer import RelayFromCustomer
from rasa_handover.constants import (
    METADATA_AGENT_NAME,
    METADATA_OUTCOME,
    OUTCOME_EXPIRED,
)
from rasa_handover.inbox.contract import (
    EVENT_ACCEPTED,
    EVENT_ASSIGNED,
    EVENT_EXPIRED,
    EVENT_MESSAGE,
    EVENT_QUEUED,
    EVENT_RESOLVED,
    REPLY_BY_EMAIL,
    SENDER_AGENT,
)
from rasa_handover.responses import UTTER_CONNECTING, UTTER_REPLIED_WHILE_AWAY, fill


class RelayFromInbox(RelayFromCustomer):
    """What the inbox's events mean for the customer, and the handback to Rasa."""

    # --- Events from the inbox (agent replies, assignment, resolution). ------------

    async def on_inbox_event(
        self, event: Dict[str, Any], ticket: Dict[str, Any]
    ) -> None:
        """Reacts to an inbox lifecycle event for one of this channel's customers.

        Args:
            event: The lifecycle event (`type`, `data`).
            ticket: The ticket it belongs to (`conversation_id`, `agent_name`, ...).

        """
        conversation_id = ticket.get("conversation_id")
        if not conversation_id:
            return
        await self._recall(conversation_id)
        await self._apply_event(conversation_id, event, ticket)
        await self._share(conversation_id)

    async def _apply_event(
        self, conversation_id: str, event: Dict[str, Any], ticket: Dict[str, Any]
    ) -> None:
        kind = event.get("type")
        data = event.get("data") or {}
        output = self.customer_output()
        agent_name = data.get("agent_name") or ticket.get("agent_name")
        self._waiting_room_event(conversation_id, kind, data, ticket)
        if kind == EVENT_MESSAGE and data.get("sender") == SENDER_AGENT:
            self._keep_if_away(conversation_id, ticket, data, agent_name)
            await output.send_text_message(
                conversation_id,
                str(data.get("text") or ""),
                metadata={"from": SENDER_AGENT, "agent_name": agent_name},
            )
        elif kind == EVENT_ASSIGNED:
            await self._announce_agent(output, conversation_id, ticket, agent_name)
        elif kind == EVENT_QUEUED and _left_without_anyone(data):
            await self._tell_nobody_available(output, conversation_id, ticket, data)
        elif kind == EVENT_QUEUED and data.get("wait_text"):
            # The inbox saw the estimate grow past its threshold: say so.
            await _send_all(
                output,
                conversation_id,
                customer_messages.wait_update(
                    {**ticket, "wait_text": data["wait_text"]},
                    self._templates.get(conversation_id, {}),
                    self._extra_values(),
                ),
            )
        elif kind == EVENT_EXPIRED and self.on_new_message is not None:
            # Nobody picked up in time: say so, offer email or a callback, and
            # let the bot answer again (a handback without a greeting).
            await self._tell(output, conversation_id, customer_messages.expired)
            await self._hand_back(conversation_id, output, None, OUTCOME_EXPIRED)
        elif kind == EVENT_RESOLVED and ticket.get("callback"):
            # A callback or an e-mailed message done: the bot took the
            # conversation back when it was booked; no handback to announce.
            self._announced_agent.pop(conversation_id, None)
        elif kind == EVENT_RESOLVED and self.on_new_message is not None:
            await self._hand_back(
                conversation_id, output, agent_name, data.get("outcome")
            )

    async def _hand_back(
        self,
        conversation_id: str,
        output: OutputChannel,
        agent_name: Optional[str],
        outcome: Optional[str],
    ) -> None:
        """Gives the conversation back to the bot (`action_handback`)."""
        self._templates.pop(conversation_id, None)
        self._announced_agent.pop(conversation_id, None)
        metadata = {
            METADATA_AGENT_NAME: agent_name,
            METADATA_OUTCOME: outcome,
        }
        # Never relayed to the inbox (`relay_to_inbox` skips the handback).
        await self.handle_customer_message(
            HANDBACK_TEXT, conversation_id, output, metadata
        )

    def _keep_if_away(
        self,
        conversation_id: str,
        ticket: Dict[str, Any],
        data: Dict[str, Any],
        agent_name: Optional[str],
    ) -> None:
        """Keeps an e-mailed reply for a customer who is not in the chat now."""
        details = ticket.get("callback") or {}
        if details.get("kind") != REPLY_BY_EMAIL:
            return
        if self.customer_present(conversation_id):
            return
        template = self._templates.get(conversation_id, {}).get(
            UTTER_REPLIED_WHILE_AWAY
        )
        away = self._replied_while_away.get(conversation_id) or []
        self._replied_while_away[conversation_id] = away
        if not away and template and template.get("text"):
            values = {
                **self._extra_values(),
                "agent_name": agent_name or "",
                "email": details.get("contact") or "",
            }
            away.append({"text": fill(str(template["text"]), values)})
        away.append(
            {
                "text": str(data.get("text") or ""),
                "metadata": {"from": SENDER_AGENT, "agent_name": agent_name},
            }
        )

    async def customer_returned(
        self, conversation_id: str, output: OutputChannel
    ) -> None:
        """Shows the replies that were e-mailed while the customer was away."""
        replies = self._replied_while_away.get(conversation_id) or []
        self._replied_while_away.pop(conversation_id)
        for message in replies:
            await output.send_text_message(
                conversation_id, message["text"], **_metadata(message)
            )

    def _waiting_room_event(
        self,
        conversation_id: str,
        kind: Optional[str],
        data: Dict[str, Any],
        ticket: Dict[str, Any],
    ) -> None:
        """Who still waits: an agent's word, a callback or the end lets them out."""
        if kind == EVENT_MESSAGE and data.get("sender") == SENDER_AGENT:
            self.waiting_room.forget(conversation_id)
        elif kind in (EVENT_ASSIGNED, EVENT_ACCEPTED, EVENT_QUEUED):
            self.waiting_room.status_changed(
                conversation_id, str(ticket.get("status") or "")
            )
            if kind == EVENT_QUEUED and data.get("wait_text"):
                self.waiting_room.heard_wait(
                    conversation_id, ticket.get("estimated_wait_seconds")
                )
        elif kind in (EVENT_RESOLVED, EVENT_EXPIRED):
            self.waiting_room.forget(conversation_id)

    async def offer_alternatives_again(self) -> int:
        """Offers the alternatives to customers who have waited long enough.

        Returns:
            How many customers were offered them.

        """
        offered = 0
        for conversation_id, alternatives in self.waiting_room.due_offers():
            messages = customer_messages.alternatives(
                alternatives,
                self._templates.get(conversation_id, {}),
                self._extra_values(),
            )
            await _send_all(self.customer_output(), conversation_id, messages)
            offered += bool(messages)
        return offered

    async def _announce_agent(
        self,
        output: OutputChannel,
        conversation_id: str,
        ticket: Dict[str, Any],
        agent_name: Optional[str],
    ) -> None:
        """Says who the agent is, after waiting in the queue (or a transfer)."""
        if (
            conversation_id in self._requesting
            or not agent_name
            or agent_name == self._announced_agent.get(conversation_id)
        ):
            return
        self._announced_agent[conversation_id] = agent_name
        template = self._templates.get(conversation_id, {}).get(UTTER_CONNECTING)
        if template:
            values = customer_messages.ticket_values(
                {**ticket, "agent_name": agent_name}, self._extra_values()
            )
            await output.send_text_message(
                conversation_id, fill(str(template["text"]), values)
            )

    async def _tell_nobody_available(
        self,
        output: OutputChannel,
        conversation_id: str,
        ticket: Dict[str, Any],
        data: Dict[str, Any],
    ) -> None:
        """The agent left and nobody who may take the ticket is there: say so.

        The customer hears what a new handover would (nobody online, or
        outside business hours, and what the inbox offers instead), and waits
        afresh in the waiting room.
        """
        offered = self.inbox_alternatives or []
        told = {**ticket, "no_agent_reason": data.get("no_agent_reason")}
        messages = customer_messages.nobody_available(
            told,
            self._templates.get(conversation_id, {}),
            self._extra_values(),
            offered,
        )
        self._announced_agent[conversation_id] = None
        await _send_all(output, conversation_id, messages)
        self.waiting_room.entered(
            conversation_id,
            str(ticket.get("status") or ""),
            data.get("estimated_wait_seconds"),
            offered,
            bool(offered),
        )


def _metadata(message: Dict[str, Any]) -> Dict[str, Any]:
    return {"metadata": message["metadata"]} if message.get("metadata") else {}


def _left_without_anyone(data: Dict[str, Any]) -> bool:
    """A `queued` event: back in the queue (`reason`) and nobody may take it."""
    return bool(data.get("reason")) and customer_messages.tells_nobody_available(
        data.get("no_agent_reason")
    )
