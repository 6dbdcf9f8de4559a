"""HandoverInput: the customer's channel, with the human inbox behind it.

```yaml
# credentials.yml
rasa_handover.channels.HandoverInput:
  support_email: help@example.com   # offered as an alternative to waiting
  waiting_ack_seconds: 30            # acknowledge a waiting customer at most this often
  offer_alternatives_seconds: 120    # offer callback / message again (0: once)
  relay_fast_path: true              # handed-over messages skip the policies
  customer_secret: ${HANDOVER_CUSTOMER_SECRET}  # signs customers' sessions / tokens
  # inbox_url: http://inbox:5010/webhooks/handover/inbox   # standalone inbox
  # public_url: https://bot.example.com                    # where it reaches us
  # shared_secret: ${HANDOVER_SHARED_SECRET}               # HMAC for both ways
  # redis_url: redis://redis:6379/0   # several Rasa replicas (docs/scaling.md)
```

It speaks the socket.io protocol of Rasa's `socketio` channel (what the
`rasa-webchat` widget uses: `session_request`, `user_uttered`, `bot_uttered`)
and a REST endpoint like Rasa's `rest` channel, plus a long poll for REST clients
to receive agents' messages. By default it mounts the inbox (API and agent page)
at `/webhooks/handover/inbox/`, storing in SQLite (`handover.db`).

This module is the transport only: the REST and socket.io routes, the inbox
mounted under them, the server's lifecycle. What happens to each message (the
handover request, the relay to an agent, the inbox's events, the outbox) is
`relay.HandoverRelay`'s. Who the customer is (signed socket.io session ids,
REST sender tokens) is `customer_auth`'s. With `redis_url`, several Rasa
replicas share the socket.io rooms, the REST mailbox and the applied inbox
events through Redis (`redis_state`; docs/scaling.md).
"""

import logging
import time
from typing import (
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    Coroutine,
    Dict,
    List,
    Optional,
    Tuple,
)

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
from socketio import AsyncRedisManager, AsyncServer

from rasa_handover.channels.action_results import compile_action_result_check
from rasa_handover.channels.customer_auth import (
    CustomerAuth,
    CustomerAuthError,
    checked_secret,
)
from rasa_handover.channels.customer_input_guard import (
    CustomerInputError,
    checked_customer_message,
    checked_poll,
)
from rasa_handover.channels.customer_output import CustomerOutput
from rasa_handover.channels.inbox_client import EmbeddedInboxClient, HttpInboxClient
from rasa_handover.channels.inbox_events import (
    AppliedEvents,
    AppliedIds,
    InboxEventsEndpoint,
)
from rasa_handover.channels.mailbox import (
    CustomerMailbox,
    Mailbox,
    MailboxBusyError,
    MailboxUnavailableError,
)
from rasa_handover.channels.outbox import Outbox
from rasa_handover.channels.redis_state import (
    DEFAULT_PREFIX,
    RedisAppliedEvents,
    RedisMailbox,
    RedisRelayMemory,
    check_reachable,
    checked_prefix,
    checked_redis_url,
    connect,
)
from rasa_handover.channels.relay import (
    NOTIFY_AFTER_FAILURES,
    RETRY_INTERVAL_SECONDS,
    HandoverRelay,
)
from rasa_handover.channels.socket_sessions import SocketSessions
from rasa_handover.channels.waiting_room import (
    OFFER_ALTERNATIVES_SECONDS,
    WAITING_ACK_SECONDS,
)
from rasa_handover.constants import (
    CHANNEL_CREDENTIALS_KEY,
    DEFAULT_OUTBOX,
    SLOT_HANDOVER_ACTIVE,
)
from rasa_handover.inbox.contract import CHANNEL_EVENTS_PATH
from rasa_handover.inbox.signing import SigningKeys, Verifier, request_target

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from rasa_handover.inbox.service import InboxService

logger = logging.getLogger(__name__)

CHANNEL_NAME = "handover"
DEFAULT_SUPPORT_EMAIL = "support@example.com"

Handler = Callable[..., Coroutine[Any, Any, HTTPResponse]]

