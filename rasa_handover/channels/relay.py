"""The relay: what the channel does with each message, whichever transport brought it.

* A plugin message from `action_handover` / `action_schedule_callback` becomes
  an inbox ticket, and the customer hears the acknowledgement (agent, wait,
  alternatives).
* A customer message while a human owns the conversation is relayed to the
  ticket, and still goes to Rasa, under Rasa's lock for the conversation: the
  tracker records it, on the fast path without running the policies
  (`fast_path.ConversationTurn`). While nobody has answered yet, the waiting room
  (`waiting_room.WaitingRoom`) acknowledges it, tells a grown wait and offers
  the alternatives again after a while.
* An inbox event reaches the customer: an agent's reply, an assignment after
  queueing, a grown wait; a resolution hands the conversation back to Rasa
  (`/handover_resolved`).
* What the inbox cannot take right now waits in the durable outbox; the worker
  retries it and tells the customer honestly when it keeps failing.

The transport (`handover_input.HandoverInput`: REST and socket.io routes)
creates one `HandoverRelay` and hands it every message.
"""

import asyncio
import logging
import uuid
from typing import (
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    Dict,
    Iterable,
    List,
    Optional,
    Protocol,
    Set,
)

from rasa.core.channels.channel import OutputChannel, UserMessage

from rasa_handover.bounded import LruDict
from rasa_handover.channels import customer_messages
from rasa_handover.channels.fast_path import conversation_turn
from rasa_handover.channels.handover_output import HandoverOutput
from rasa_handover.channels.inbox_client import (
    InboxClient,
    InboxRejectedError,
    InboxUnavailableError,
)
from rasa_handover.channels.outbox import (
    KIND_CALLBACK,
    KIND_CSAT,
    KIND_HANDOVER,
    KIND_RELAY,
    QUIET_KINDS,
    Outbox,
    OutboxItem,
)
from rasa_handover.channels.waiting_room import (
    OFFER,
    OFFER_ALTERNATIVES_SECONDS,
    WAITING_ACK_SECONDS,
    WaitingRoom,
)
from rasa_handover.constants import (
    INTENT_HANDOVER_RESOLVED,
    METADATA_AGENT_NAME,
    METADATA_OUTCOME,
    OUTCOME_EXPIRED,
)
from rasa_handover.inbox.contract import (
    CLIENT_MESSAGE_ID,
    EVENT_ACCEPTED,
    EVENT_ASSIGNED,
    EVENT_EXPIRED,
    EVENT_MESSAGE,
    EVENT_QUEUED,
    EVENT_RESOLVED,
    MESSAGE_ASYNC,
    MESSAGE_CALLBACK,
    MESSAGE_CSAT,
    MESSAGE_HANDOVER,
    PAYLOAD_CALLBACK_URL,
    RELAYED,
    RELAYED_TICKET,
    REPLY_BY_EMAIL,
    SENDER_AGENT,
)
from rasa_handover.inbox.models import STATUS_WAITING
from rasa_handover.limits import MAX_TRACKED_CONVERSATIONS as MAX_TRACKED
from rasa_handover.limits import LimitError, client_message_id
from rasa_handover.redaction import redact_customer_message
from rasa_handover.responses import (
    UTTER_CALLBACK_SCHEDULED,
    UTTER_CONNECTING,
    UTTER_MESSAGE_LEFT,
    UTTER_REPLIED_WHILE_AWAY,
    UTTER_WAIT_UPDATE,
    fill,
)

if TYPE_CHECKING:
    from rasa.core.agent import Agent

logger = logging.getLogger(__name__)

# How often the outbox is retried (its items have their own backoff).
RETRY_INTERVAL_SECONDS = 1.0
# Tell the customer about the trouble after this many failed deliveries.
NOTIFY_AFTER_FAILURES = 3
# The outbox kind of a message left for the team (answered by e-mail).
KIND_ASYNC = MESSAGE_ASYNC
# What the channel sends to Rasa when an agent resolves the ticket.
HANDBACK_TEXT = f"/{INTENT_HANDOVER_RESOLVED}"

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
# The Rasa agent of `rasa run` (None: the channel's blueprint runs alone).
RasaAgent = Callable[[], Optional["Agent"]]


class SharedMemory(Protocol):
    """What a conversation's relay state is on other replicas (`redis_url`).

    The response templates and the agent last announced, so that whichever
    replica applies an inbox event or answers a waiting customer says what the
    replica that took the handover request would.
    """

    async def load(self, conversation_id: str) -> Optional[Dict[str, Any]]:
        """The state another replica shared, or None."""
        ...

    async def save(self, conversation_id: str, state: Dict[str, Any]) -> None:
        """Shares the state (a failure is logged, never raised)."""
        ...


