"""The hand-written OpenAPI 3 document of the inbox API (served at `/openapi.json`).

Paths are relative to the mount point (`servers[0].url`, by default
`/webhooks/handover/inbox`). A test checks that every registered route is here.
"""

import copy
from typing import Any, Dict, List, Optional

from rasa_handover.__version__ import __version__
from rasa_handover.inbox.contract import (
    CLIENT_MESSAGE_ID,
    EVENT_TYPES,
    PATH_CHANNEL_CALLBACKS,
    PATH_CHANNEL_CSAT,
    PATH_CHANNEL_LEFT_MESSAGES,
    PATH_CHANNEL_MESSAGES,
    PATH_CHANNEL_TICKETS,
    RELAYED,
    RELAYED_MESSAGE,
    RELAYED_TICKET,
)
from rasa_handover.inbox.limits import (
    CLIENT_MESSAGE_ID_PATTERN,
    MAX_CLIENT_MESSAGE_ID_CHARS,
)
from rasa_handover.inbox.models import (
    AGENT_TIERS,
    OUTCOMES,
    STATUSES,
)
from rasa_handover.inbox.signing import (
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
)


def _ref(name: str) -> Dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Dict[str, Any], description: str) -> Dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }


def _errors(*statuses: str) -> Dict[str, Any]:
    # Any endpoint that reads the database answers 503 while it is unreachable.
    return {
        status: {"$ref": f"#/components/responses/{status}"}
        for status in (*statuses, "503")
    }


def _body(schema: Dict[str, Any]) -> Dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _object(
    properties: Dict[str, Any], required: Optional[List[str]] = None
) -> Dict[str, Any]:
    schema: Dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": "string", "nullable": True}
_INTEGER = {"type": "integer"}
_NULLABLE_INTEGER = {"type": "integer", "nullable": True}
_TIME = {"type": "string", "format": "date-time", "nullable": True}
# The idempotency key of a message (`contract.CLIENT_MESSAGE_ID`).
_CLIENT_MESSAGE_ID = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_CLIENT_MESSAGE_ID_CHARS,
    "pattern": CLIENT_MESSAGE_ID_PATTERN,
    "description": "The same id with every retry of one message: the ticket "
    "stores it once (a repeat is answered with the message stored first and "
    "announces no event). Visible ASCII, e.g. a UUID.",
}
_TICKET_ID = {
    "name": "ticket_id",
    "in": "path",
    "required": True,
    "schema": _INTEGER,
}
_AGENT: List[Dict[str, List[str]]] = [{"bearerAuth": []}]
_CHANNEL: List[Dict[str, List[str]]] = [
    {"handoverSignature": [], "handoverTimestamp": [], "handoverNonce": []}
]

_RELAYED_ANSWER = _object(
    {
        RELAYED: {"type": "boolean"},
        RELAYED_TICKET: _ref("TicketView"),
        RELAYED_MESSAGE: _ref("Message"),
    }
)

