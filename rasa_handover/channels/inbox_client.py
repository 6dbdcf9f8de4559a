"""How the channel talks to the inbox: in process (embedded) or over HTTP.

Both clients implement `InboxClient`. They raise `InboxUnavailableError` when the
inbox cannot take a request right now (connection refused, timeout, 5xx): the
channel then keeps the request in its durable outbox and retries. A 4xx answer is
a bug in the request, not an outage, and raises `InboxRejectedError`, which is
not retried; the exception is the 404 of a relayed message for a conversation
without an open handover, which is the common case and answers False.
"""

import asyncio
import json
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, Optional, Protocol

from rasa_handover.inbox.contract import (
    CLIENT_MESSAGE_ID,
    CSAT_RECORDED,
    PATH_CHANNEL_CALLBACKS,
    PATH_CHANNEL_CSAT,
    PATH_CHANNEL_LEFT_MESSAGES,
    PATH_CHANNEL_MESSAGES,
    PATH_CHANNEL_TICKETS,
    RELAYED,
    RELAYED_TICKET,
    csat_answer,
    notification,
    read_notification,
)
from rasa_handover.inbox.signing import SigningKeys, sign

if TYPE_CHECKING:
    from rasa_handover.inbox.models import LifecycleEvent, Ticket
    from rasa_handover.inbox.service import InboxService

# A handover request must not keep the customer's message waiting for long.
HTTP_TIMEOUT_SECONDS = 5.0
HTTP_SERVER_ERROR = 500
HTTP_CLIENT_ERROR = 400
HTTP_NOT_FOUND = 404
# The SQL standard's class of errors about a value itself (too long, invalid).
SQLSTATE_DATA_EXCEPTION = "22"

# `async def listener(event, ticket)`, both as JSON-ready dicts (see `contract`).
InboxEventListener = Callable[[Dict[str, Any], Dict[str, Any]], Awaitable[None]]


class InboxUnavailableError(Exception):
    """The inbox cannot take the request now; retry later."""


class InboxRejectedError(Exception):
    """The inbox refused the request as malformed; retrying will not help."""


def inbox_error(error: Exception) -> Exception:
    """What an error of the embedded inbox means to the channel.

    An error that will recur on every try is a rejection: a bad request
    (`ValueError`, `LookupError`, text that cannot be encoded) or a value the
    database refuses (SQLSTATE class 22, "data exception": a value too long
    for its column, invalid text). Anything else (the database is down, a
    lock timed out) is an outage the outbox retries.
    """
    described = f"{type(error).__name__}: {error}"
    if isinstance(error, (ValueError, LookupError)) or _is_data_error(error):
        return InboxRejectedError(described)
    return InboxUnavailableError(described)


