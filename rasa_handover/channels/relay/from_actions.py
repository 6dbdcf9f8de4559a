"""Requests from the plugin's actions, and how anything reaches the inbox.

`RelayFromActions` turns a plugin message of the actions (a handover, a
callback, a message left for the team, a CSAT score), which `HandoverOutput`
hands over, into an inbox request, and acknowledges it to the customer (agent,
wait, alternatives). Every request to the inbox, a relayed customer
message too, goes through `_deliver_or_queue`: delivered now, or kept in the
durable outbox while the inbox cannot take it, and the customer told honestly.
"""

import logging
from typing import Any, Dict, Optional

from rasa.core.channels.channel import OutputChannel

from rasa_handover.channels import customer_messages
from rasa_handover.channels.handover_output import HandoverOutput
from rasa_handover.channels.inbox_client import (
    InboxRejectedError,
    InboxUnavailableError,
)
from rasa_handover.channels.outbox import (
    KIND_CALLBACK,
    KIND_CSAT,
    KIND_HANDOVER,
    QUIET_KINDS,
)
from rasa_handover.channels.relay.base import RelayBase, _send_all, message_key
from rasa_handover.inbox.contract import (
    CLIENT_MESSAGE_ID,
    MESSAGE_ASYNC,
    MESSAGE_CALLBACK,
    MESSAGE_CSAT,
    MESSAGE_HANDOVER,
    PAYLOAD_CALLBACK_URL,
    RELAYED,
    RELAYED_TICKET,
)
from rasa_handover.responses import UTTER_CALLBACK_SCHEDULED, UTTER_MESSAGE_LEFT, fill

logger = logging.getLogger(__name__)

# The outbox kind of a message left for the team (answered by e-mail).
KIND_ASYNC = MESSAGE_ASYNC