_SCHEMAS: Dict[str, Any] = {
    "Error": _object(
        {"error": _STRING, "field": _NULLABLE_STRING}, required=["error", "field"]
    ),
    "Agent": _object(
        {
            "id": _STRING,
            "name": _STRING,
            "teams": {"type": "array", "items": _STRING},
            "languages": {"type": "array", "items": _STRING},
            "tier": {"type": "string", "enum": list(AGENT_TIERS)},
            "capacity": _INTEGER,
            "online": {"type": "boolean"},
            "active_tickets": _INTEGER,
            "last_seen": _TIME,
        }
    ),
    "Ticket": _object(
        {
            "id": _INTEGER,
            "conversation_id": _STRING,
            "attempt": _INTEGER,
            "status": {"type": "string", "enum": list(STATUSES)},
            "team": _STRING,
            "language": _NULLABLE_STRING,
            "tier": _STRING,
            "channel": _NULLABLE_STRING,
            "reason": _NULLABLE_STRING,
            "customer_name": _NULLABLE_STRING,
            "agent_id": _NULLABLE_STRING,
            "agent_name": _NULLABLE_STRING,
            "created_at": _TIME,
            "assigned_at": _TIME,
            "accepted_at": _TIME,
            "resolved_at": _TIME,
            "queue_position": _NULLABLE_INTEGER,
            "estimated_wait_seconds": _NULLABLE_INTEGER,
            "callback": {"type": "object", "nullable": True},
            "outcome": {"type": "string", "enum": list(OUTCOMES), "nullable": True},
            "outcome_note": _NULLABLE_STRING,
            "outcome_intent": _NULLABLE_STRING,
            "csat": {**_NULLABLE_INTEGER, "minimum": 1, "maximum": 5},
            "no_agent_reason": _NULLABLE_STRING,
        }
    ),
    "Message": _object(
        {
            "id": _INTEGER,
            "ticket_id": _INTEGER,
            "sender": {"type": "string", "enum": ["customer", "agent", "system"]},
            "text": _STRING,
            "created_at": _TIME,
            "agent_name": _NULLABLE_STRING,
            CLIENT_MESSAGE_ID: _NULLABLE_STRING,
        }
    ),
    "LifecycleEvent": _object(
        {
            "id": _INTEGER,
            "ticket_id": _INTEGER,
            "type": {"type": "string", "enum": list(EVENT_TYPES)},
            "data": {"type": "object"},
            "created_at": _TIME,
        }
    ),
    "TicketView": _object(
        {
            "ticket_id": _INTEGER,
            "status": _STRING,
            "created": {"type": "boolean"},
            "team": _STRING,
            "agent_name": _NULLABLE_STRING,
            "queue_position": _NULLABLE_INTEGER,
            "estimated_wait_seconds": _NULLABLE_INTEGER,
            "wait_text": _NULLABLE_STRING,
            "no_agent_reason": {
                "type": "string",
                "enum": ["outside_hours", "nobody_online", "all_busy"],
                "nullable": True,
            },
            "alternatives": {"type": "array", "items": _STRING},
            "conversation_id": _STRING,
            "attempt": _INTEGER,
            "wait_basis": {
                "type": "string",
                "enum": ["observed", "cold_start"],
                "nullable": True,
            },
            "opens_at": _TIME,
            "notes": {"type": "array", "items": _STRING},
        }
    ),
}

_TICKET_RESPONSE = _json(_object({"ticket": _ref("Ticket")}), "The ticket.")

