"""The inbox's HTTP API (Sanic 21.12), for agents' pages and standalone channels.

* Agent endpoints need `Authorization: Bearer <agent token>`.
* Channel endpoints (`/api/channel/...`) need an HMAC signature of method,
  path, query, timestamp, nonce and body, made with the channel-to-inbox key
  (see `signing`); without a configured secret they are off.
* Errors are JSON: `{"error": "...", "field": "<name or null>"}` with 400
  (malformed), 401 (token/signature), 403 (disabled), 404 (unknown ticket),
  409 (state conflict). No request can make a handler raise into Sanic.

`inbox_blueprint()` gives a mountable blueprint; `add_inbox_routes()` adds the
same routes to an existing blueprint (the handover channel's, so the inbox lives
under the channel's URL inside `rasa run`); `create_app()` builds the standalone
app. The OpenAPI document is `rasa_handover.inbox.openapi.OPENAPI`.
"""

import asyncio
import contextlib
import functools
import json
import logging
import math
from datetime import datetime, timezone
from typing import (
    Any,
    Awaitable,
    Callable,
    Coroutine,
    Dict,
    List,
    Mapping,
    Optional,
    Tuple,
    Type,
)

from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from rasa_handover.__version__ import __version__
from rasa_handover.inbox.access import ROLE_AGENT, ROLE_SUPERVISOR
from rasa_handover.inbox.change_feed import ChangeFeed
from rasa_handover.inbox.config import DEFAULT_URL_PREFIX, InboxConfig
from rasa_handover.inbox.contract import (
    CLIENT_MESSAGE_ID,
    PATH_CHANNEL_CALLBACKS,
    PATH_CHANNEL_CSAT,
    PATH_CHANNEL_LEFT_MESSAGES,
    PATH_CHANNEL_MESSAGES,
    PATH_CHANNEL_TICKETS,
    PAYLOAD_CALLBACK_URL,
    RELAYED,
    RELAYED_MESSAGE,
    RELAYED_TICKET,
    csat_answer,
)
from rasa_handover.inbox.errors import (
    ConflictError,
    InboxError,
    NotFoundError,
    ValidationError,
)
from rasa_handover.inbox.limits import (
    MAX_CHANNEL_URL_CHARS,
    MAX_CONVERSATION_ID_CHARS,
    MAX_ID,
    MAX_JSON_DEPTH,
    MAX_NOTE_CHARS,
    MAX_TEXT_CHARS,
    FailureLimiter,
    LimitError,
    client_message_id,
    json_depth,
    message_id,
    seconds,
)
from rasa_handover.inbox.models import Agent, LifecycleEvent, Ticket
from rasa_handover.inbox.notifier import WebhookNotifier
from rasa_handover.inbox.openapi import openapi_document
from rasa_handover.inbox.outcome_intents import check_outcome_intent, intent_choices
from rasa_handover.inbox.page import add_page_routes
from rasa_handover.inbox.service import InboxService
from rasa_handover.inbox.signing import (
    NONCE_HEADER,
    SIGNATURE_HEADER,
    SignatureError,
    Verifier,
    request_target,
)
from rasa_handover.inbox.store.engine import is_database_unreachable
from rasa_handover.inbox.store.replay import (
    USED_SIGNATURE_NONCE,
    USED_STREAM_TICKET,
)
from rasa_handover.inbox.stream_tickets import (
    StreamTicketError,
    StreamTickets,
    UnknownStreamTicketError,
)
from rasa_handover.limits import clean_text

logger = logging.getLogger(__name__)

HTTP_OK = 200
HTTP_CREATED = 201
HTTP_BAD_REQUEST = 400
HTTP_UNAUTHORIZED = 401
HTTP_FORBIDDEN = 403
HTTP_NOT_FOUND = 404
HTTP_CONFLICT = 409
HTTP_TOO_MANY_REQUESTS = 429
HTTP_SERVER_ERROR = 500
HTTP_UNAVAILABLE = 503
# What a 503 for an unreachable database asks clients to wait before retrying.
DATABASE_RETRY_AFTER_SECONDS = 5

# Server-sent events: how often the stream looks for events written by other
# replicas (local changes wake it at once, and on PostgreSQL other replicas'
# too: `change_feed`; the poll is the fallback), how long one stream lives before the
# browser reconnects with Last-Event-ID (bounded, so no stream outlives its
# client). The stream also sends a keep-alive comment every
# `Presence.heartbeat_seconds` (through proxies) and, once it went out,
# records the agent as present: an open page is what keeps an agent online.
SSE_POLL_SECONDS = 1.0
SSE_MAX_STREAM_SECONDS = 300.0
SSE_RETRY_MILLISECONDS = 3000

