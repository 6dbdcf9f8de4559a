"""Who hears about a ticket's changes.

Subscribers (the embedded channel, e-mailed replies) get the events a
customer must be told of (`customer_facing`, the same rule by which a
standalone inbox's `notifier` reads them from the events table); the agents'
event streams waiting in this process are woken on every change.
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
# messages and internal queue bookkeeping are not among them; `queued` only
# with a reason (see `customer_facing`).
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


def customer_facing(event: LifecycleEvent) -> bool:
    """Whether the customer's channel must hear of a stored event.

    The `NOTIFIED_EVENTS`, but of messages only the agents', and of `queued`
    events only those that tell a new wait with a `reason` (back in the queue
    because the agent left, or a grown wait; `store.mark_queued`): the first
    `queued` of a ticket was told to the customer in the answer to the
    handover request, and the bare `requeue` before the new estimate has no
    wait to tell.
    """
    if event.type == EVENT_QUEUED:
        return bool(event.data.get("reason")) and "estimated_wait_seconds" in (
            event.data
        )
    if event.type not in NOTIFIED_EVENTS:
        return False
    return event.type != EVENT_MESSAGE or event.data.get("sender") == SENDER_AGENT


def as_notified(event: LifecycleEvent) -> LifecycleEvent:
    """The event as the channel gets it: a `queued` one with the wait in words."""
    if event.type != EVENT_QUEUED:
        return event
    return dataclasses.replace(
        event,
        data={
            **event.data,
            "wait_text": format_wait(event.data.get("estimated_wait_seconds")),
        },
    )


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

    async def publish(self, change: Change) -> None:
        """Wakes event streams and tells subscribers about customer-facing events."""
        self.signal_change()
        event = change.event
        if event is None or not customer_facing(event):
            return
        event = as_notified(event)
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
