"""A customer's message: to the open ticket, to Rasa, and the waiting room's answer.

`RelayFromCustomer` relays a message to the ticket while a human owns the
conversation and hands it to Rasa, both under Rasa's lock for the
conversation, so that the ticket and the tracker get the messages in the same
order (on the fast path, `fast_path.ConversationTurn`, the tracker records it
without running the policies). A waiting customer whom the bot left unanswered
hears from the waiting room instead: an acknowledgement, a grown wait, the
alternatives again.
"""

from typing import Any, Dict, List, Optional

from rasa.core.channels.channel import OutputChannel, UserMessage

from rasa_handover.channels import customer_messages
from rasa_handover.channels.fast_path import conversation_turn
from rasa_handover.channels.outbox import KIND_RELAY
from rasa_handover.channels.relay.base import HANDBACK_TEXT, _send_all, message_key
from rasa_handover.channels.relay.from_actions import RelayFromActions
from rasa_handover.channels.waiting_room import OFFER
from rasa_handover.inbox.contract import CLIENT_MESSAGE_ID, RELAYED, RELAYED_TICKET
from rasa_handover.redaction import redact_customer_message
from rasa_handover.responses import UTTER_WAIT_UPDATE


class RelayFromCustomer(RelayFromActions):
    """A customer's messages, to the ticket and to Rasa."""

    # --- Customer messages. ----------------------------------------------------------

    async def handle_customer_message(
        self,
        text: str,
        sender_id: str,
        output: OutputChannel,
        metadata: Optional[Dict[str, Any]],
    ) -> None:
        """Relays the message to an open ticket, then hands it to Rasa.

        Both happen under Rasa's lock for the conversation, so that the ticket
        and the tracker get a customer's messages in the same order. A waiting
        customer whom the bot left unanswered (the policy keeps it silent) hears
        from the waiting room instead.
        """
        assert self.on_new_message is not None, "the blueprint has not been built"
        bot_output = self.output(output)
        message = UserMessage(
            text,
            bot_output,
            sender_id,
            input_channel=self.channel_name,
            metadata=metadata,
        )
        agent = self.rasa_agent()
        if getattr(agent, "processor", None) is None:
            # The blueprint alone (tests), or no model loaded: Rasa's handler.
            ticket = await self.relay_to_inbox(
                sender_id, text, message_id=message.message_id
            )
            await self.on_new_message(message)
        else:
            async with conversation_turn(agent, sender_id, self.fast_path) as turn:
                ticket = await self.relay_to_inbox(
                    sender_id, text, turn.handover_active, message.message_id
                )
                fast = await turn.hand_to_rasa(message)
                if turn.handover_active:
                    self.handed_over_messages["fast_path" if fast else "policies"] += 1
        if ticket and not bot_output.sent:
            await self._answer_waiting(sender_id, ticket, output)

    async def relay_to_inbox(
        self,
        conversation_id: str,
        text: str,
        active: Optional[bool] = None,
        message_id: Optional[str] = None,
    ) -> Optional[Dict[str, Any]]:
        """Relays a customer message to the open ticket while a human owns it.

        Args:
            conversation_id: The customer's conversation.
            text: Their message.
            active: Whether a human owns it, if known (else `handover_active`
                is asked).
            message_id: Rasa's `UserMessage.message_id`: the key that has the
                inbox store the message once however often the outbox
                retries it (None, or not a valid key: one is made now).

        Returns:
            The ticket's view when the inbox took the message now (None: no
            open ticket, nothing relayed, or kept in the outbox).

        """
        if not text or text.startswith(HANDBACK_TEXT):
            return None
        if active is None:
            active = await self.handover_active(conversation_id)
        if not active:
            return None
        body = {
            "text": redact_customer_message(text),
            # Made before the outbox sees the message: every try carries it.
            CLIENT_MESSAGE_ID: message_key(message_id),
        }
        answer = await self._deliver_or_queue(
            KIND_RELAY, conversation_id, body, self.customer_output()
        )
        if answer is None or not answer.get(RELAYED):
            return None
        ticket = answer.get(RELAYED_TICKET)
        return ticket if isinstance(ticket, dict) else None

    async def _answer_waiting(
        self, conversation_id: str, ticket: Dict[str, Any], output: OutputChannel
    ) -> None:
        """The waiting room's answer: acknowledgement, grown wait, alternatives."""
        await self._recall(conversation_id)
        self._learn_alternatives(ticket)
        offered = ticket.get("alternatives") or []
        said = self.waiting_room.answer(
            conversation_id,
            str(ticket.get("status") or ""),
            ticket.get("estimated_wait_seconds"),
            offered,
        )
        templates = self._templates.get(conversation_id, {})
        extra = self._extra_values()
        messages: List[Dict[str, Any]] = []
        for name in said:
            if name == OFFER:
                messages += customer_messages.alternatives(offered, templates, extra)
            elif name == UTTER_WAIT_UPDATE:
                messages += customer_messages.wait_update(ticket, templates, extra)
            else:
                messages += customer_messages.waiting_ack(ticket, templates, extra)
        await _send_all(output, conversation_id, messages)