DEFAULT_APP_NAME = "rasa_handover_inbox"

Handler = Callable[..., Coroutine[Any, Any, Optional[HTTPResponse]]]

_ERROR_STATUS: Tuple[Tuple[Type[InboxError], int], ...] = (
    (ValidationError, HTTP_BAD_REQUEST),
    (NotFoundError, HTTP_NOT_FOUND),
    (ConflictError, HTTP_CONFLICT),
)


class ApiError(InboxError):
    """An HTTP error with a JSON body.

    Attributes:
        status: The HTTP status.

    """

    def __init__(self, status: int, message: str, field: Optional[str] = None) -> None:
        super().__init__(message, field)
        self.status = status


def error_response(
    status: int,
    message: str,
    field: Optional[str] = None,
    headers: Optional[Dict[str, str]] = None,
) -> HTTPResponse:
    """The JSON error body every endpoint uses."""
    if status == HTTP_UNAUTHORIZED:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return json_response(
        {"error": message, "field": field}, status=status, headers=headers
    )


def database_unavailable_response() -> HTTPResponse:
    """503 with Retry-After: the database cannot be reached right now."""
    return error_response(
        HTTP_UNAVAILABLE,
        "the inbox's database is unreachable, so the request was not carried "
        f"out; retry in {DATABASE_RETRY_AFTER_SECONDS} s (Retry-After)",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


def inbox_blueprint(
    service: InboxService,
    config: InboxConfig,
    name: str = DEFAULT_APP_NAME,
    manage_lifecycle: bool = True,
) -> Blueprint:
    """A blueprint with the whole inbox API under `config.url_prefix`.

    Args:
        service: The inbox service the endpoints call.
        config: Agents, secret, prefix, housekeeping interval.
        name: Blueprint name (unique per app).
        manage_lifecycle: Create tables and seed agents on startup, run the
            housekeeping loop, close the store on shutdown.

    Returns:
        The blueprint, ready for `app.blueprint(...)`.

    """
    blueprint = Blueprint(name, url_prefix=config.url_prefix or DEFAULT_URL_PREFIX)
    add_inbox_routes(blueprint, service, config, manage_lifecycle=manage_lifecycle)
    return blueprint


def add_inbox_routes(
    blueprint: Blueprint,
    service: InboxService,
    config: InboxConfig,
    path: str = "",
    manage_lifecycle: bool = True,
) -> None:
    """Adds the inbox endpoints (and lifecycle listeners) to `blueprint`.

    The handover channel uses this with `path="/inbox"` on its own blueprint, so
    that inside `rasa run` the API is at `/webhooks/handover/inbox/api/...`.

    Args:
        blueprint: Where to add the routes.
        service: The inbox service.
        config: Agents, secret, housekeeping interval.
        path: Prefix of every route within the blueprint.
        manage_lifecycle: See `inbox_blueprint`.

    """
    api = _InboxApi(service, config)
    routes: List[Tuple[str, str, Handler, str]] = [
        ("GET", "/api/health", api.health, "health"),
        ("GET", "/openapi.json", api.openapi, "openapi"),
        ("GET", "/api/me", api.me, "me"),
        ("GET", "/api/report", api.report, "report"),
        ("POST", "/api/agents/me/availability", api.availability, "availability"),
        ("POST", "/api/agents/me/heartbeat", api.heartbeat, "heartbeat"),
        ("GET", "/api/queue", api.queue, "queue"),
        ("GET", "/api/callbacks", api.callbacks, "callbacks"),
        ("GET", "/api/events", api.events, "events"),
        ("POST", "/api/events/ticket", api.stream_ticket, "stream_ticket"),
        ("GET", "/api/tickets/<ticket_id>", api.ticket, "ticket"),
        ("POST", "/api/tickets/<ticket_id>/claim", api.claim, "claim"),
        ("POST", "/api/tickets/<ticket_id>/reply", api.reply, "reply"),
        ("POST", "/api/tickets/<ticket_id>/resolve", api.resolve, "resolve"),
        ("POST", "/api/tickets/<ticket_id>/transfer", api.transfer, "transfer"),
        ("POST", PATH_CHANNEL_TICKETS, api.channel_ticket, "channel_ticket"),
        ("POST", PATH_CHANNEL_MESSAGES, api.channel_message, "channel_message"),
        ("GET", PATH_CHANNEL_MESSAGES, api.channel_pending, "channel_pending"),
        ("POST", PATH_CHANNEL_CALLBACKS, api.channel_callback, "channel_callback"),
        ("POST", PATH_CHANNEL_LEFT_MESSAGES, api.channel_left_message, "left_message"),
        ("POST", PATH_CHANNEL_CSAT, api.channel_csat, "channel_csat"),
    ]
    prefix = "/" + path.strip("/") if path.strip("/") else ""
    for method, uri, handler, route_name in routes:
        blueprint.add_route(
            handler, prefix + uri, methods=[method], name=f"inbox_{route_name}"
        )
    # The agent page (`GET <prefix>/`) and its assets (`static/...`).
    add_page_routes(blueprint, prefix)
    if manage_lifecycle:
        blueprint.listener("before_server_start")(api.on_start)
        blueprint.listener("after_server_start")(api.on_started)
        blueprint.listener("before_server_stop")(api.on_stop)
        blueprint.listener("after_server_stop")(api.on_stopped)


def create_app(
    db_url: Optional[str] = None,
    config: Optional[InboxConfig] = None,
    name: str = DEFAULT_APP_NAME,
    schema: Optional[str] = None,
) -> Sanic:
    """The standalone inbox app (`rasa-handover inbox`).

    Args:
        db_url: Database URL (default: `config.db_url`).
        config: The configuration (default: no agents, SQLite).
        name: Sanic app name (unique per process).
        schema: PostgreSQL schema for the tables.

    Returns:
        The app; `app.ctx.inbox_service` is the service. With a shared secret,
        events are delivered to each ticket's `channel_callback_url` from the
        events table (`notifier`).

    """
    config = config or InboxConfig()
    service = InboxService.from_config(config, db_url, schema)
    app = Sanic(name)
    app.ctx.inbox_service = service
    app.blueprint(inbox_blueprint(service, config, name=f"{name}_api"))
    keys = config.signing_keys
    if keys is not None:
        notifier = WebhookNotifier(
            service,
            keys.inbox_to_channel,
            lease_seconds=config.delivery_lease_seconds,
        )
        app.ctx.inbox_notifier = notifier

        async def start_notifier(_app: Sanic, _loop: Any) -> None:
            await notifier.start()

        async def close_notifier(_app: Sanic, _loop: Any) -> None:
            await notifier.close()

        # After the blueprint's own start-up listener has created the tables.
        app.register_listener(start_notifier, "after_server_start")
        app.register_listener(close_notifier, "before_server_stop")
    return app


def _guarded(handler: Handler) -> Handler:
    """Turns every exception into a JSON error response."""

    @functools.wraps(handler)
    async def wrapper(
        request: Request, *args: Any, **kwargs: Any
    ) -> Optional[HTTPResponse]:
        try:
            return await handler(request, *args, **kwargs)
        except ApiError as error:
            return error_response(error.status, error.message, error.field)
        except LimitError as error:
            return error_response(HTTP_BAD_REQUEST, str(error), error.field)
        except InboxError as error:
            status = next(
                (code for kind, code in _ERROR_STATUS if isinstance(error, kind)),
                HTTP_BAD_REQUEST,
            )
            return error_response(status, error.message, error.field)
        except Exception as error:
            if is_database_unreachable(error):
                logger.warning("Inbox database unreachable: %s", error)
                return database_unavailable_response()
            logger.exception("Inbox API error on %s %s", request.method, request.path)
            return error_response(HTTP_SERVER_ERROR, "internal error")

    return wrapper


class _InboxApi:
    """The endpoint handlers, bound to one service and configuration."""

    def __init__(self, service: InboxService, config: InboxConfig) -> None:
        self.service = service
        self.config = config
        self.failed_logins = FailureLimiter()
        self.stream_tickets = StreamTickets()
        keys = config.signing_keys
        # A nonce cache per process for the channel's signed calls (the
        # first check); `store.use_once` then refuses replays to any replica.
        self.verifier = Verifier(keys.channel_to_inbox) if keys else None
        self._housekeeping: Optional[asyncio.Task[None]] = None
        self._presence: Optional[asyncio.Task[None]] = None
        # PostgreSQL: other replicas' events wake this one's streams at once.
        self.change_feed = ChangeFeed(service.store, service.changed_elsewhere)
        for attribute in (
            "health",
            "openapi",
            "me",
            "report",
            "availability",
            "heartbeat",
            "queue",
            "callbacks",
            "ticket",
            "claim",
            "reply",
            "resolve",
            "transfer",
            "events",
            "stream_ticket",
            "channel_ticket",
            "channel_message",
            "channel_pending",
            "channel_callback",
            "channel_left_message",
            "channel_csat",
        ):
            setattr(self, attribute, _guarded(getattr(self, attribute)))

    # --- Lifecycle. ---------------------------------------------------------------

    async def on_start(self, _app: Sanic, _loop: Any) -> None:
        # inbox.yml is the list of agents: whoever was removed is retired.
        await self.service.start(self.config.agent_profiles(), retire_unlisted=True)

    async def on_started(self, _app: Sanic, _loop: Any) -> None:
        await self.change_feed.start()
        if self.config.housekeeping_seconds > 0:
            self._housekeeping = asyncio.ensure_future(
                self._repeat(
                    self.service.housekeeping, self.config.housekeeping_seconds
                )
            )
        if self.service.presence.check_seconds > 0:
            self._presence = asyncio.ensure_future(
                self._repeat(
                    self.service.expire_absent, self.service.presence.check_seconds
                )
            )

    async def on_stop(self, _app: Sanic, _loop: Any) -> None:
        await self.change_feed.close()
        for task in (self._housekeeping, self._presence):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._housekeeping = self._presence = None

    async def on_stopped(self, _app: Sanic, _loop: Any) -> None:
        await self.service.close()

    @staticmethod
    async def _repeat(work: Callable[[], Awaitable[Any]], seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await work()
            except Exception:
                # Keep the loop alive: the next round may succeed (DB restart).
                logger.exception("Inbox background work failed")

    # --- Public endpoints. --------------------------------------------------------

    async def health(self, _request: Request) -> HTTPResponse:
        try:
            latest = await self.service.store.latest_event_id()
        except Exception as error:
            logger.warning("Inbox health check: database unavailable: %s", error)
            return database_unavailable_response()
        return json_response(
            {"status": "ok", "version": __version__, "latest_event_id": latest}
        )

    async def openapi(self, request: Request) -> HTTPResponse:
        base = request.path[: -len("/openapi.json")]
        return json_response(openapi_document(server_url=base or "/"))

    # --- Agent endpoints. ---------------------------------------------------------

    async def me(self, request: Request) -> HTTPResponse:
        agent = await self._agent(request)
        role = ROLE_SUPERVISOR if self.service.is_supervisor(agent) else ROLE_AGENT
        return json_response({"agent": {**agent.to_dict(), "role": role}})

    async def report(self, request: Request) -> HTTPResponse:
        """Supervisors: `rasa-handover report` of this inbox, generated now.

        The figures (as the command's JSON) and the self-contained HTML page
        (the page opens it in a new tab). Anyone else: 404, as for a ticket
        they may not see.
        """
        agent = await self._agent(request)
        if not self.service.is_supervisor(agent):
            raise ApiError(HTTP_NOT_FOUND, "no such resource", "path")
        from datetime import datetime, timezone

        from rasa_handover.feedback.report import figures
        from rasa_handover.feedback.report_html import render

        records = await self.service.store.outcomes(
            labelled_only=False, resolved_only=False
        )
        document = figures(records, now=datetime.now(timezone.utc))
        return json_response({"report": document, "html": render(document)})

    async def availability(self, request: Request) -> HTTPResponse:
        agent = await self._agent(request)
        online = _field(_body(request), "online", bool)
        updated = await self.service.set_availability(agent, online)
        return json_response({"agent": updated.to_dict()})

    async def heartbeat(self, request: Request) -> HTTPResponse:
        # For clients without the event stream; the agent page needs none.
        agent = await self._agent(request)
        online = await self.service.heartbeat(agent)
        return json_response(
            {"online": online, "next_seconds": self.service.presence.heartbeat_seconds}
        )

    async def queue(self, request: Request) -> HTTPResponse:
        agent = await self._agent(request)
        tickets, callbacks = await self.service.queue_for(agent)
        names = await self._agent_names()
        return json_response(
            {
                "tickets": [_ticket_json(ticket, names) for ticket in tickets],
                "callbacks": [_ticket_json(ticket, names) for ticket in callbacks],
            }
        )

    async def callbacks(self, request: Request) -> HTTPResponse:
        # The agent's teams' callback requests, the soonest due first; marking
        # one done is resolving it (POST /api/tickets/<id>/resolve, an outcome).
        agent = await self._agent(request)
        _, callbacks = await self.service.queue_for(agent)
        names = await self._agent_names()
        return json_response(
            {"callbacks": [_ticket_json(ticket, names) for ticket in callbacks]}
        )

    async def ticket(self, request: Request, ticket_id: str) -> HTTPResponse:
        agent = await self._agent(request)
        ticket, messages, events = await self.service.ticket_details(
            _ticket_id(ticket_id), agent
        )
        return json_response(
            {
                "ticket": _ticket_json(ticket, await self._agent_names()),
                "payload": ticket.payload,
                # What the resolve step offers as the customer's real intent.
                "intent_choices": intent_choices(ticket.payload, self.config.intents),
                "messages": [message.to_dict() for message in messages],
                "events": [event.to_dict() for event in events],
            }
        )

    async def claim(self, request: Request, ticket_id: str) -> HTTPResponse:
        agent = await self._agent(request)
        ticket = await self.service.claim(_ticket_id(ticket_id), agent)
        return json_response(
            {"ticket": _ticket_json(ticket, await self._agent_names())}
        )

    async def reply(self, request: Request, ticket_id: str) -> HTTPResponse:
        agent = await self._agent(request)
        number = _ticket_id(ticket_id)
        body = _body(request)
        message = await self.service.agent_reply(
            number, agent, _text(body, "text"), _client_message_id(body)
        )
        return json_response({"message": message.to_dict()}, status=HTTP_CREATED)

    async def resolve(self, request: Request, ticket_id: str) -> HTTPResponse:
        agent = await self._agent(request)
        number = _ticket_id(ticket_id)
        body = _body(request)
        # No outcome: resolved without a label (tuning ignores it).
        outcome = _field(body, "outcome", str, required=False)
        note = _field(body, "note", str, required=False)
        if note is not None and len(note) > MAX_NOTE_CHARS:
            raise ApiError(
                HTTP_BAD_REQUEST,
                f"field 'note' is longer than {MAX_NOTE_CHARS} characters",
                "note",
            )
        intent = _field(body, "intent", str, required=False)
        if intent is not None:
            ticket, _ = await self.service.authorise(number, agent)
            intent = check_outcome_intent(intent, ticket.payload, self.config.intents)
        ticket = await self.service.resolve(number, agent, outcome, note, intent)
        return json_response(
            {"ticket": _ticket_json(ticket, await self._agent_names())}
        )

    async def transfer(self, request: Request, ticket_id: str) -> HTTPResponse:
        agent = await self._agent(request)
        number = _ticket_id(ticket_id)
        team = _text(_body(request), "team")
        view = await self.service.transfer(number, team, agent)
        ticket = await self.service.store.require_ticket(number)
        return json_response(
            {
                "ticket": _ticket_json(ticket, await self._agent_names()),
                "routing": view.to_dict(),
            }
        )

    async def stream_ticket(self, request: Request) -> HTTPResponse:
        # Browsers' EventSource cannot send headers: the page trades its token
        # (in the header) for a ticket that opens one stream within a minute.
        agent = await self._agent(request)
        key = await self.service.store.token_hash(agent.id)
        assert key is not None  # The agent was just found by their token.
        return json_response(
            {
                "ticket": self.stream_tickets.issue(agent.id, key),
                "expires_seconds": self.stream_tickets.lifetime_seconds,
            },
            status=HTTP_CREATED,
        )

    async def events(self, request: Request) -> None:
        agent = await self._stream_agent(request)
        after_id = _last_event_id(request)
        if after_id is None:
            after_id = await self.service.store.latest_event_id()
        max_seconds = _query_number(
            request, "max_seconds", SSE_MAX_STREAM_SECONDS, SSE_MAX_STREAM_SECONDS
        )
        teams = await self.service.event_teams(agent)
        response = await request.respond(
            content_type="text/event-stream; charset=utf-8",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        assert response is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_seconds
        beat_every = self.service.presence.heartbeat_seconds
        next_beat = loop.time()
        try:
            await response.send(f"retry: {SSE_RETRY_MILLISECONDS}\n\n")
            while True:
                if loop.time() >= next_beat:
                    # Sent first: a closed connection cancels this handler
                    # before the agent is recorded as present.
                    await response.send(": keep-alive\n\n")
                    await self.service.heartbeat(agent)
                    next_beat = loop.time() + beat_every
                batch = await self.service.store.events(
                    after_id=after_id, teams=teams, agent_id=agent.id
                )
                for event in batch:
                    await response.send(_sse(event))
                    after_id = event.id
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                if batch:
                    continue  # There may be more than one page to catch up on.
                wait = min(SSE_POLL_SECONDS, remaining, next_beat - loop.time())
                await self.service.wait_for_change(max(wait, 0.0))
        except asyncio.CancelledError:
            raise  # The client went away.
        except Exception:
            # Headers are gone already: end the stream; the client reconnects.
            logger.exception("Inbox event stream failed")
        await response.eof()

    # --- Channel endpoints (HMAC-signed). ------------------------------------------

    async def channel_ticket(self, request: Request) -> HTTPResponse:
        await self._check_signature(request)
        body = _body(request)
        conversation_id = _text(body, "conversation_id", MAX_CONVERSATION_ID_CHARS)
        attempt = _field(body, "attempt", int)
        payload = _field(body, "payload", dict)
        channel_url = _channel_url(payload)
        if channel_url is not None:
            # Before the ticket's first event: the channel gets all of them.
            await self.service.store.ensure_channel(channel_url)
        view = await self.service.request_handover(conversation_id, attempt, payload)
        return json_response(
            view.to_dict(), status=HTTP_CREATED if view.created else HTTP_OK
        )

    async def channel_message(self, request: Request) -> HTTPResponse:
        await self._check_signature(request)
        body = _body(request)
        conversation_id = _text(body, "conversation_id", MAX_CONVERSATION_ID_CHARS)
        text = _text(body, "text")
        relayed = await self.service.relay_and_view(
            conversation_id, text, _client_message_id(body)
        )
        if relayed is None:
            raise ApiError(
                HTTP_NOT_FOUND,
                f"conversation '{conversation_id}' has no open handover",
                "conversation_id",
            )
        # The ticket's view: the channel's waiting room reads status and wait.
        # A repeat (the same client message id) is 200, with the first message.
        return json_response(
            {
                RELAYED: True,
                RELAYED_TICKET: relayed.view.to_dict(),
                RELAYED_MESSAGE: relayed.message.to_dict(),
            },
            status=HTTP_OK if relayed.repeated else HTTP_CREATED,
        )

    async def channel_pending(self, request: Request) -> HTTPResponse:
        await self._check_signature(request)
        conversation_id = clean_text(request.args.get("conversation_id") or "")
        if not conversation_id:
            raise ApiError(
                HTTP_BAD_REQUEST, "missing query parameter", "conversation_id"
            )
        raw_after = request.args.get("after_id")
        after_id = message_id("after_id", raw_after, MAX_ID)
        messages = await self.service.store.pending_agent_messages(
            conversation_id, after_id
        )
        ticket = await self.service.store.active_ticket_for_conversation(
            conversation_id
        )
        return json_response(
            {
                "messages": [message.to_dict() for message in messages],
                "handover_active": ticket is not None,
            }
        )

    async def channel_callback(self, request: Request) -> HTTPResponse:
        await self._check_signature(request)
        body = _body(request)
        conversation_id = _text(body, "conversation_id", MAX_CONVERSATION_ID_CHARS)
        contact = _text(body, "contact")
        when = _field(body, "when", str, required=False) or ""
        due_at = _field(body, "due_at", str, required=False)
        payload = _field(body, "payload", dict, required=False) or {}
        view = await self.service.schedule_callback(
            conversation_id, when, contact, payload, due_at
        )
        return json_response(
            view.to_dict(), status=HTTP_CREATED if view.created else HTTP_OK
        )

    async def channel_left_message(self, request: Request) -> HTTPResponse:
        await self._check_signature(request)
        body = _body(request)
        view = await self.service.leave_message(
            _text(body, "conversation_id"),
            _text(body, "email"),
            _field(body, "message", str, required=False),
            _field(body, "payload", dict, required=False) or {},
            _client_message_id(body),
        )
        return json_response(view.to_dict(), status=HTTP_OK)

    async def channel_csat(self, request: Request) -> HTTPResponse:
        await self._check_signature(request)
        body = _body(request)
        conversation_id = _text(body, "conversation_id", MAX_CONVERSATION_ID_CHARS)
        ticket = await self.service.record_csat(
            conversation_id, _field(body, "score", int)
        )
        if ticket is None:
            raise ApiError(
                HTTP_NOT_FOUND,
                f"conversation '{conversation_id}' has no resolved ticket to rate",
                "conversation_id",
            )
        return json_response(csat_answer(ticket))

    # --- Helpers. -----------------------------------------------------------------

    async def _stream_agent(self, request: Request) -> Agent:
        """The agent of an event stream: `Authorization`, or `?ticket=`."""
        ticket = request.args.get("ticket")
        if request.headers.get("Authorization") or ticket is None:
            if request.args.get("token") is not None:
                raise ApiError(
                    HTTP_UNAUTHORIZED,
                    "agent tokens are not accepted in URLs; POST "
                    "api/events/ticket with 'Authorization: Bearer <agent token>' "
                    "and open api/events?ticket=<ticket>",
                    "token",
                )
            return await self._agent(request)
        client = self._client(request)
        self._check_failures(client)
        try:
            agent_id = self.stream_tickets.agent_id(ticket)
            key = await self.service.store.token_hash(agent_id)
            self.stream_tickets.redeem(ticket, key)
            await self._redeem_everywhere(ticket)
        except StreamTicketError as error:
            if isinstance(error, UnknownStreamTicketError):
                self.failed_logins.failed(client)
            raise ApiError(HTTP_UNAUTHORIZED, str(error), "ticket") from error
        agent = await self.service.store.get_agent(agent_id)
        if agent is None:
            raise ApiError(HTTP_UNAUTHORIZED, "unknown stream ticket", "ticket")
        return agent

    async def _redeem_everywhere(self, ticket: str) -> None:
        """Uses a stream ticket up for every replica sharing the database."""
        nonce, expires = self.stream_tickets.once_key(ticket)
        until = datetime.fromtimestamp(expires, timezone.utc)
        if not await self.service.store.use_once(USED_STREAM_TICKET, nonce, until):
            raise StreamTicketError(
                "the stream ticket was used already (on this or another inbox "
                "replica); ask for a new one"
            )

    @staticmethod
    def _client(request: Request) -> str:
        return str(request.remote_addr or request.ip or "")

    def _check_failures(self, client: str) -> None:
        wait = self.failed_logins.retry_after(client)
        if wait > 0:
            raise ApiError(
                HTTP_TOO_MANY_REQUESTS,
                "too many unknown tokens from this address; "
                f"retry in {math.ceil(wait)} s",
                "Authorization",
            )

    async def _agent(self, request: Request) -> Agent:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(
                HTTP_UNAUTHORIZED,
                "send 'Authorization: Bearer <agent token>'",
                "Authorization",
            )
        client = self._client(request)
        self._check_failures(client)
        agent = await self.service.store.agent_by_token(token.strip())
        if agent is None:
            self.failed_logins.failed(client)
            raise ApiError(HTTP_UNAUTHORIZED, "unknown agent token", "Authorization")
        return agent

    async def _check_signature(self, request: Request) -> None:
        if self.verifier is None:
            raise ApiError(
                HTTP_FORBIDDEN,
                "channel endpoints are off: set shared_secret in the inbox config",
            )
        try:
            signed = self.verifier.verify(
                request.method,
                request_target(request.path, request.query_string),
                request.body or b"",
                request.headers,
            )
        except SignatureError as error:
            raise ApiError(HTTP_UNAUTHORIZED, str(error), SIGNATURE_HEADER) from error
        # This process's cache refused a replay to it; the database refuses a
        # replay to any replica sharing it.
        expires = datetime.fromtimestamp(signed.expires, timezone.utc)
        if not await self.service.store.use_once(
            USED_SIGNATURE_NONCE, signed.nonce, expires
        ):
            raise ApiError(
                HTTP_UNAUTHORIZED,
                f"{NONCE_HEADER} was already used (on this or another inbox "
                "replica): a replayed request is refused",
                SIGNATURE_HEADER,
            )

    async def _agent_names(self) -> Dict[str, str]:
        return {
            agent.id: agent.name for agent in await self.service.store.list_agents()
        }


def _body(request: Request) -> Mapping[str, Any]:
    """The request's JSON object, or a 400 naming `body`."""
    raw = request.body or b""
    if not raw.strip():
        raise ApiError(HTTP_BAD_REQUEST, "request body must be a JSON object", "body")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(HTTP_BAD_REQUEST, f"malformed JSON: {error}", "body") from error
    except RecursionError:
        data = None  # Nested deeper than the parser goes: far over the limit.
    if data is None or json_depth(data) > MAX_JSON_DEPTH:
        raise ApiError(
            HTTP_BAD_REQUEST,
            f"the body nests objects and lists deeper than {MAX_JSON_DEPTH} levels",
            "body",
        )
    if not isinstance(data, dict):
        raise ApiError(HTTP_BAD_REQUEST, "request body must be a JSON object", "body")
    return data


_TYPE_NAMES = {bool: "a boolean", int: "an integer", str: "a string", dict: "an object"}


def _field(
    body: Mapping[str, Any], name: str, kind: type, required: bool = True
) -> Any:
    """`body[name]` checked against `kind`, or a 400 naming the field."""
    if name not in body or body[name] is None:
        if required:
            raise ApiError(HTTP_BAD_REQUEST, f"missing field '{name}'", name)
        return None
    value = body[name]
    # JSON true is a Python int too; an attempt number must not be `true`.
    wrong_bool = kind is not bool and isinstance(value, bool)
    if wrong_bool or not isinstance(value, kind):
        raise ApiError(
            HTTP_BAD_REQUEST,
            f"field '{name}' must be {_TYPE_NAMES.get(kind, kind.__name__)}",
            name,
        )
    # Text no database can store (a lone surrogate) or PostgreSQL cannot (NUL).
    return clean_text(value) if isinstance(value, str) else value


def _text(body: Mapping[str, Any], name: str, max_chars: int = MAX_TEXT_CHARS) -> str:
    """A non-blank string field of at most `max_chars` characters."""
    value: str = _field(body, name, str)
    if not value.strip():
        raise ApiError(HTTP_BAD_REQUEST, f"field '{name}' must not be empty", name)
    if len(value) > max_chars:
        raise ApiError(
            HTTP_BAD_REQUEST,
            f"field '{name}' is longer than {max_chars} characters",
            name,
        )
    return value


def _client_message_id(body: Mapping[str, Any]) -> Optional[str]:
    """The body's idempotency key (None: sent without), or a 400 naming it."""
    return client_message_id(CLIENT_MESSAGE_ID, body.get(CLIENT_MESSAGE_ID))


def _channel_url(payload: Mapping[str, Any]) -> Optional[str]:
    """The channel's webhook in a handover payload, or a 400 saying what is wrong."""
    url = payload.get(PAYLOAD_CALLBACK_URL)
    if url is None:
        return None
    if (
        not isinstance(url, str)
        or len(url) > MAX_CHANNEL_URL_CHARS
        or not url.startswith(("http://", "https://"))
    ):
        raise ApiError(
            HTTP_BAD_REQUEST,
            f"payload.{PAYLOAD_CALLBACK_URL} must be an http(s) URL of at most "
            f"{MAX_CHANNEL_URL_CHARS} characters (the channel's public_url)",
            PAYLOAD_CALLBACK_URL,
        )
    return url


def _ticket_id(raw: str) -> int:
    try:
        number = int(raw)
    except ValueError:
        number = -1
    if not 0 < number <= MAX_ID:
        # Not an id the database could hold: no such ticket.
        raise ApiError(HTTP_NOT_FOUND, f"unknown ticket {raw!r}", "ticket_id")
    return number


def _last_event_id(request: Request) -> Optional[int]:
    raw = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        value = MAX_ID + 1
    if value > MAX_ID:
        raise ApiError(
            HTTP_BAD_REQUEST, "Last-Event-ID must be an event id", "Last-Event-ID"
        )
    return max(0, value)


def _query_number(request: Request, name: str, default: float, maximum: float) -> float:
    raw = request.args.get(name)
    if raw is None:
        return default
    return seconds(name, raw, maximum)


def _ticket_json(ticket: Ticket, names: Mapping[str, str]) -> Dict[str, Any]:
    data = ticket.to_dict()
    data["agent_name"] = names.get(ticket.agent_id or "")
    return data


def _sse(event: LifecycleEvent) -> str:
    # One JSON line per event: `data:` lines must not contain raw newlines.
    payload = json.dumps(event.to_dict(), default=str)
    return f"id: {event.id}\nevent: {event.type}\ndata: {payload}\n\n"
