"""HandoverInput: the customer's channel, with the human inbox behind it.

```yaml
# credentials.yml
rasa_handover.channels.HandoverInput:
  support_email: help@example.com   # offered as an alternative to waiting
  # inbox_url: http://inbox:5010/webhooks/handover/inbox   # standalone inbox
  # shared_secret: ${HANDOVER_SHARED_SECRET}               # HMAC for it
```

It speaks the socket.io protocol of Rasa's `socketio` channel (what the
`rasa-webchat` widget uses: `session_request`, `user_uttered`, `bot_uttered`)
and a REST endpoint like Rasa's `rest` channel, plus a long poll for REST clients
to receive agents' messages. By default it mounts the inbox (API and agent page)
at `/webhooks/handover/inbox/`, storing in SQLite (`handover.db`).

While a human owns the conversation, every customer message is relayed to the
inbox and still goes through Rasa (so the tracker records it; HandoverPolicy
keeps the bot silent). An agent's reply is pushed to the customer; resolving the
ticket sends the `handover_resolved` intent, so `action_handback` runs.
"""

import asyncio
import inspect
import json
import logging
import time
from typing import Any, Awaitable, Callable, Dict, Optional, Set

from rasa.core.channels.channel import (
    CollectingOutputChannel,
    InputChannel,
    OutputChannel,
    UserMessage,
)
from rasa.core.channels.socketio import SocketBlueprint, SocketIOOutput
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from rasa_handover.channels import customer_messages
from rasa_handover.channels.handover_output import CustomerOutput, HandoverOutput
from rasa_handover.channels.inbox_client import (
    EmbeddedInboxClient,
    HttpInboxClient,
    InboxRejectedError,
    InboxUnavailableError,
)
from rasa_handover.channels.mailbox import Mailbox
from rasa_handover.channels.outbox import (
    KIND_CALLBACK,
    KIND_HANDOVER,
    KIND_RELAY,
    Outbox,
    OutboxItem,
)
from rasa_handover.constants import (
    INTENT_HANDOVER_RESOLVED,
    MESSAGE_CALLBACK,
    MESSAGE_HANDOVER,
    METADATA_AGENT_NAME,
    METADATA_OUTCOME,
    SLOT_HANDOVER_ACTIVE,
)
from rasa_handover.responses import UTTER_CALLBACK_SCHEDULED, UTTER_CONNECTING, fill

logger = logging.getLogger(__name__)

CHANNEL_NAME = "handover"
DEFAULT_OUTBOX = "handover_outbox.db"
DEFAULT_SUPPORT_EMAIL = "support@example.com"
# How often the outbox is retried (its items have their own backoff).
RETRY_INTERVAL_SECONDS = 1.0
# Tell the customer about the trouble after this many failed deliveries.
NOTIFY_AFTER_FAILURES = 3
# Long poll: how long a REST client's request may wait for new messages.
LONG_POLL_MAX_SECONDS = 30.0
HANDBACK_TEXT = f"/{INTENT_HANDOVER_RESOLVED}"

_KNOWN_CREDENTIALS = {
    "inbox_url": None,
    "shared_secret": None,
    "db": None,
    "inbox_config": None,
    "public_url": None,
    "outbox": DEFAULT_OUTBOX,
    "support_email": DEFAULT_SUPPORT_EMAIL,
    "user_message_evt": "user_uttered",
    "bot_message_evt": "bot_uttered",
    "namespace": None,
    "socketio_path": "/socket.io",
    "session_persistence": True,
    "metadata_key": "metadata",
    "retry_interval": RETRY_INTERVAL_SECONDS,
    "notify_after_failures": NOTIFY_AFTER_FAILURES,
}