class HandoverRelay:
    """Moves messages between the customer, Rasa and the inbox."""

    def __init__(
        self,
        channel_name: str,
        customer_output: Callable[[], OutputChannel],
        handover_active: Callable[[str], Awaitable[bool]],
        support_email: str,
        callback_url: Optional[str] = None,
        retry_interval: float = RETRY_INTERVAL_SECONDS,
        notify_after_failures: int = NOTIFY_AFTER_FAILURES,
        waiting_ack_seconds: float = WAITING_ACK_SECONDS,
        offer_alternatives_seconds: float = OFFER_ALTERNATIVES_SECONDS,
        fast_path: bool = True,
    ) -> None:
        """Creates the relay; the transport sets its client, outbox and Rasa.

        The transport sets `client`, `outbox`, `on_new_message` and `rasa_agent`.

        Args:
            channel_name: The input channel Rasa records for the messages.
            customer_output: Reaches a customer outside of a request.
            handover_active: Whether a human owns a conversation, asked only
                without a Rasa agent (else the turn's tracker says).
            support_email: Offered as an alternative to waiting.
            callback_url: The channel's event webhook, for a standalone inbox.
            retry_interval: Seconds between outbox rounds.
            notify_after_failures: Failed deliveries before the customer is told.
            waiting_ack_seconds: A waiting customer's messages are acknowledged
                at most this often.
            offer_alternatives_seconds: A waiting customer is offered the
                alternatives again this often (0: only once).
            fast_path: Whether a handed-over conversation's messages that the
                policy would ignore are recorded without running the policies.

        """
        self.channel_name = channel_name
        self.customer_output = customer_output
        self.handover_active = handover_active
        self.support_email = support_email
        self.callback_url = callback_url
        self.retry_interval = float(retry_interval)
        self.notify_after_failures = int(notify_after_failures)
        self.client: Optional[InboxClient] = None
        self.outbox: Optional[Outbox] = None
        self.on_new_message: Optional[OnNewMessage] = None
        self.rasa_agent: RasaAgent = lambda: None
        self.fast_path = fast_path
        # Customer messages of handed-over conversations since start: recorded
        # on the fast path, or run through the policies (the channel's health).
        self.handed_over_messages = {"fast_path": 0, "policies": 0}
        self._worker: Optional[asyncio.Task[None]] = None
        # Response templates per conversation, for messages sent later (an
        # agent assigned after queueing, delivery trouble). Bounded: abandoned
        # conversations are never resolved.
        self._templates: LruDict[str, Dict[str, Any]] = LruDict(MAX_TRACKED)
        # The agent the customer was last told about, per conversation, so that
        # an assignment is announced once (the acknowledgement may already have).
        self._announced_agent: LruDict[str, Optional[str]] = LruDict(MAX_TRACKED)
        self._requesting: Set[str] = set()
        self.waiting_room = WaitingRoom(waiting_ack_seconds, offer_alternatives_seconds)
        # Agents' e-mailed replies the customer was not in the chat to see,
        # shown when they come back (`customer_returned`).
        self._replied_while_away: LruDict[str, List[Dict[str, Any]]] = LruDict(
            MAX_TRACKED
        )
        # Whether the customer has the chat open (the transport knows).
        self.customer_present: Callable[[str], bool] = lambda _conversation: True
        # What the inbox offers customers without an agent (`alternatives`), as
        # it last said; None: not known yet, so nothing is promised. The
        # embedded inbox sets it at start, a standalone one with its answers.
        self.inbox_alternatives: Optional[List[str]] = None
        # Several replicas: the state above, per conversation, shared.
        self.shared: Optional[SharedMemory] = None

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

    # --- The outbox worker. ----------------------------------------------------------

    async def retry_outbox(self) -> int:
        """Tries every due outbox item once; returns how many were delivered."""
        assert self.outbox is not None
        delivered = 0
        failed_conversations = set()
        for item in self.outbox.due():
            if item.conversation_id in failed_conversations:
                continue
            try:
                answer = await self._deliver(item.kind, item.conversation_id, item.body)
            except InboxUnavailableError as error:
                failed_conversations.add(item.conversation_id)
                attempts = self.outbox.failed(item.id, str(error))
                if self.outbox.is_dead(item.id):
                    await self._gave_up(item, f"still failing after {attempts} tries")
                else:
                    await self._maybe_tell_customer(item, attempts)
                continue
            except InboxRejectedError as error:
                self.outbox.dead_letter(item.id, f"rejected by the inbox: {error}")
                await self._gave_up(item, f"rejected by the inbox: {error}")
                continue
            self.outbox.delivered(item.id)
            delivered += 1
            await self._acknowledge(
                item.kind,
                item.conversation_id,
                item.body,
                answer,
                self.customer_output(),
            )
            await self._share(item.conversation_id)
        return delivered

    async def _gave_up(self, item: OutboxItem, why: str) -> None:
        """An outbox item became a dead letter: log it, tell the customer once."""
        logger.error(
            f"rasa-handover: gave up on the {item.kind} of conversation "
            f"'{item.conversation_id}' (outbox item {item.id}, kept as a dead "
            f"letter): {why}. The customer is offered the alternatives."
        )
        if not item.customer_notified and item.kind != KIND_CSAT:
            await self._tell(
                self.customer_output(), item.conversation_id, customer_messages.failed
            )

    async def _maybe_tell_customer(self, item: OutboxItem, attempts: int) -> None:
        assert self.outbox is not None
        if (
            item.kind in QUIET_KINDS
            or item.customer_notified
            or attempts < self.notify_after_failures
        ):
            return
        self.outbox.mark_customer_notified(item.id)
        await self._tell(
            self.customer_output(), item.conversation_id, customer_messages.failed
        )

    def start_worker(self) -> None:
        """Starts retrying the outbox every `retry_interval` seconds."""
        self._worker = asyncio.ensure_future(self._run_worker())

    def stop(self) -> None:
        """Stops the worker and closes the outbox."""
        if self._worker is not None:
            self._worker.cancel()
        if self.outbox is not None:
            self.outbox.close()

    async def _run_worker(self) -> None:
        while True:
            try:
                await self.retry_outbox()
            except Exception:  # keep retrying whatever one round ran into
                logger.exception("rasa-handover: outbox retry round failed.")
            try:
                await self.offer_alternatives_again()
            except Exception:  # a customer gone away must not stop the others
                logger.exception("rasa-handover: offering alternatives failed.")
            await asyncio.sleep(self.retry_interval)

    # --- State shared with other replicas. ------------------------------------------

    async def _recall(self, conversation_id: str) -> None:
        """Takes the conversation's state as the replicas last shared it."""
        if self.shared is None:
            return
        state = await self.shared.load(conversation_id)
        if state is None:
            return
        self._templates[conversation_id] = dict(state.get("templates") or {})
        if "announced_agent" in state:
            self._announced_agent[conversation_id] = state["announced_agent"]
        else:
            self._announced_agent.pop(conversation_id, None)

    async def _share(self, conversation_id: str) -> None:
        """Shares the conversation's state with the other replicas."""
        if self.shared is None:
            return
        state: Dict[str, Any] = {"templates": self._templates.get(conversation_id, {})}
        if conversation_id in self._announced_agent:
            state["announced_agent"] = self._announced_agent.get(conversation_id)
        await self.shared.save(conversation_id, state)

    # --- Telling the customer. -------------------------------------------------------

    def _extra_values(self) -> Dict[str, Any]:
        return {"support_email": self.support_email}

    async def _tell(
        self,
        output: OutputChannel,
        conversation_id: str,
        messages: Callable[..., Iterable[Dict[str, Any]]],
    ) -> None:
        """Sends `messages(templates, extra)`: the delayed or failed notice.

        The failed and expired notices also offer what the inbox offers.
        """
        templates = self._templates.get(conversation_id, {})
        extra = self._extra_values()
        if messages in (customer_messages.failed, customer_messages.expired):
            said = list(messages(templates, extra, self.inbox_alternatives or ()))
        else:
            said = list(messages(templates, extra))
        await _send_all(output, conversation_id, said)

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

    def _learn_alternatives(self, view: Dict[str, Any]) -> None:
        """Remembers what the inbox offers, from a waiting ticket's view."""
        if view.get("status") == STATUS_WAITING and "alternatives" in view:
            self.inbox_alternatives = list(view.get("alternatives") or [])


def message_key(message_id: Optional[str]) -> str:
    """A customer message's idempotency key (`contract.CLIENT_MESSAGE_ID`).

    Rasa's `message_id` (a UUID's 32 hex digits unless the input channel set
    its own) when the inbox accepts it as a key, else a new UUID.
    """
    try:
        key = client_message_id(CLIENT_MESSAGE_ID, message_id)
    except LimitError:
        key = None
    return key or uuid.uuid4().hex


def _metadata(message: Dict[str, Any]) -> Dict[str, Any]:
    return {"metadata": message["metadata"]} if message.get("metadata") else {}


def _left_without_anyone(data: Dict[str, Any]) -> bool:
    """A `queued` event: back in the queue (`reason`) and nobody may take it."""
    return bool(data.get("reason")) and customer_messages.tells_nobody_available(
        data.get("no_agent_reason")
    )


async def _send_all(
    output: OutputChannel, recipient_id: str, messages: Iterable[Dict[str, Any]]
) -> None:
    for message in messages:
        if message.get("buttons"):
            await output.send_text_with_buttons(
                recipient_id, message["text"], message["buttons"]
            )
        else:
            await output.send_text_message(recipient_id, message["text"])
