"""HTTP statuses, the JSON error body, and the guard that makes every error one.

Every error the API answers is `{"error": "...", "field": "<name or null>"}`
(`error_response`). Handlers raise `ApiError` with a status of their choice;
`_guarded` wraps each handler and turns `ApiError`, a `LimitError` and the
service's `InboxError`s (400, 404, 409) into that body, an unreachable database
into a 503 with Retry-After, and anything else into a logged 500.
"""

import functools
import logging
from typing import Any, Callable, Coroutine, Dict, Optional, Tuple, Type

from sanic import Request
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from rasa_handover.inbox.errors import (
    ConflictError,
    InboxError,
    NotFoundError,
    ValidationError,
)
from rasa_handover.inbox.limits import LimitError
from rasa_handover.inbox.store.engine import is_database_unreachable

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