class HandoverInput(InputChannel):
    """A socket.io + REST channel that hands conversations to a human inbox."""

    @classmethod
    def name(cls) -> str:
        """The channel's name: its routes live under `/webhooks/handover/`."""
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        """Creates the channel from its `credentials.yml` entry.

        Raises:
            ValueError: naming unknown keys (a typo would otherwise be ignored).

        """
        credentials = dict(credentials or {})
        unknown = sorted(set(credentials) - set(_KNOWN_CREDENTIALS))
        if unknown:
            raise ValueError(
                f"rasa_handover.channels.HandoverInput: unknown credentials "
                f"{unknown} in credentials.yml. Valid keys are "
                f"{sorted(_KNOWN_CREDENTIALS)} (see docs/channel.md)."
            )
        if credentials.get("inbox_url") and not credentials.get("shared_secret"):
            raise ValueError(
                "rasa_handover.channels.HandoverInput: `inbox_url` points to a "
                "standalone inbox, which only accepts HMAC-signed requests. Set "
                "`shared_secret` to the inbox's secret (see docs/channel.md)."
            )
        return cls(**{**_KNOWN_CREDENTIALS, **credentials})

    def __init__(
        self,
        inbox_url: Optional[str] = None,
        shared_secret: Optional[str] = None,
        db: Optional[str] = None,
        inbox_config: Optional[str] = None,
        public_url: Optional[str] = None,
        outbox: str = DEFAULT_OUTBOX,
        support_email: str = DEFAULT_SUPPORT_EMAIL,
        user_message_evt: str = "user_uttered",
        bot_message_evt: str = "bot_uttered",
        namespace: Optional[str] = None,
        socketio_path: str = "/socket.io",
        session_persistence: bool = True,
        metadata_key: str = "metadata",
        retry_interval: float = RETRY_INTERVAL_SECONDS,
        notify_after_failures: int = NOTIFY_AFTER_FAILURES,
    ) -> None:
        """Creates the channel (see the module docstring for the credentials)."""
        self.inbox_url = inbox_url
        self.shared_secret = shared_secret
        self.db = db
        self.inbox_config_path = inbox_config
        self.public_url = public_url
        self.outbox_path = outbox
        self.support_email = support_email
        self.user_message_evt = user_message_evt
        self.bot_message_evt = bot_message_evt
        self.namespace = namespace
        self.socketio_path = socketio_path
        self.session_persistence = session_persistence
        self.metadata_key = metadata_key
        self.retry_interval = float(retry_interval)
        self.notify_after_failures = int(notify_after_failures)

        self.sio: Optional[AsyncServer] = None
        self.mailbox = Mailbox()
        self.outbox: Optional[Outbox] = None
        self.client: Any = None
        self.service: Any = None
        self._on_new_message: Optional[Callable[[UserMessage], Awaitable[Any]]] = None
        self._worker: Optional[asyncio.Task[None]] = None
        # Response templates per conversation, for messages sent later (an
        # agent assigned after queueing, delivery trouble).
        self._templates: Dict[str, Dict[str, Any]] = {}
        # The agent the customer was last told about, per conversation, so that
        # an assignment is announced once (the acknowledgement may already have).
        self._announced_agent: Dict[str, Optional[str]] = {}
        self._requesting: Set[str] = set()
        self._app: Optional[Sanic] = None

    # --- Output. -----------------------------------------------------------------

    def customer_output(self) -> CustomerOutput:
        """The output that reaches a customer outside of a request."""
        return CustomerOutput(
            self.sio, self.bot_message_evt, self.mailbox, self.namespace
        )

    def get_output_channel(self) -> Optional[OutputChannel]:
        """Used by Rasa for messages it sends on its own (reminders, triggers)."""
        return HandoverOutput(self.customer_output(), self)

    def _extra_values(self) -> Dict[str, Any]:
        return {"support_email": self.support_email}

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
        templates = message.get("responses") or {}
        self._templates[conversation_id] = templates
        if kind == MESSAGE_HANDOVER:
            body = {
                "attempt": int(message.get("attempt") or 1),
                "payload": self._with_callback_url(message.get("payload") or {}),
            }
            await self._deliver_or_queue(KIND_HANDOVER, conversation_id, body, output)
        elif kind == MESSAGE_CALLBACK:
            body = {
                "when": message.get("when"),
                "contact": message.get("contact"),
                "payload": message.get("payload") or {},
            }
            await self._deliver_or_queue(KIND_CALLBACK, conversation_id, body, output)
        else:
            logger.warning(
                f"Ignoring a rasa_handover message of unknown type {kind!r}."
            )

    def _with_callback_url(self, payload: Dict[str, Any]) -> Dict[str, Any]:
        if self.inbox_url and self.public_url:
            payload = {
                **payload,
                "channel_callback_url": f"{self.public_url.rstrip('/')}"
                f"/webhooks/{CHANNEL_NAME}/events",
            }
        return payload

    async def _deliver_or_queue(
        self,
        kind: str,
        conversation_id: str,
        body: Dict[str, Any],
        output: OutputChannel,
    ) -> None:
        assert self.outbox is not None, "the channel's server has not started"
        if self.outbox.has_pending(conversation_id):
            # Earlier requests of this conversation are still undelivered: keep
            # the order, and let the worker deliver this one after them.
            self.outbox.add(kind, conversation_id, body)
            if kind != KIND_RELAY:
                await self._tell_delayed(conversation_id, output)
            return
        self._requesting.add(conversation_id)
        try:
            answer = await self._deliver(kind, conversation_id, body)
        except InboxUnavailableError as error:
            self._requesting.discard(conversation_id)
            logger.warning(
                f"The inbox is unavailable ({error}); the {kind} of conversation "
                f"'{conversation_id}' is kept in the outbox and retried."
            )
            self.outbox.add(kind, conversation_id, body)
            if kind != KIND_RELAY:
                await self._tell_delayed(conversation_id, output)
            return
        except InboxRejectedError as error:
            self._requesting.discard(conversation_id)
            logger.error(
                f"The inbox rejected the {kind} of conversation '{conversation_id}': "
                f"{error}. The customer is offered the alternatives."
            )
            if kind != KIND_RELAY:
                await _send_all(
                    output,
                    conversation_id,
                    customer_messages.failed(
                        self._templates.get(conversation_id, {}), self._extra_values()
                    ),
                )
            return
        self._requesting.discard(conversation_id)
        await self._acknowledge(kind, conversation_id, body, answer, output)

    async def _tell_delayed(self, conversation_id: str, output: OutputChannel) -> None:
        await _send_all(
            output,
            conversation_id,
            customer_messages.delayed(
                self._templates.get(conversation_id, {}), self._extra_values()
            ),
        )

    async def _deliver(
        self, kind: str, conversation_id: str, body: Dict[str, Any]
    ) -> Dict[str, Any]:
        if kind == KIND_HANDOVER:
            return dict(
                await self.client.request_handover(
                    conversation_id, body["attempt"], body["payload"]
                )
            )
        if kind == KIND_CALLBACK:
            return dict(
                await self.client.schedule_callback(
                    conversation_id,
                    body.get("when"),
                    body.get("contact"),
                    body["payload"],
                )
            )
        relayed = await self.client.relay(conversation_id, body["text"])
        return {"relayed": relayed}

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
            self._announced_agent[conversation_id] = answer.get("agent_name")
            await _send_all(
                output,
                conversation_id,
                customer_messages.acknowledgement(
                    answer, templates, self._extra_values()
                ),
            )
        elif kind == KIND_CALLBACK:
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

    # --- Customer messages while a human owns the conversation. --------------------

    async def handover_active(self, conversation_id: str) -> bool:
        """Whether a human owns the conversation, from its tracker.

        The tracker store is shared by every Rasa replica, so this is right
        whichever replica handled the handover. Without access to it (tests that
        run the blueprint alone), every message is offered to the inbox, which
        ignores conversations without an open ticket.
        """
        agent = getattr(getattr(self._app, "ctx", None), "agent", None)
        store = getattr(agent, "tracker_store", None)
        if store is None:
            return True
        tracker = await store.retrieve(conversation_id)
        return bool(tracker is not None and tracker.get_slot(SLOT_HANDOVER_ACTIVE))

    async def relay_to_inbox(self, conversation_id: str, text: str) -> None:
        """Relays a customer message to the open ticket while a human owns it."""
        if not text or text.startswith(HANDBACK_TEXT):
            return
        if not await self.handover_active(conversation_id):
            return
        await self._deliver_or_queue(
            KIND_RELAY, conversation_id, {"text": text}, self.customer_output()
        )

    async def _handle_customer_message(
        self,
        text: str,
        sender_id: str,
        output: OutputChannel,
        metadata: Optional[Dict[str, Any]],
    ) -> None:
        assert self._on_new_message is not None
        await self.relay_to_inbox(sender_id, text)
        await self._on_new_message(
            UserMessage(
                text,
                HandoverOutput(output, self),
                sender_id,
                input_channel=self.name(),
                metadata=metadata,
            )
        )

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
        kind = event.get("type")
        data = event.get("data") or {}
        output = self.customer_output()
        agent_name = data.get("agent_name") or ticket.get("agent_name")
        if kind == "message" and data.get("sender") == "agent":
            await output.send_text_message(
                conversation_id,
                str(data.get("text") or ""),
                metadata={"from": "agent", "agent_name": agent_name},
            )
        elif (
            kind == "assigned"
            and conversation_id not in self._requesting
            and agent_name
            and agent_name != self._announced_agent.get(conversation_id)
        ):
            # Assigned after waiting in the queue (or transferred): say who it is.
            self._announced_agent[conversation_id] = agent_name
            template = self._templates.get(conversation_id, {}).get(UTTER_CONNECTING)
            if template:
                values = customer_messages.ticket_values(
                    {**ticket, "agent_name": agent_name}, self._extra_values()
                )
                await output.send_text_message(
                    conversation_id, fill(str(template["text"]), values)
                )
        elif kind == "queued" and data.get("wait_text"):
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
        elif kind == "resolved" and self._on_new_message is not None:
            self._templates.pop(conversation_id, None)
            self._announced_agent.pop(conversation_id, None)
            await self._on_new_message(
                UserMessage(
                    HANDBACK_TEXT,
                    HandoverOutput(output, self),
                    conversation_id,
                    input_channel=self.name(),
                    metadata={
                        METADATA_AGENT_NAME: agent_name,
                        METADATA_OUTCOME: data.get("outcome"),
                    },
                )
            )

    async def _on_embedded_event(self, event: Any, ticket: Any) -> None:
        await self.on_inbox_event(_to_dict(event), _ticket_dict(ticket))

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
                await self._maybe_tell_customer(item, attempts)
                continue
            except InboxRejectedError as error:
                logger.error(
                    f"Outbox item {item.id} was rejected by the inbox: {error}"
                )
                self.outbox.delivered(item.id)
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
        return delivered

    async def _maybe_tell_customer(self, item: OutboxItem, attempts: int) -> None:
        assert self.outbox is not None
        if (
            item.kind == KIND_RELAY
            or item.customer_notified
            or attempts < self.notify_after_failures
        ):
            return
        self.outbox.mark_customer_notified(item.id)
        await _send_all(
            self.customer_output(),
            item.conversation_id,
            customer_messages.failed(
                self._templates.get(item.conversation_id, {}), self._extra_values()
            ),
        )

    async def _run_worker(self) -> None:
        while True:
            try:
                await self.retry_outbox()
            except Exception:  # keep retrying whatever one round ran into
                logger.exception("rasa-handover: outbox retry round failed.")
            await asyncio.sleep(self.retry_interval)

    # --- Set-up. -----------------------------------------------------------------

    def _mount_inbox(self, blueprint: Blueprint) -> None:
        """Creates the inbox client; embedded, also the inbox under `/inbox`."""
        if self.inbox_url:
            self.client = HttpInboxClient(self.inbox_url, self.shared_secret or "")
            return
        from rasa_handover.inbox.api import add_inbox_routes
        from rasa_handover.inbox.config import InboxConfig
        from rasa_handover.inbox.service import InboxService
        from rasa_handover.inbox.store import InboxStore

        config = (
            InboxConfig.from_yaml(self.inbox_config_path)
            if self.inbox_config_path
            else InboxConfig()
        )
        self.service = InboxService(
            InboxStore(self.db or config.db_url),
            hours=config.hours,
            continuity_window=config.continuity_window,
            alternatives=config.alternatives,
        )
        self.service.subscribe(self._on_embedded_event)
        self.client = EmbeddedInboxClient(self.service)
        # The inbox's own listeners create its tables, seed the agents, run its
        # housekeeping and close the store with the server.
        add_inbox_routes(blueprint, self.service, config, path="/inbox")

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """The channel's routes: socket.io, REST, long poll, inbox events."""
        self._on_new_message = on_new_message
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[])
        self.sio = sio
        webhook = SocketBlueprint(sio, self.socketio_path, "handover_webhook", __name__)
        self._mount_inbox(webhook)

        @webhook.listener("before_server_start")
        async def start(app: Sanic, _: Any) -> None:
            self._app = app
            self.outbox = Outbox(self.outbox_path)

        @webhook.listener("after_server_start")
        async def start_worker(app: Sanic, _: Any) -> None:
            self._worker = asyncio.ensure_future(self._run_worker())

        @webhook.listener("before_server_stop")
        async def stop(app: Sanic, _: Any) -> None:
            if self._worker is not None:
                self._worker.cancel()
            if self.outbox is not None:
                self.outbox.close()

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json(
                {
                    "status": "ok",
                    "inbox": "standalone" if self.inbox_url else "embedded",
                    "outbox_pending": self.outbox.pending_count()
                    if self.outbox
                    else None,
                }
            )

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json if isinstance(request.json, dict) else None
            if body is None:
                return response.json(
                    {"error": "The body must be a JSON object.", "field": "body"}, 400
                )
            sender = body.get("sender")
            text = body.get("message")
            if not isinstance(sender, str) or not sender:
                return response.json(
                    {
                        "error": "`sender` must be a non-empty string.",
                        "field": "sender",
                    },
                    400,
                )
            if not isinstance(text, str):
                return response.json(
                    {"error": "`message` must be a string.", "field": "message"}, 400
                )
            collector = CollectingOutputChannel()
            await self._handle_customer_message(
                text, sender, collector, body.get("metadata")
            )
            return response.json(collector.messages)

        @webhook.route("/messages/<conversation_id>", methods=["GET"])
        async def poll(request: Request, conversation_id: str) -> HTTPResponse:
            try:
                after = int(request.args.get("after", 0))
                wait = min(float(request.args.get("wait", 0)), LONG_POLL_MAX_SECONDS)
            except ValueError:
                return response.json(
                    {
                        "error": "`after` must be an integer and `wait` a number.",
                        "field": "after",
                    },
                    400,
                )
            messages = await self.mailbox.wait(conversation_id, after, wait)
            return response.json({"messages": messages})

        @webhook.route("/events", methods=["POST"])
        async def inbox_events(request: Request) -> HTTPResponse:
            from rasa_handover.inbox.signing import SignatureError, verify

            try:
                verify(
                    request.body,
                    dict(request.headers),
                    self.shared_secret or "",
                    time.time(),
                )
            except SignatureError as error:
                return response.json({"error": str(error)}, 401)
            try:
                body = json.loads(request.body)
                await self.on_inbox_event(body["event"], body["ticket"])
            except (ValueError, KeyError, TypeError) as error:
                return response.json(
                    {
                        "error": f"Expected {{'event': ..., 'ticket': ...}}: {error}",
                        "field": "event",
                    },
                    400,
                )
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: Dict, auth: Optional[Dict]) -> bool:
            return True

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Optional[Dict]) -> None:
            data = data or {}
            session_id = data.get("session_id") or sid
            if self.session_persistence:
                # A coroutine in recent python-socketio 5.x, a plain call before
                # (Rasa's own socketio channel forgets to await it).
                entered = sio.enter_room(sid, session_id, namespace=self.namespace)
                if inspect.isawaitable(entered):
                    await entered
            await sio.emit(
                "session_confirm", session_id, room=sid, namespace=self.namespace
            )

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Dict) -> None:
            output = SocketIOOutput(sio, self.bot_message_evt)
            if self.session_persistence:
                # Replies go to the session's room (the sender id), so every
                # tab of the customer sees them, like the agent's replies.
                sender_id = data.get("session_id")
                if not sender_id:
                    logger.warning(
                        "rasa-handover: a socket.io message without `session_id` was "
                        "ignored; send `session_request` first (rasa-webchat does)."
                    )
                    return
            else:
                sender_id = sid
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            await self._handle_customer_message(
                str(data.get("message", "")), sender_id, output, metadata
            )

        return webhook


async def _send_all(output: OutputChannel, recipient_id: str, messages: Any) -> None:
    for message in messages:
        if message.get("buttons"):
            await output.send_text_with_buttons(
                recipient_id, message["text"], message["buttons"]
            )
        else:
            await output.send_text_message(recipient_id, message["text"])


def _to_dict(value: Any) -> Dict[str, Any]:
    if isinstance(value, dict):
        return value
    if hasattr(value, "to_dict"):
        return dict(value.to_dict())
    return dict(vars(value))


def _ticket_dict(ticket: Any) -> Dict[str, Any]:
    data = _to_dict(ticket)
    return data
