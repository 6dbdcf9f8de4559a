"""Pushes lifecycle events from a standalone inbox to the channel, over HTTP.

In embedded mode the channel subscribes to `InboxService` in-process. A standalone
inbox cannot, so `WebhookNotifier` subscribes instead and POSTs each event,
HMAC-signed (see `signing`), to the `channel_callback_url` the channel put into
the handover payload. Deliveries run in one background worker, in order (a
customer must not read the agent's second message before the first), with
exponential back-off on network errors and 5xx/429 answers.
"""

import asyncio
import contextlib
import json
import logging
import time
from typing import Any, Callable, Optional, Tuple

import aiohttp

from rasa_handover.inbox.contract import (
    PAYLOAD_CALLBACK_URL,
    notification,
)
from rasa_handover.inbox.models import LifecycleEvent, Ticket
from rasa_handover.inbox.service import (
    InboxService,
)
from rasa_handover.inbox.signing import sign

logger = logging.getLogger(__name__)

# Five tries with doubling pauses cover a channel restart (about half a minute).
DELIVERY_ATTEMPTS = 5
BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
REQUEST_TIMEOUT_SECONDS = 10.0
# How long `close()` lets queued deliveries finish before dropping them.
CLOSE_GRACE_SECONDS = 5.0
HTTP_TOO_MANY_REQUESTS = 429
HTTP_SERVER_ERROR = 500
HTTP_REDIRECT = 300


class WebhookNotifier:
    """An `InboxService` listener that delivers events to channel webhooks."""

    def __init__(
        self,
        secret: str,
        attempts: int = DELIVERY_ATTEMPTS,
        backoff_seconds: float = BACKOFF_SECONDS,
        timeout_seconds: float = REQUEST_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Creates the notifier.

        Args:
            secret: The shared secret the channel verifies signatures with.
            attempts: Deliveries tried per event before giving up.
            backoff_seconds: Pause after the first failure; doubles each time.
            timeout_seconds: Per-request timeout.
            clock: Unix time, for the signature timestamp.

        """
        self.secret = secret
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.timeout_seconds = timeout_seconds
        self._clock = clock
        self._queue: Optional[asyncio.Queue[Tuple[str, bytes]]] = None
        self._worker: Optional[asyncio.Task[None]] = None
        self._session: Optional[aiohttp.ClientSession] = None

    def attach(self, service: InboxService) -> Callable[[], None]:
        """Subscribes to `service`; returns the unsubscribe function."""
        return service.subscribe(self)

    async def __call__(self, event: LifecycleEvent, ticket: Ticket) -> None:
        """Queues `event` for the ticket's channel (no-op without a callback URL)."""
        url = ticket.payload.get(PAYLOAD_CALLBACK_URL)
        if not isinstance(url, str) or not url:
            return
        body = json.dumps(notification(event, ticket), default=str).encode("utf-8")
        if self._queue is None:
            self._queue = asyncio.Queue()
        self._queue.put_nowait((url, body))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.ensure_future(self._run())

    async def deliver(self, url: str, body: bytes) -> bool:
        """POSTs one signed body, retrying transient failures.

        Args:
            url: The channel's webhook.
            body: The JSON body.

        Returns:
            True once the channel answered 2xx; False after a permanent refusal
            (4xx other than 429) or when every attempt failed.

        """
        for attempt in range(1, self.attempts + 1):
            headers = {
                "Content-Type": "application/json",
                **sign(body, self.secret, int(self._clock())),
            }
            try:
                session = self._get_session()
                async with session.post(url, data=body, headers=headers) as response:
                    if response.status < HTTP_REDIRECT:
                        return True
                    retryable = (
                        response.status >= HTTP_SERVER_ERROR
                        or response.status == HTTP_TOO_MANY_REQUESTS
                    )
                    if not retryable:
                        logger.error(
                            "Channel webhook %s refused a handover event: HTTP %s",
                            url,
                            response.status,
                        )
                        return False
                    problem: Any = f"HTTP {response.status}"
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                problem = error
            if attempt < self.attempts:
                pause = min(
                    self.backoff_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS
                )
                logger.warning(
                    "Channel webhook %s failed (%s); retry %d/%d in %.1f s",
                    url,
                    problem,
                    attempt,
                    self.attempts - 1,
                    pause,
                )
                await asyncio.sleep(pause)
        logger.error(
            "Gave up delivering a handover event to %s after %d attempts",
            url,
            self.attempts,
        )
        return False

    async def close(self) -> None:
        """Lets queued deliveries finish (briefly), then stops the worker."""
        if self._queue is not None and self._worker is not None:
            try:
                await asyncio.wait_for(self._queue.join(), CLOSE_GRACE_SECONDS)
            except asyncio.TimeoutError:
                logger.warning("Dropping undelivered handover events at shutdown")
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            url, body = await self._queue.get()
            try:
                await self.deliver(url, body)
            except Exception:
                logger.exception("Unexpected error delivering to %s", url)
            finally:
                self._queue.task_done()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_seconds)
            )
        return self._session