def _is_data_error(error: Exception) -> bool:
    """Whether the database refused a value (not a connection or lock problem)."""
    try:
        from sqlalchemy.exc import DataError, DBAPIError
    except ImportError:  # pragma: no cover - the inbox needs SQLAlchemy
        return False
    if isinstance(error, DataError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return str(code or "").startswith(SQLSTATE_DATA_EXCEPTION)


class InboxClient(Protocol):
    """What the channel asks of the inbox, embedded or standalone.

    Every method raises `InboxUnavailableError` for an outage (the request is
    kept in the outbox and retried) and `InboxRejectedError` for a request the
    inbox refuses (not retried).
    """

    async def request_handover(
        self, conversation_id: str, attempt: int, payload: Dict[str, Any]
    ) -> Dict[str, Any]:
        """Creates (or, on a retry, finds) the ticket; returns its `TicketView`."""

    async def relay(
        self, conversation_id: str, text: str, client_message_id: Optional[str] = None
    ) -> bool:
        """Adds a customer message to the open ticket; False if there is none.

        The ticket stores a message once per `client_message_id` (the same id
        with every retry of one message; None: no such guarantee).
        """

    async def relay_message(
        self, conversation_id: str, text: str, client_message_id: Optional[str] = None
    ) -> Optional[Dict[str, Any]]:
        """Like `relay`; returns the ticket's `TicketView` (None: no open ticket).

        An inbox older than the waiting room answers `{}`: relayed, view unknown.
        """

    async def schedule_callback(
        self,
        conversation_id: str,
        when: Optional[str],
        contact: Optional[str],
        payload: Dict[str, Any],
        due_at: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Creates a callback ticket; returns its `TicketView`."""

    async def leave_message(
        self,
        conversation_id: str,
        email: str,
        message: Optional[str],
        payload: Dict[str, Any],
        client_message_id: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Makes the ticket async (answered by e-mail); returns its `TicketView`.

        `message` is stored once per `client_message_id`, as in `relay`.
        """

    async def record_csat(self, conversation_id: str, score: Any) -> Dict[str, Any]:
        """Stores the CSAT score on the latest resolved ticket (`csat_answer`)."""


class EmbeddedInboxClient:
    """Calls the `InboxService` that runs inside the Rasa server."""

    def __init__(self, service: "InboxService") -> None:
        """Wraps `service`."""
        self.service = service

    def subscribe(self, listener: InboxEventListener) -> Callable[[], None]:
        """Hands the service's customer-facing events to `listener`.

        The same dicts a standalone inbox posts to the channel's webhook.
        """

        async def forward(event: "LifecycleEvent", ticket: "Ticket") -> None:
            await listener(*read_notification(notification(event, ticket)))

        return self.service.subscribe(forward)

    async def request_handover(
        self, conversation_id: str, attempt: int, payload: Dict[str, Any]
    ) -> Dict[str, Any]:
        """Creates (or finds) the ticket; returns the ticket view as a dict."""
        return await self._ticket(
            self.service.request_handover(conversation_id, attempt, payload)
        )

    async def relay(
        self, conversation_id: str, text: str, client_message_id: Optional[str] = None
    ) -> bool:
        """Adds a customer message to the open ticket; False if there is none."""
        ticket = await self.relay_message(conversation_id, text, client_message_id)
        return ticket is not None

    async def relay_message(
        self, conversation_id: str, text: str, client_message_id: Optional[str] = None
    ) -> Optional[Dict[str, Any]]:
        """Adds a customer message to the open ticket; returns the ticket's view."""
        try:
            relayed = await self.service.relay_and_view(
                conversation_id, text, client_message_id
            )
        except Exception as error:
            raise inbox_error(error) from error
        return None if relayed is None else dict(relayed.view.to_dict())

    async def schedule_callback(
        self,
        conversation_id: str,
        when: Optional[str],
        contact: Optional[str],
        payload: Dict[str, Any],
        due_at: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Creates an async (callback) ticket."""
        return await self._ticket(
            self.service.schedule_callback(
                conversation_id, when, contact, payload, due_at
            )
        )

    async def leave_message(
        self,
        conversation_id: str,
        email: str,
        message: Optional[str],
        payload: Dict[str, Any],
        client_message_id: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Makes the ticket async (answered by e-mail)."""
        return await self._ticket(
            self.service.leave_message(
                conversation_id, email, message, payload, client_message_id
            )
        )

    async def record_csat(self, conversation_id: str, score: Any) -> Dict[str, Any]:
        """Stores the CSAT score on the latest resolved ticket (`csat_answer`)."""
        try:
            ticket = await self.service.record_csat(conversation_id, score)
        except Exception as error:
            raise inbox_error(error) from error
        return csat_answer(ticket)

    @staticmethod
    async def _ticket(call: Awaitable[Any]) -> Dict[str, Any]:
        """Awaits a ticket-creating service call, mapping its errors (`inbox_error`)."""
        try:
            view = await call
        except Exception as error:
            raise inbox_error(error) from error
        return dict(view.to_dict())


class HttpInboxClient:
    """Calls a standalone inbox (`rasa-handover inbox`) with signed requests."""

    def __init__(
        self,
        url: str,
        keys: SigningKeys,
        timeout: float = HTTP_TIMEOUT_SECONDS,
    ) -> None:
        """Talks to the inbox API at `url` (e.g. `http://inbox:5010/webhooks/handover/inbox`).

        Args:
            url: The inbox API's base URL.
            keys: The HMAC keys; calls are signed with `channel_to_inbox`.
            timeout: Seconds per request.

        """
        self.url = url.rstrip("/")
        self.key = keys.channel_to_inbox
        self.timeout = timeout

    async def _post(
        self,
        path: str,
        body: Dict[str, Any],
        not_found: Optional[Dict[str, Any]] = None,
    ) -> Dict[str, Any]:
        """POSTs a signed body; returns the JSON answer.

        Args:
            path: The endpoint, relative to the inbox URL.
            body: The request.
            not_found: The answer to return for a 404 (the endpoint's documented
                "nothing there"); None makes a 404 a rejection like any 4xx.

        Raises:
            InboxUnavailableError: unreachable, 5xx or not JSON.
            InboxRejectedError: any other 4xx.

        """
        import aiohttp
        from yarl import URL

        raw = json.dumps(body).encode("utf-8")
        url = f"{self.url}{path}"
        headers = {
            "Content-Type": "application/json",
            **sign("POST", url, raw, self.key),
        }
        try:
            async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout)
            ) as session, session.post(
                # encoded=True: sent exactly as signed.
                URL(url, encoded=True),
                data=raw,
                headers=headers,
            ) as response:
                text = await response.text()
                if response.status >= HTTP_SERVER_ERROR:
                    raise InboxUnavailableError(f"HTTP {response.status}: {text[:200]}")
                if response.status == HTTP_NOT_FOUND and not_found is not None:
                    return not_found
                if response.status >= HTTP_CLIENT_ERROR:
                    raise InboxRejectedError(f"HTTP {response.status}: {text[:200]}")
                return json.loads(text) if text else {}
        # asyncio.TimeoutError: aiohttp's timeout, not the builtin before 3.11.
        except (
            aiohttp.ClientError,
            OSError,
            TimeoutError,
            asyncio.TimeoutError,
        ) as error:
            raise InboxUnavailableError(f"{type(error).__name__}: {error}") from error
        except json.JSONDecodeError as error:
            raise InboxUnavailableError(
                f"the inbox answered with invalid JSON: {error}"
            ) from error

    async def request_handover(
        self, conversation_id: str, attempt: int, payload: Dict[str, Any]
    ) -> Dict[str, Any]:
        """Creates (or finds) the ticket; returns the ticket view as a dict."""
        return await self._post(
            PATH_CHANNEL_TICKETS,
            {
                "conversation_id": conversation_id,
                "attempt": attempt,
                "payload": payload,
            },
        )

    async def relay(
        self, conversation_id: str, text: str, client_message_id: Optional[str] = None
    ) -> bool:
        """Adds a customer message to the open ticket; False if there is none."""
        ticket = await self.relay_message(conversation_id, text, client_message_id)
        return ticket is not None

    async def relay_message(
        self, conversation_id: str, text: str, client_message_id: Optional[str] = None
    ) -> Optional[Dict[str, Any]]:
        """Adds a customer message to the open ticket; returns the ticket's view.

        A retry with the same `client_message_id` is answered with the message
        stored the first time (200 instead of 201): stored once.
        """
        # 404: the conversation has no open handover, the common case.
        answer = await self._post(
            PATH_CHANNEL_MESSAGES,
            _with_client_id(
                {"conversation_id": conversation_id, "text": text}, client_message_id
            ),
            not_found={RELAYED: False},
        )
        if not answer.get(RELAYED):
            return None
        ticket = answer.get(RELAYED_TICKET)
        return dict(ticket) if isinstance(ticket, dict) else {}

    async def schedule_callback(
        self,
        conversation_id: str,
        when: Optional[str],
        contact: Optional[str],
        payload: Dict[str, Any],
        due_at: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Creates an async (callback) ticket."""
        return await self._post(
            PATH_CHANNEL_CALLBACKS,
            {
                "conversation_id": conversation_id,
                "when": when,
                "due_at": due_at,
                "contact": contact,
                "payload": payload,
            },
        )

    async def leave_message(
        self,
        conversation_id: str,
        email: str,
        message: Optional[str],
        payload: Dict[str, Any],
        client_message_id: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Makes the ticket async (answered by e-mail)."""
        return await self._post(
            PATH_CHANNEL_LEFT_MESSAGES,
            _with_client_id(
                {
                    "conversation_id": conversation_id,
                    "email": email,
                    "message": message,
                    "payload": payload,
                },
                client_message_id,
            ),
        )

    async def record_csat(self, conversation_id: str, score: Any) -> Dict[str, Any]:
        """Stores the customer's CSAT score on the latest resolved ticket.

        A conversation without one (404) is answered `{"recorded": false}`.
        """
        return await self._post(
            PATH_CHANNEL_CSAT,
            {"conversation_id": conversation_id, "score": score},
            not_found={CSAT_RECORDED: False},
        )


def _with_client_id(
    body: Dict[str, Any], client_message_id: Optional[str]
) -> Dict[str, Any]:
    """`body` with the idempotency key, when there is one."""
    if client_message_id is None:
        return body
    return {**body, CLIENT_MESSAGE_ID: client_message_id}
