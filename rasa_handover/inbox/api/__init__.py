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

Where to look: the route table is `add_inbox_routes` below. Its handlers are
the methods of `_InboxApi`, which is made of these parts:

* `base`: the constructor and the state every part shares (it wraps each
  handler so that nothing raises into Sanic); the agent a bearer token names.
* `agent_routes`: the agent page's endpoints (`/api/me`, `/api/report` for
  supervisors, availability, heartbeat, the queue, callbacks, a ticket, and
  claiming, answering, resolving and transferring it).
* `event_stream`: the server-sent events (`/api/events`) and the stream tickets
  that let a browser open them (`/api/events/ticket`).
* `channel_routes`: the HMAC-signed endpoints a standalone channel calls
  (`/api/channel/...`) and the check of their signatures.
* `lifecycle`: start-up and shut-down listeners, the background rounds, and the
  endpoints that need no credentials (`/api/health`, `/openapi.json`).

and these helpers:

* `responses`: HTTP statuses, `ApiError`, the JSON error body, and `_guarded`,
  which turns whatever a handler raises into such a body.
* `request_parsing`: the JSON body and its fields, ticket ids and query
  parameters, each refusing bad input with a 400 that names the field.

Names with a leading underscore are private to this package.
"""

from typing import Any, List, Optional, Tuple

from sanic import Blueprint, Sanic

from rasa_handover.inbox.api.agent_routes import _AgentRoutes
from rasa_handover.inbox.api.channel_routes import _ChannelRoutes
from rasa_handover.inbox.api.event_stream import (
    SSE_MAX_STREAM_SECONDS,
    SSE_POLL_SECONDS,
    SSE_RETRY_MILLISECONDS,
    _EventStream,
)
from rasa_handover.inbox.api.lifecycle import _Lifecycle
from rasa_handover.inbox.api.responses import (
    DATABASE_RETRY_AFTER_SECONDS,
    HTTP_BAD_REQUEST,
    HTTP_CONFLICT,
    HTTP_CREATED,
    HTTP_FORBIDDEN,
    HTTP_NOT_FOUND,
    HTTP_OK,
    HTTP_SERVER_ERROR,
    HTTP_TOO_MANY_REQUESTS,
    HTTP_UNAUTHORIZED,
    HTTP_UNAVAILABLE,
    ApiError,
    Handler,
    database_unavailable_response,
    error_response,
)
from rasa_handover.inbox.config import DEFAULT_URL_PREFIX, InboxConfig
from rasa_handover.inbox.contract import (
    PATH_CHANNEL_CALLBACKS,
    PATH_CHANNEL_CSAT,
    PATH_CHANNEL_LEFT_MESSAGES,
    PATH_CHANNEL_MESSAGES,
    PATH_CHANNEL_TICKETS,
)
from rasa_handover.inbox.notifier import WebhookNotifier
from rasa_handover.inbox.page import add_page_routes
from rasa_handover.inbox.service import InboxService

DEFAULT_APP_NAME = "rasa_handover_inbox"


class _InboxApi(_AgentRoutes, _EventStream, _ChannelRoutes, _Lifecycle):
    """The endpoint handlers, bound to one service and configuration."""


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


__all__ = [
    "DATABASE_RETRY_AFTER_SECONDS",
    "DEFAULT_APP_NAME",
    "HTTP_BAD_REQUEST",
    "HTTP_CONFLICT",
    "HTTP_CREATED",
    "HTTP_FORBIDDEN",
    "HTTP_NOT_FOUND",
    "HTTP_OK",
    "HTTP_SERVER_ERROR",
    "HTTP_TOO_MANY_REQUESTS",
    "HTTP_UNAUTHORIZED",
    "HTTP_UNAVAILABLE",
    "SSE_MAX_STREAM_SECONDS",
    "SSE_POLL_SECONDS",
    "SSE_RETRY_MILLISECONDS",
    "ApiError",
    "Handler",
    "add_inbox_routes",
    "create_app",
    "database_unavailable_response",
    "error_response",
    "inbox_blueprint",
]