_PATHS: Dict[str, Any] = {
    "/api/health": {
        "get": {
            "summary": "Liveness and database check",
            "responses": {
                "200": _json(
                    _object(
                        {
                            "status": _STRING,
                            "version": _STRING,
                            "latest_event_id": _INTEGER,
                        }
                    ),
                    "Healthy.",
                ),
                "503": {"$ref": "#/components/responses/503"},
            },
        }
    },
    "/": {
        "get": {
            "summary": "The agent inbox page (HTML; `.../inbox` redirects here)",
            "responses": {
                "200": {
                    "description": "The page.",
                    "content": {"text/html": {"schema": _STRING}},
                },
                "301": {"description": "Add the trailing slash."},
            },
        }
    },
    "/static/{name}": {
        "get": {
            "summary": "The page's script, style sheet and icon",
            "parameters": [
                {"name": "name", "in": "path", "required": True, "schema": _STRING},
                {"name": "v", "in": "query", "schema": _STRING},
            ],
            "responses": {
                "200": {"description": "The file (immutable with the current `v`)."},
                "404": {"description": "Not one of the page's files."},
            },
        }
    },
    "/openapi.json": {
        "get": {
            "summary": "This document",
            "responses": {"200": _json({"type": "object"}, "OpenAPI 3 document.")},
        }
    },
    "/api/me": {
        "get": {
            "summary": "The calling agent",
            "security": _AGENT,
            "responses": {
                "200": _json(_object({"agent": _ref("Agent")}), "The agent."),
                **_errors("401"),
            },
        }
    },
    "/api/report": {
        "get": {
            "summary": "The handover report (supervisors)",
            "description": "`rasa-handover report` of this inbox, generated now: "
            "the figures (its JSON) and the self-contained HTML page. Anyone "
            "but a supervisor gets 404.",
            "security": _AGENT,
            "responses": {
                "200": _json(
                    _object({"report": {"type": "object"}, "html": {"type": "string"}}),
                    "The report.",
                ),
                **_errors("401", "404"),
            },
        }
    },
    "/api/agents/me/availability": {
        "post": {
            "summary": "Go online or offline",
            "description": "Going offline returns not-yet-accepted tickets to the "
            "queue; going online assigns waiting tickets.",
            "security": _AGENT,
            "requestBody": _body(
                _object({"online": {"type": "boolean"}}, required=["online"])
            ),
            "responses": {
                "200": _json(_object({"agent": _ref("Agent")}), "The agent."),
                **_errors("400", "401"),
            },
        }
    },
    "/api/agents/me/heartbeat": {
        "post": {
            "summary": "Report that the agent's client is still there",
            "description": "With `presence_grace_seconds` set (default 45), an "
            "online agent whose client has not reported in for that long is away: "
            "their unaccepted tickets go back to the queue. An open event stream "
            "reports in by itself; other clients call this every `next_seconds`. "
            "It never brings an offline agent online.",
            "security": _AGENT,
            "responses": {
                "200": _json(
                    _object(
                        {
                            "online": {"type": "boolean"},
                            "next_seconds": {"type": "number"},
                        }
                    ),
                    "Whether the agent is online, and when to report in next.",
                ),
                **_errors("401"),
            },
        }
    },
    "/api/queue": {
        "get": {
            "summary": "Open tickets and callbacks the agent may take (their teams "
            "and the teams whose fallback chain reaches them), oldest first",
            "security": _AGENT,
            "responses": {
                "200": _json(
                    _object(
                        {
                            "tickets": {"type": "array", "items": _ref("Ticket")},
                            "callbacks": {"type": "array", "items": _ref("Ticket")},
                        }
                    ),
                    "The queue.",
                ),
                **_errors("401"),
            },
        }
    },
    "/api/callbacks": {
        "get": {
            "summary": "Callback requests of the agent's teams, the soonest due first",
            "description": "Ordered by `callback.due_at` (requests without a time "
            "last). Marking one done is resolving it with an outcome: POST "
            "/api/tickets/{ticket_id}/resolve.",
            "security": _AGENT,
            "responses": {
                "200": _json(
                    _object({"callbacks": {"type": "array", "items": _ref("Ticket")}}),
                    "The callbacks.",
                ),
                **_errors("401"),
            },
        }
    },
    "/api/events": {
        "get": {
            "summary": "Server-sent events: lifecycle events of the agent's teams",
            "description": "Each event: `id: <id>`, `event: <type>`, `data: <JSON "
            "LifecycleEvent>`. Resume with the `Last-Event-ID` header. Without it "
            "the stream starts with events after the call. The stream ends after "
            "`max_seconds` (default and maximum 300); clients reconnect. An open "
            "stream keeps its agent present (see the heartbeat endpoint).",
            "security": _AGENT,
            "parameters": [
                {"name": "Last-Event-ID", "in": "header", "schema": _INTEGER},
                {"name": "last_event_id", "in": "query", "schema": _INTEGER},
                {"name": "max_seconds", "in": "query", "schema": {"type": "number"}},
                {
                    "name": "ticket",
                    "in": "query",
                    "schema": _STRING,
                    "description": "A stream ticket from POST /api/events/ticket, "
                    "for browsers' EventSource (it cannot send headers); opens "
                    "one stream. Agent tokens are never accepted in the URL.",
                },
            ],
            "responses": {
                "200": {
                    "description": "The event stream; the schema is one event's.",
                    "content": {
                        "text/event-stream": {
                            "schema": _object(
                                {
                                    "id": _STRING,
                                    "event": {
                                        "type": "string",
                                        "enum": list(EVENT_TYPES),
                                    },
                                    "data": {
                                        "type": "string",
                                        "description": "The LifecycleEvent as JSON.",
                                    },
                                },
                                required=["id", "event", "data"],
                            )
                        }
                    },
                },
                **_errors("400", "401"),
            },
        }
    },
    "/api/events/ticket": {
        "post": {
            "summary": "A stream ticket: opens one event stream within 60 s",
            "description": "For clients that cannot send headers on the stream "
            "(browsers' EventSource): GET /api/events?ticket=<ticket>. The "
            "ticket is no bearer token; a new or retired agent token voids it.",
            "security": _AGENT,
            "responses": {
                "201": _json(
                    _object({"ticket": _STRING, "expires_seconds": {"type": "number"}}),
                    "The ticket.",
                ),
                **_errors("401"),
            },
        }
    },
    "/api/tickets/{ticket_id}": {
        "get": {
            "summary": "A ticket with its payload, messages and events",
            "security": _AGENT,
            "parameters": [_TICKET_ID],
            "responses": {
                "200": _json(
                    _object(
                        {
                            "ticket": _ref("Ticket"),
                            "payload": {"type": "object"},
                            "intent_choices": {"type": "array", "items": _STRING},
                            "messages": {"type": "array", "items": _ref("Message")},
                            "events": {
                                "type": "array",
                                "items": _ref("LifecycleEvent"),
                            },
                        }
                    ),
                    "The ticket in full.",
                ),
                **_errors("401", "404"),
            },
        }
    },
    "/api/tickets/{ticket_id}/claim": {
        "post": {
            "summary": "Take a waiting ticket (or one assigned to you)",
            "security": _AGENT,
            "parameters": [_TICKET_ID],
            "responses": {"200": _TICKET_RESPONSE, **_errors("401", "404", "409")},
        }
    },
    "/api/tickets/{ticket_id}/reply": {
        "post": {
            "summary": "Send a message to the customer (accepts the ticket if needed)",
            "security": _AGENT,
            "parameters": [_TICKET_ID],
            "requestBody": _body(
                _object(
                    {"text": _STRING, CLIENT_MESSAGE_ID: _CLIENT_MESSAGE_ID},
                    required=["text"],
                )
            ),
            "responses": {
                "201": _json(
                    _object({"message": _ref("Message")}),
                    "Sent (with a client_message_id sent before: the message "
                    "stored then, not sent again).",
                ),
                **_errors("400", "401", "404", "409"),
            },
        }
    },
    "/api/tickets/{ticket_id}/resolve": {
        "post": {
            "summary": "Close the ticket, with an outcome label if the agent gives one",
            "description": (
                "Without `outcome` the ticket is resolved unlabelled (tuning "
                "ignores it). `intent` is the intent the customer really had: "
                "one of the ticket's `intent_choices` when inbox.yml lists "
                "`intents`, else any intent name."
            ),
            "security": _AGENT,
            "parameters": [_TICKET_ID],
            "requestBody": _body(
                _object(
                    {
                        "outcome": {"type": "string", "enum": list(OUTCOMES)},
                        "note": _STRING,
                        "intent": _STRING,
                    },
                )
            ),
            "responses": {
                "200": _TICKET_RESPONSE,
                **_errors("400", "401", "404", "409"),
            },
        }
    },
    "/api/tickets/{ticket_id}/transfer": {
        "post": {
            "summary": "Move the ticket to another team's queue",
            "security": _AGENT,
            "parameters": [_TICKET_ID],
            "requestBody": _body(_object({"team": _STRING}, required=["team"])),
            "responses": {
                "200": _json(
                    _object({"ticket": _ref("Ticket"), "routing": _ref("TicketView")}),
                    "The ticket after routing in the new team.",
                ),
                **_errors("400", "401", "404", "409"),
            },
        }
    },
    PATH_CHANNEL_TICKETS: {
        "post": {
            "summary": "Request a handover (idempotent per conversation and attempt)",
            "security": _CHANNEL,
            "requestBody": _body(
                _object(
                    {
                        "conversation_id": _STRING,
                        "attempt": _INTEGER,
                        "payload": {"type": "object"},
                    },
                    required=["conversation_id", "attempt", "payload"],
                )
            ),
            "responses": {
                "201": _json(_ref("TicketView"), "Ticket created and routed."),
                "200": _json(_ref("TicketView"), "Existing ticket (a retry)."),
                **_errors("400", "401", "403"),
            },
        }
    },
    PATH_CHANNEL_MESSAGES: {
        "post": {
            "summary": "Relay a customer message to the open ticket",
            "security": _CHANNEL,
            "requestBody": _body(
                _object(
                    {
                        "conversation_id": _STRING,
                        "text": _STRING,
                        CLIENT_MESSAGE_ID: _CLIENT_MESSAGE_ID,
                    },
                    required=["conversation_id", "text"],
                )
            ),
            "responses": {
                "201": _json(
                    _RELAYED_ANSWER,
                    "Relayed; the ticket's view (the channel's waiting room) "
                    "and the stored message.",
                ),
                "200": _json(
                    _RELAYED_ANSWER,
                    "A repeat (its client_message_id is stored on the ticket "
                    "already): nothing stored; the message stored first.",
                ),
                **_errors("400", "401", "403", "404"),
            },
        },
        "get": {
            "summary": "Agent messages for a conversation after a cursor (polling)",
            "security": _CHANNEL,
            "parameters": [
                {
                    "name": "conversation_id",
                    "in": "query",
                    "required": True,
                    "schema": _STRING,
                },
                {"name": "after_id", "in": "query", "schema": _INTEGER},
            ],
            "responses": {
                "200": _json(
                    _object(
                        {
                            "messages": {"type": "array", "items": _ref("Message")},
                            "handover_active": {"type": "boolean"},
                        }
                    ),
                    "The messages.",
                ),
                **_errors("400", "401", "403"),
            },
        },
    },
    PATH_CHANNEL_CALLBACKS: {
        "post": {
            "summary": "Schedule a callback instead of waiting",
            "security": _CHANNEL,
            "requestBody": _body(
                _object(
                    {
                        "conversation_id": _STRING,
                        "contact": _STRING,
                        "when": _STRING,
                        "due_at": {"type": "string", "format": "date-time"},
                        "payload": {"type": "object"},
                    },
                    required=["conversation_id", "contact"],
                )
            ),
            "responses": {
                "201": _json(_ref("TicketView"), "Callback scheduled."),
                "200": _json(_ref("TicketView"), "Already scheduled (a retry)."),
                **_errors("400", "401", "403"),
            },
        }
    },
    PATH_CHANNEL_CSAT: {
        "post": {
            "summary": "The customer's CSAT score after the handback",
            "description": "Stored on the conversation's latest resolved ticket "
            "(a later answer replaces an earlier one).",
            "security": _CHANNEL,
            "requestBody": _body(
                _object(
                    {
                        "conversation_id": _STRING,
                        "score": {"type": "integer", "minimum": 1, "maximum": 5},
                    },
                    required=["conversation_id", "score"],
                )
            ),
            "responses": {
                "200": _json(
                    _object(
                        {
                            "recorded": {"type": "boolean"},
                            "ticket_id": _INTEGER,
                            "csat": _INTEGER,
                        }
                    ),
                    "Stored on the ticket.",
                ),
                **_errors("400", "401", "403", "404"),
            },
        }
    },
    PATH_CHANNEL_LEFT_MESSAGES: {
        "post": {
            "summary": "Leave a message: the ticket waits, replies go by e-mail",
            "description": "Needs the inbox's `email:` settings (400 without).",
            "security": _CHANNEL,
            "requestBody": _body(
                _object(
                    {
                        "conversation_id": _STRING,
                        "email": _STRING,
                        "message": _STRING,
                        "payload": {"type": "object"},
                        CLIENT_MESSAGE_ID: _CLIENT_MESSAGE_ID,
                    },
                    required=["conversation_id", "email"],
                )
            ),
            "responses": {
                "200": _json(_ref("TicketView"), "The ticket, now answered by e-mail."),
                **_errors("400", "401", "403"),
            },
        }
    },
}