NO_CUSTOMER_SECRET_WARNING = (
    "rasa-handover: no `customer_secret` in credentials.yml. REST customers "
    "(POST /webhooks/handover/webhook, GET /webhooks/handover/messages/<sender>) "
    "are NOT authenticated: anyone who knows or guesses a sender id can read the "
    "agent's replies to it and write in its name; keep these routes behind your "
    "own backend. socket.io session ids are signed with a key made at start: a "
    "restart (or another replica) starts every widget on a fresh conversation. "
    "Set `customer_secret` (see docs/channel.md#customer-authentication)."
)

_KNOWN_CREDENTIALS = {
    "inbox_url": None,
    "shared_secret": None,
    "customer_secret": None,
    "channel_to_inbox_secret": None,
    "inbox_to_channel_secret": None,
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
    "waiting_ack_seconds": WAITING_ACK_SECONDS,
    "offer_alternatives_seconds": OFFER_ALTERNATIVES_SECONDS,
    "redis_url": None,
    "redis_prefix": DEFAULT_PREFIX,
    "relay_fast_path": True,
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
                f"{CHANNEL_CREDENTIALS_KEY}: unknown credentials "
                f"{unknown} in credentials.yml. Valid keys are "
                f"{sorted(_KNOWN_CREDENTIALS)} (see docs/channel.md)."
            )
        _check_standalone(credentials)
        return cls(**{**_KNOWN_CREDENTIALS, **credentials})

    def __init__(
        self,
        inbox_url: Optional[str] = None,
        shared_secret: Optional[str] = None,
        customer_secret: Optional[str] = None,
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
        waiting_ack_seconds: float = WAITING_ACK_SECONDS,
        offer_alternatives_seconds: float = OFFER_ALTERNATIVES_SECONDS,
        channel_to_inbox_secret: Optional[str] = None,
        inbox_to_channel_secret: Optional[str] = None,
        redis_url: Optional[str] = None,
        redis_prefix: str = DEFAULT_PREFIX,
        relay_fast_path: bool = True,
    ) -> None:
        """Creates the channel (see the module docstring for the credentials)."""
        compile_action_result_check()
        self.inbox_url = inbox_url
        self.shared_secret = shared_secret
        # Several replicas share state through Redis (None: one process).
        self.redis_url = checked_redis_url(redis_url)
        self.redis_prefix = checked_prefix(redis_prefix)
        self._redis: Optional[Redis] = None
        _check_replicas(self.redis_url, customer_secret)
        # Signs socket.io session ids and checks REST sender tokens.
        self.auth = CustomerAuth(checked_secret(customer_secret, shared_secret))
        # The two directions' HMAC keys (a standalone inbox; see `signing`).
        self.signing_keys = SigningKeys.from_settings(
            shared_secret,
            channel_to_inbox_secret,
            inbox_to_channel_secret,
            CHANNEL_CREDENTIALS_KEY,
        )
        self.inbox_events: Optional[InboxEventsEndpoint] = None
        self.db = db
        self.inbox_config_path = inbox_config
        self.outbox_path = outbox
        self.user_message_evt = user_message_evt
        self.bot_message_evt = bot_message_evt
        self.namespace = namespace
        self.socketio_path = socketio_path
        self.session_persistence = session_persistence
        self.metadata_key = metadata_key
        # socket.io: the conversation each connected socket has proved it owns.
        self.sessions = SocketSessions(self.auth, namespace, session_persistence)

        self.sio: Optional[AsyncServer] = None
        # Replaced by the Redis one at start with `redis_url`.
        self.mailbox: CustomerMailbox = Mailbox()
        # The embedded inbox (None with a standalone one).
        self.service: Optional[InboxService] = None
        self._app: Optional[Sanic] = None
        callback_url = None
        if inbox_url and public_url:
            callback_url = (
                f"{public_url.rstrip('/')}/webhooks/{CHANNEL_NAME}{CHANNEL_EVENTS_PATH}"
            )
        self.relay = HandoverRelay(
            CHANNEL_NAME,
            self.customer_output,
            self.handover_active,
            support_email,
            callback_url,
            retry_interval,
            notify_after_failures,
            _seconds(waiting_ack_seconds, "waiting_ack_seconds"),
            _seconds(offer_alternatives_seconds, "offer_alternatives_seconds"),
            _flag(relay_fast_path, "relay_fast_path"),
        )

    # --- Output. -----------------------------------------------------------------

    def customer_output(self) -> CustomerOutput:
        """The output that reaches a customer outside of a request."""
        return CustomerOutput(
            self.sio, self.bot_message_evt, self.mailbox, self.namespace
        )

    def get_output_channel(self) -> Optional[OutputChannel]:
        """Used by Rasa for messages it sends on its own (reminders, triggers)."""
        return self.relay.output(self.customer_output())

    def _rasa_agent(self) -> Any:
        """The agent of `rasa run` (None until the server started, or in tests)."""
        return getattr(getattr(self._app, "ctx", None), "agent", None)

    async def handover_active(self, conversation_id: str) -> bool:
        """Whether a human owns the conversation, from its tracker.

        The tracker store is shared by every Rasa replica, so this is right
        whichever replica handled the handover. Without access to it (tests that
        run the blueprint alone), every message is offered to the inbox, which
        ignores conversations without an open ticket.
        """
        store = getattr(self._rasa_agent(), "tracker_store", None)
        if store is None:
            return True
        tracker = await store.retrieve(conversation_id)
        return bool(tracker is not None and tracker.get_slot(SLOT_HANDOVER_ACTIVE))

    def _customer_present(self, conversation_id: str) -> bool:
        """Whether the customer has the chat open (a socket in their room)."""
        if self.sio is None:
            return False
        namespace = self.namespace or "/"
        try:
            return any(self.sio.manager.get_participants(namespace, conversation_id))
        except (KeyError, ValueError):
            return False

    # --- Set-up. -----------------------------------------------------------------

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """The channel's routes: socket.io, REST, long poll, inbox events."""
        self.relay.on_new_message = on_new_message
        self.relay.rasa_agent = self._rasa_agent
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=[],
            client_manager=self._socket_manager(),
        )
        self.sio = sio
        self.relay.customer_present = self._customer_present
        webhook = SocketBlueprint(sio, self.socketio_path, "handover_webhook", __name__)
        self._mount_inbox(webhook)
        self._add_listeners(webhook)
        self._add_rest_routes(webhook)
        self._add_socket_handlers(sio)
        return webhook

    def _socket_manager(self) -> Optional[AsyncRedisManager]:
        """With `redis_url`, rooms across replicas (python-socketio's own)."""
        if self.redis_url is None:
            return None
        return AsyncRedisManager(self.redis_url, channel=f"{self.redis_prefix}socketio")

    def _mount_inbox(self, blueprint: Blueprint) -> None:
        """Creates the inbox client; embedded, also the inbox under `/inbox`."""
        if self.inbox_url:
            if self.signing_keys is None:
                raise ValueError(
                    f"{CHANNEL_CREDENTIALS_KEY}: `inbox_url` needs "
                    "`shared_secret` (see docs/channel.md)."
                )
            self.relay.client = HttpInboxClient(self.inbox_url, self.signing_keys)
            return
        from rasa_handover.inbox.api import add_inbox_routes
        from rasa_handover.inbox.config import InboxConfig, check_agent_tokens
        from rasa_handover.inbox.service import InboxService

        config = (
            InboxConfig.from_yaml(self.inbox_config_path)
            if self.inbox_config_path
            else InboxConfig()
        )
        check_agent_tokens(config)
        self.service = InboxService.from_config(config, self.db)
        self.relay.inbox_alternatives = list(self.service.alternatives)
        client = EmbeddedInboxClient(self.service)
        client.subscribe(self.relay.on_inbox_event)
        self.relay.client = client
        # The inbox's own listeners create its tables, seed the agents, run its
        # housekeeping and close the store with the server.
        add_inbox_routes(blueprint, self.service, config, path="/inbox")

    def _add_listeners(self, webhook: Blueprint) -> None:
        @webhook.listener("before_server_start")
        async def start(app: Sanic, _: Any) -> None:
            self._app = app
            self.relay.outbox = Outbox(self.outbox_path)
            applied = await self._shared_state()
            if self.signing_keys is not None:
                self.inbox_events = InboxEventsEndpoint(
                    Verifier(self.signing_keys.inbox_to_channel),
                    applied or AppliedEvents(self.outbox_path),
                    self.relay.on_inbox_event,
                )

        @webhook.listener("after_server_start")
        async def start_worker(app: Sanic, _: Any) -> None:
            self.relay.start_worker()
            logger.info(await self.startup_summary())
            if not self.auth.configured:
                logger.warning(NO_CUSTOMER_SECRET_WARNING)

        @webhook.listener("before_server_stop")
        async def stop(app: Sanic, _: Any) -> None:
            self.relay.stop()
            if self.inbox_events is not None:
                self.inbox_events.applied.close()
            if self._redis is not None:
                await self._redis.close()

    async def _shared_state(self) -> Optional[AppliedIds]:
        """With `redis_url`: the Redis mailbox and relay state, the applied ids.

        Raises:
            RuntimeError: Redis does not answer (Rasa does not start).

        """
        if self.redis_url is None:
            return None
        self._redis = connect(self.redis_url)
        await check_reachable(self._redis, self.redis_url)
        self.mailbox = RedisMailbox(self._redis, self.redis_prefix)
        self.relay.shared = RedisRelayMemory(self._redis, self.redis_prefix)
        return RedisAppliedEvents(self._redis, self.redis_prefix)

    async def startup_summary(self) -> str:
        """One line for `rasa run`'s log: where the inbox is, agents, storage."""
        if self.inbox_url:
            return (
                f"rasa-handover: standalone inbox at {self.inbox_url}; its own "
                f"log says how many agents are online."
            )
        if self.service is None:
            return "rasa-handover: no inbox is mounted."
        agents = await self.service.store.list_agents()
        online = sum(1 for agent in agents if agent.online)
        storage = _without_password(self.service.store.url)
        return (
            f"rasa-handover: inbox at /webhooks/{CHANNEL_NAME}/inbox/ (the agent "
            f"page), {len(agents)} agent(s) defined, {online} online (agents go "
            f"online on the agent page), storage {storage}."
        )

    # --- REST. -------------------------------------------------------------------

    def _add_rest_routes(self, webhook: Blueprint) -> None:
        routes: List[Tuple[str, str, Handler, str]] = [
            ("GET", "/", self._health, "health"),
            ("POST", "/webhook", self._receive, "receive"),
            ("GET", "/messages/<conversation_id>", self._poll, "poll"),
            ("POST", CHANNEL_EVENTS_PATH, self._inbox_events, "inbox_events"),
        ]
        for method, uri, handler, name in routes:
            webhook.add_route(_handler(handler), uri, methods=[method], name=name)

    async def _health(self, _: Request) -> HTTPResponse:
        outbox = self.relay.outbox
        return response.json(
            {
                "status": "ok",
                "inbox": "standalone" if self.inbox_url else "embedded",
                "outbox_pending": outbox.pending_count() if outbox else None,
                "relay_fast_path": self.relay.fast_path,
                "handed_over_messages": self.relay.handed_over_messages,
            }
        )

    async def _receive(self, request: Request) -> HTTPResponse:
        body = request.json if isinstance(request.json, dict) else None
        if body is None:
            return _bad_request("The body must be a JSON object.", "body")
        try:
            sender, text, metadata = checked_customer_message(
                body.get("sender"), body.get("message"), body.get("metadata")
            )
        except CustomerInputError as error:
            return _bad_request(str(error), error.field)
        refused = self._unauthenticated(request, sender)
        if refused is not None:
            return refused
        collector = CollectingOutputChannel()
        await self.relay.handle_customer_message(text, sender, collector, metadata)
        return response.json(collector.messages)

    async def _poll(self, request: Request, conversation_id: str) -> HTTPResponse:
        try:
            after, wait = checked_poll(conversation_id, request.args)
            refused = self._unauthenticated(request, conversation_id)
            if refused is not None:
                return refused
            messages = await self.mailbox.wait(conversation_id, after, wait)
        except CustomerInputError as error:
            return _bad_request(str(error), error.field)
        except MailboxBusyError as error:
            return response.json({"error": str(error)}, 429)
        except MailboxUnavailableError as error:
            return response.json({"error": str(error)}, 503)
        return response.json({"messages": messages})

    def _unauthenticated(self, request: Request, sender: str) -> Optional[HTTPResponse]:
        """A 401 / 403 unless the request carries a valid token for `sender`."""
        try:
            self.auth.check_sender(
                sender, request.headers.get("authorization"), time.time()
            )
        except CustomerAuthError as error:
            return response.json(
                {"error": str(error), "field": "authorization"},
                error.status,
                headers={"WWW-Authenticate": 'Bearer realm="rasa-handover"'},
            )
        return None

    async def _inbox_events(self, request: Request) -> HTTPResponse:
        if self.inbox_events is None:
            return response.json(
                {"error": "no standalone inbox is configured", "field": None}, 403
            )
        status, body = await self.inbox_events.handle(
            request.method,
            request_target(request.path, request.query_string),
            request.body or b"",
            request.headers,
        )
        return response.json(body, status)

    # --- socket.io (the protocol of Rasa's `socketio` channel). -------------------

    def _add_socket_handlers(self, sio: AsyncServer) -> None:
        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: Dict, auth: Optional[Dict]) -> bool:
            return True

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: str, *_: Any) -> None:
            self.sessions.forget(sid)

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Optional[Dict]) -> None:
            stored = data.get("session_id") if isinstance(data, dict) else None
            session_id, conversation_id = await self.sessions.enter(sio, sid, stored)
            await sio.emit(
                "session_confirm", session_id, room=sid, namespace=self.namespace
            )
            # Agents' replies e-mailed while the customer was away.
            await self.relay.customer_returned(conversation_id, self.customer_output())

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> None:
            data = data if isinstance(data, dict) else {}
            output = SocketIOOutput(sio, self.bot_message_evt)
            sender_id = self.sessions.sender(sid, data.get("session_id"))
            if sender_id is None:
                return
            try:
                message = checked_customer_message(
                    sender_id, data.get("message", ""), data.get(self.metadata_key)
                )
            except CustomerInputError as error:
                logger.warning(f"rasa-handover: a socket.io message refused: {error}")
                return
            await self.relay.handle_customer_message(
                message.text, message.sender_id, output, message.metadata
            )