class RelayFromActions(RelayBase):
    """The actions' requests to the inbox, delivered now or through the outbox."""

    def output(self, inner: OutputChannel) -> HandoverOutput:
        """`inner`, with the plugin's messages handed to this relay."""
        return HandoverOutput(inner, self.handle_plugin_message)

    # --- Handover requests from the actions. --------------------------------------

    async def handle_plugin_message(
        self, conversation_id: str, message: Dict[str, Any], output: OutputChannel
    ) -> None:
        """Creates the ticket for a handover / callback and tells the customer.

        Called by `HandoverOutput` when `action_handover` (or
        `action_schedule_callback`) emits its payload. If the inbox cannot be
        reached, the request goes to the durable outbox and the customer is told
        honestly that it is delayed; nothing is lost.
        """
        kind = message.get("type")
        # Added to what earlier requests brought (the handover's sentences are
        # still needed after a callback or a message is left).
        self._templates[conversation_id] = {
            **self._templates.get(conversation_id, {}),
            **(message.get("responses") or {}),
        }
        if kind == MESSAGE_HANDOVER:
            body = {
                "attempt": int(message.get("attempt") or 1),
                "payload": self._with_callback_url(message.get("payload") or {}),
            }
            await self._deliver_or_queue(KIND_HANDOVER, conversation_id, body, output)
        elif kind == MESSAGE_CALLBACK:
            body = {
                "when": message.get("when"),
                "due_at": message.get("due_at"),
                "contact": message.get("contact"),
                "payload": message.get("payload") or {},
            }
            await self._deliver_or_queue(KIND_CALLBACK, conversation_id, body, output)
        elif kind == MESSAGE_ASYNC:
            body = {
                "email": message.get("email"),
                "message": message.get("message"),
                "payload": message.get("payload") or {},
                # Made once, before the outbox: every retry stores it once.
                CLIENT_MESSAGE_ID: message_key(None),
            }
            await self._deliver_or_queue(KIND_ASYNC, conversation_id, body, output)
        elif kind == MESSAGE_CSAT:
            body = {"score": message.get("score")}
            await self._deliver_or_queue(KIND_CSAT, conversation_id, body, output)
        else:
            logger.warning(
                f"Ignoring a rasa_handover message of unknown type {kind!r}."
            )
        await self._share(conversation_id)

    def _with_callback_url(self, payload: Dict[str, Any]) -> Dict[str, Any]:
        if self.callback_url:
            return {**payload, PAYLOAD_CALLBACK_URL: self.callback_url}
        return payload

    async def _deliver_or_queue(
        self,
        kind: str,
        conversation_id: str,
        body: Dict[str, Any],
        output: OutputChannel,
    ) -> Optional[Dict[str, Any]]:
        """Delivers now and acknowledges, or keeps it in the outbox.

        Returns:
            The inbox's answer if delivered now, else None.

        """
        assert self.outbox is not None, "the channel's server has not started"
        if self.outbox.has_pending(conversation_id):
            # Earlier requests of this conversation are still undelivered: keep
            # the order, and let the worker deliver this one after them.
            self.outbox.add(kind, conversation_id, body)
            if kind not in QUIET_KINDS:
                await self._tell(output, conversation_id, customer_messages.delayed)
            return None
        self._requesting.add(conversation_id)
        problem: Optional[Exception] = None
        try:
            answer = await self._deliver(kind, conversation_id, body)
        except (InboxUnavailableError, InboxRejectedError) as error:
            problem = error
        finally:
            self._requesting.discard(conversation_id)
        if problem is None:
            await self._acknowledge(kind, conversation_id, body, answer, output)
            return answer
        if isinstance(problem, InboxUnavailableError):
            logger.warning(
                f"The inbox is unavailable ({problem}); the {kind} of conversation "
                f"'{conversation_id}' is kept in the outbox and retried."
            )
            self.outbox.add(kind, conversation_id, body)
            if kind not in QUIET_KINDS:
                await self._tell(output, conversation_id, customer_messages.delayed)
        else:
            if kind == KIND_CSAT:
                # A score is only data: the customer has been thanked already.
                logger.error(
                    f"The inbox rejected the CSAT score of conversation "
                    f"'{conversation_id}': {problem}."
                )
                return None
            logger.error(
                f"The inbox rejected the {kind} of conversation '{conversation_id}': "
                f"{problem}. The customer is offered the alternatives."
            )
            await self._tell(output, conversation_id, customer_messages.failed)
        return None

    async def _deliver(
        self, kind: str, conversation_id: str, body: Dict[str, Any]
    ) -> Dict[str, Any]:
        assert self.client is not None, "the channel's blueprint has not been built"
        if kind == KIND_HANDOVER:
            return await self.client.request_handover(
                conversation_id, body["attempt"], body["payload"]
            )
        if kind == KIND_CALLBACK:
            return await self.client.schedule_callback(
                conversation_id,
                body.get("when"),
                body.get("contact"),
                body["payload"],
                body.get("due_at"),
            )
        if kind == KIND_ASYNC:
            return await self.client.leave_message(
                conversation_id,
                str(body.get("email") or ""),
                body.get("message"),
                body["payload"],
                body.get(CLIENT_MESSAGE_ID),
            )
        if kind == KIND_CSAT:
            return await self.client.record_csat(conversation_id, body["score"])
        ticket = await self.client.relay_message(
            conversation_id, body["text"], body.get(CLIENT_MESSAGE_ID)
        )
        return {RELAYED: ticket is not None, RELAYED_TICKET: ticket}

    async def _acknowledge(
        self,
        kind: str,
        conversation_id: str,
        body: Dict[str, Any],
        answer: Dict[str, Any],
        output: OutputChannel,
    ) -> None:
        templates = self._templates.get(conversation_id, {})
        if kind == KIND_HANDOVER:
            self._learn_alternatives(answer)
            self._announced_agent[conversation_id] = answer.get("agent_name")
            await _send_all(
                output,
                conversation_id,
                customer_messages.acknowledgement(
                    answer, templates, self._extra_values()
                ),
            )
            self.waiting_room.entered(
                conversation_id,
                str(answer.get("status") or ""),
                answer.get("estimated_wait_seconds"),
                answer.get("alternatives") or [],
                customer_messages.offers_alternatives(answer),
            )
        elif kind == KIND_ASYNC:
            self.waiting_room.forget(conversation_id)
            template = templates.get(UTTER_MESSAGE_LEFT)
            if template and template.get("text"):
                values = {**self._extra_values(), "email": body.get("email") or ""}
                await output.send_text_message(
                    conversation_id, fill(str(template["text"]), values)
                )
        elif kind == KIND_CALLBACK:
            self.waiting_room.forget(conversation_id)
            template = templates.get(UTTER_CALLBACK_SCHEDULED)
            if template and template.get("text"):
                values = {
                    **self._extra_values(),
                    "when": body.get("when") or "as soon as possible",
                    "contact": body.get("contact") or "",
                }
                await output.send_text_message(
                    conversation_id, fill(str(template["text"]), values)
                )