_ERROR_DESCRIPTIONS = {
    "400": "Malformed request; `field` names the offending field.",
    "401": "Missing or unknown agent token, or a bad channel signature.",
    "403": "Channel endpoints are off (no shared secret configured).",
    "404": "Unknown ticket, or no open handover for the conversation.",
    "409": "The ticket's state forbids it (e.g. another agent accepted it).",
    "503": "The database is unreachable; retry after `Retry-After` seconds.",
}

OPENAPI: Dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "rasa-handover inbox API",
        "version": __version__,
        "description": "Tickets, agents and lifecycle events of the human side of "
        "a Rasa handover. See docs/inbox-api.md.",
    },
    "servers": [{"url": "/webhooks/handover/inbox"}],
    "paths": _PATHS,
    "components": {
        "schemas": _SCHEMAS,
        "responses": {
            status: _json(_ref("Error"), description)
            for status, description in _ERROR_DESCRIPTIONS.items()
        },
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer"},
            "handoverSignature": {
                "type": "apiKey",
                "in": "header",
                "name": SIGNATURE_HEADER,
                "description": (
                    "v2=<hex HMAC-SHA256, channel-to-inbox key, of 'rasa-handover-v2', "
                    "method, path?query, timestamp, nonce and the body's SHA-256 "
                    "hex, one per line> (docs/inbox-api.md)"
                ),
            },
            "handoverTimestamp": {
                "type": "apiKey",
                "in": "header",
                "name": TIMESTAMP_HEADER,
                "description": "Unix seconds; rejected if more than 5 minutes off.",
            },
            "handoverNonce": {
                "type": "apiKey",
                "in": "header",
                "name": NONCE_HEADER,
                "description": "New for every request; a repeat within 5 minutes "
                "is refused as a replay.",
            },
        },
    },
}


def openapi_document(server_url: str = "/webhooks/handover/inbox") -> Dict[str, Any]:
    """A copy of `OPENAPI` whose server URL is where the API is mounted.

    Args:
        server_url: The mount point.

    Returns:
        The document.

    """
    document = copy.deepcopy(OPENAPI)
    document["servers"] = [{"url": server_url}]
    return document