def _check_standalone(credentials: Dict[str, Any]) -> None:
    """A standalone inbox needs its keys and the URL it reaches this channel at.

    Raises:
        ValueError: saying what to add to credentials.yml.

    """
    if not credentials.get("inbox_url"):
        return
    where = CHANNEL_CREDENTIALS_KEY
    if not (
        credentials.get("shared_secret")
        or credentials.get("channel_to_inbox_secret")
        or credentials.get("inbox_to_channel_secret")
    ):
        raise ValueError(
            f"{where}: `inbox_url` points to a standalone inbox, which only "
            "accepts HMAC-signed requests. Set `shared_secret` to the inbox's "
            "secret (see docs/channel.md)."
        )
    if not credentials.get("public_url"):
        raise ValueError(
            f"{where}: `inbox_url` points to a standalone inbox, which must "
            "reach this channel to deliver agents' replies and the end of a "
            "handover; without `public_url` they would never arrive. Set "
            "`public_url` to this Rasa server's address as the inbox sees it, "
            "e.g. `public_url: http://rasa:5005` (see docs/channel.md)."
        )


def _check_replicas(redis_url: Optional[str], customer_secret: Any) -> None:
    """Replicas need one `customer_secret`: each must accept the others' sessions.

    Raises:
        ValueError: `redis_url` without `customer_secret`.

    """
    if redis_url is not None and customer_secret is None:
        raise ValueError(
            f"{CHANNEL_CREDENTIALS_KEY}: `redis_url` is for several Rasa "
            "replicas, and each must accept the socket.io sessions and REST "
            "sender tokens the others issued; without `customer_secret` each "
            "would sign them with its own key made at start. Set "
            "`customer_secret: ${HANDOVER_CUSTOMER_SECRET}`, the same on every "
            "replica (see docs/scaling.md)."
        )


def _seconds(value: Any, key: str) -> float:
    """A credentials.yml duration, or a ValueError saying what to write."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(
            f"{CHANNEL_CREDENTIALS_KEY}: `{key}` must be a number of "
            f"seconds >= 0, got {value!r} (see docs/channel.md)."
        )
    return float(value)


def _flag(value: Any, key: str) -> bool:
    """A credentials.yml switch, or a ValueError saying what to write."""
    if not isinstance(value, bool):
        raise ValueError(
            f"{CHANNEL_CREDENTIALS_KEY}: `{key}` must be true or "
            f"false, got {value!r} (see docs/channel.md)."
        )
    return value


def _bad_request(message: str, field: str) -> HTTPResponse:
    return response.json({"error": message, "field": field}, 400)


def _handler(method: Handler) -> Handler:
    """A plain function calling `method`.

    Sanic (21.12) marks every handler with its blueprint's name, an attribute a
    bound method cannot take.
    """

    async def handler(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        return await method(request, *args, **kwargs)

    return handler


def _without_password(url: str) -> str:
    """A database URL fit for a log line."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unusual URL is still logged, only its scheme
        return url.split(":", 1)[0]
