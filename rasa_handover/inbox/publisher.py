"""Who hears about a ticket's changes.

Subscribers (the embedded channel, the webhook notifier) get the events a
customer must be told of; the agents' event streams waiting in this process are
woken on every change.
"""

import asyncio
import dataclasses
import logging
from typing import Awaitable, Callable, List, Optional, Tuple

from rasa_handover.inbox.contract import (
    EVENT_ACCEPTED,
    EVENT_ASSIGNED,
    EVENT_EXPIRED,
    EVENT_FAILED,
    EVENT_MESSAGE,
    EVENT_QUEUED,
    EVENT_RESOLVED,
    EVENT_TRANSFERRED,
    SENDER_AGENT,
)
from rasa_handover.inbox.models import LifecycleEvent, Ticket
from rasa_handover.inbox.store import Change
from rasa_handover.inbox.wait_estimate import format_wait

logger = logging.getLogger(__name__)

# Events subscribers hear about: the ones the customer must be told of. Customer
# messages and internal queue bookkeeping are not among them; `queued` is only
# published when a waiting customer's estimate grew (`refresh_waits`).
NOTIFIED_EVENTS: Tuple[str, ...] = (
    EVENT_ASSIGNED,
    EVENT_ACCEPTED,
    EVENT_MESSAGE,
    EVENT_TRANSFERRED,
    EVENT_RESOLVED,
    EVENT_EXPIRED,
    EVENT_FAILED,
)


EventListener = Callable[[LifecycleEvent, Ticket], Awaitable[None]]


class EventPublisher:
    """Tells subscribers about customer-facing events; wakes waiting streams."""

    def __init__(self) -> None:
        """Creates a publisher without subscribers."""
        self._listeners: List[EventListener] = []
        self._changed: Optional[asyncio.Event] = None

    def subscribe(self, listener: EventListener) -> Callable[[], None]:
        """Registers `async def listener(event, ticket)` for `NOTIFIED_EVENTS`.

        Listeners run in the request that caused the event, one after another;
        one that fails is logged and skipped, never failing the agent's request.
        Slow work (HTTP calls) belongs in a background task of the listener.

        Args:
            listener: The coroutine function to call.

        Returns:
            A function that unsubscribes the listener.

        """
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    async def wait_for_change(self, timeout: float) -> bool:
        """Waits until this process records any change, or `timeout` seconds.

        Used by the event stream to wake up at once instead of on its next poll.

        Args:
            timeout: Seconds to wait at most.

        Returns:
            True if something changed.

        """
        changed = self._change_signal()
        try:
            await asyncio.wait_for(changed.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def publish(self, change: Change, force: bool = False) -> None:
        """Wakes event streams and tells subscribers about customer-facing events."""
        self.signal_change()
        event = change.event
        if event is None:
            return
        if not force:
            if event.type not in NOTIFIED_EVENTS:
                return
            if event.type == EVENT_MESSAGE and event.data.get("sender") != SENDER_AGENT:
                return
        if event.type == EVENT_QUEUED:
            event = dataclasses.replace(
                event,
                data={
                    **event.data,
                    "wait_text": format_wait(change.ticket.estimated_wait_seconds),
                },
            )
        for listener in list(self._listeners):
            try:
                await listener(event, change.ticket)
            except Exception:
                # A broken subscriber must not fail the agent's or customer's call.
                logger.exception(
                    "Handover event listener %r failed on %s", listener, event.type
                )

    def _change_signal(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def signal_change(self) -> None:
        """Wakes every waiting event stream (then starts a fresh signal)."""
        if self._changed is not None:
            self._changed.set()
        self._changed = asyncio.Event()
