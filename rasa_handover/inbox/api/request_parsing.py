"""Reading requests: the JSON body and its fields, ticket ids, query parameters.

Each helper returns the value or raises `ApiError` with a 400 naming the field
(a 404 for a ticket id no database could hold), so that a handler reads as the
list of what it needs. String fields come back cleaned of what no database can
store (`rasa_handover.limits.clean_text`).
"""

import json
from typing import Any, Mapping, Optional

from sanic import Request

from rasa_handover.inbox.api.responses import (
    HTTP_BAD_REQUEST,
    HTTP_NOT_FOUND,
    ApiError,
)
from rasa_handover.inbox.contract import CLIENT_MESSAGE_ID, PAYLOAD_CALLBACK_URL
from rasa_handover.inbox.limits import (
    MAX_CHANNEL_URL_CHARS,
    MAX_ID,
    MAX_JSON_DEPTH,
    MAX_TEXT_CHARS,
    client_message_id,
    json_depth,
    seconds,
)
from rasa_handover.limits import clean_text


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
