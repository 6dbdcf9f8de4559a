"""The channel's webhook for a standalone inbox's events: verified, applied once.

A standalone inbox delivers every customer-facing event (an agent's reply, an
assignment, a resolution, ...) from its events table, in order, until the
channel answers 2xx, and again after a restart of either side
(`rasa_handover.inbox.notifier`): at least once. This endpoint makes that
effectively once: it verifies the signature (`signing.Verifier`, the
inbox-to-channel key), and applies an event only if it claims its id first
(`AppliedIds.claim`): not applied yet, and not being applied right now. The
ids are kept in the outbox's SQLite file (`AppliedEvents`, so a restart of the
Rasa server remembers them) or, with several Rasa replicas, in Redis
(`redis_state.RedisAppliedEvents`, so an event delivered to two replicas is
applied by one). An event is recorded after it was applied: a crash in between
repeats it rather than losing it.
"""

import json
import logging
import sqlite3
import threading
import time
from typing import (
    Any,
    Awaitable,
    Callable,
    Dict,
    Mapping,
    Optional,
    Protocol,
    Set,
    Tuple,
)

from rasa_handover.inbox.contract import read_notification
from rasa_handover.inbox.limits import MAX_ID
from rasa_handover.inbox.signing import SignatureError, Verifier

# Applied event ids are forgotten after this long (the inbox re-sends only the
# events of its last few seconds after a restart; a week is ample).
APPLIED_RETENTION_SECONDS = 7 * 24 * 3600
# ... and beyond this many, the oldest first.
MAX_APPLIED_EVENTS = 100_000
# Prune once every this many recorded events.
_PRUNE_EVERY = 1000
# An event whose application raises is retried (the inbox delivers it again)
# this many times, then recorded as applied and logged: a bug in applying one
# event must not repeat its first half forever nor hold back the rest.
MAX_APPLY_ATTEMPTS = 5

logger = logging.getLogger(__name__)

HTTP_OK = 200
HTTP_BAD_REQUEST = 400
HTTP_UNAUTHORIZED = 401
HTTP_UNAVAILABLE = 503

_SCHEMA = """
CREATE TABLE IF NOT EXISTS applied_inbox_events (
    event_id INTEGER PRIMARY KEY,
    applied_at REAL NOT NULL
);
"""

EventHandler = Callable[[Dict[str, Any], Dict[str, Any]], Awaitable[None]]

# What `AppliedIds.claim` finds.
CLAIMED = "claimed"  # the caller applies it now
APPLYING = "applying"  # being applied (here or on another replica): retry
APPLIED = "applied"  # applied before: a duplicate


class AppliedIdsUnavailableError(Exception):
    """Where the applied ids are kept cannot be reached now (the inbox retries)."""


class AppliedIds(Protocol):
    """The ids of the inbox events applied so far, and those being applied."""

    async def claim(self, event_id: int) -> str:
        """`CLAIMED` (apply it, then `done`), `APPLYING` or `APPLIED`.

        Raises:
            AppliedIdsUnavailableError: the ids cannot be read now.

        """
        ...

    async def done(self, event_id: int) -> None:
        """The claimed event was applied: remember it."""
        ...

    async def release(self, event_id: int) -> None:
        """Applying the claimed event failed: it may be claimed again."""
        ...

    def close(self) -> None:
        """Lets go of what it holds (a file)."""
        ...


class AppliedEvents:
    """The ids of the inbox events this channel has applied, in SQLite.

    The events being applied are known to this process only: right for one
    Rasa server (several use `redis_state.RedisAppliedEvents`).
    """

    def __init__(self, path: str) -> None:
        """Opens (or creates) the table in the SQLite file `path`."""
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._recorded = 0
        self._in_flight: Set[int] = set()
        with self._lock:
            self._db.executescript(_SCHEMA)

    async def claim(self, event_id: int) -> str:
        """`CLAIMED`, `APPLYING` or `APPLIED` (see `AppliedIds`)."""
        if event_id in self._in_flight:
            return APPLYING
        if event_id in self:
            return APPLIED
        self._in_flight.add(event_id)
        return CLAIMED

    async def done(self, event_id: int) -> None:
        """Records the claimed event as applied."""
        self.add(event_id)
        self._in_flight.discard(event_id)

    async def release(self, event_id: int) -> None:
        """The claimed event may be claimed again."""
        self._in_flight.discard(event_id)

    def __contains__(self, event_id: object) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM applied_inbox_events WHERE event_id = ?", (event_id,)
            ).fetchone()
        return row is not None

    def add(self, event_id: int, now: Optional[float] = None) -> None:
        """Records an applied event."""
        now = time.time() if now is None else now
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO applied_inbox_events VALUES (?, ?)",
                (event_id, now),
            )
            self._recorded += 1
            if self._recorded % _PRUNE_EVERY == 0:
                self._prune(now)

    def _prune(self, now: float) -> None:
        self._db.execute(
            "DELETE FROM applied_inbox_events WHERE applied_at < ?",
            (now - APPLIED_RETENTION_SECONDS,),
        )
        self._db.execute(
            "DELETE FROM applied_inbox_events WHERE event_id NOT IN (SELECT event_id "
            "FROM applied_inbox_events ORDER BY event_id DESC LIMIT ?)",
            (MAX_APPLIED_EVENTS,),
        )

    def close(self) -> None:
        """Closes the file."""
        with self._lock:
            self._db.close()


class InboxEventsEndpoint:
    """Verifies, de-duplicates and applies the events a standalone inbox posts."""

    def __init__(
        self, verifier: Verifier, applied: AppliedIds, apply: EventHandler
    ) -> None:
        """Creates the endpoint.

        Args:
            verifier: Checks the inbox-to-channel signatures.
            applied: The ids applied so far.
            apply: `async apply(event, ticket)`: the relay's reaction.

        """
        self.verifier = verifier
        self.applied = applied
        self.apply = apply
        self._failed: Dict[int, int] = {}

    async def handle(
        self, method: str, target: str, body: bytes, headers: Mapping[str, str]
    ) -> Tuple[int, Dict[str, Any]]:
        """One delivery: the HTTP status and JSON body to answer with.

        200 once the event is applied (now or before), 401 for a bad
        signature, 400 for a body that is no event, 503 while the same event
        is still being applied (the inbox retries).
        """
        try:
            self.verifier.verify(method, target, body, headers)
        except SignatureError as error:
            return HTTP_UNAUTHORIZED, {"error": str(error), "field": "signature"}
        try:
            event, ticket = read_notification(json.loads(body))
        # RecursionError: nested deeper than the parser goes (found by fuzzing).
        except (ValueError, KeyError, TypeError, RecursionError) as error:
            return HTTP_BAD_REQUEST, {
                "error": f"Expected {{'event': ..., 'ticket': ...}}: {error}",
                "field": "event",
            }
        event_id = _event_id(event)
        if event_id is None:
            return HTTP_BAD_REQUEST, {
                "error": (
                    "event.id must be the inbox's event id (a positive integer "
                    f"up to {MAX_ID})"
                ),
                "field": "event",
            }
        try:
            claim = await self.applied.claim(event_id)
        except AppliedIdsUnavailableError as error:
            return HTTP_UNAVAILABLE, {"error": str(error), "field": None}
        if claim == APPLYING:
            return HTTP_UNAVAILABLE, {
                "error": f"event {event_id} is being applied; retry",
                "field": "event",
            }
        if claim == APPLIED:
            return HTTP_OK, {"status": "duplicate", "event_id": event_id}
        try:
            await self.apply(event, ticket)
        except Exception:
            attempts = self._failed[event_id] = self._failed.get(event_id, 0) + 1
            if attempts < MAX_APPLY_ATTEMPTS:
                logger.exception(
                    "rasa-handover: applying inbox event %s failed (try %d); the "
                    "inbox delivers it again",
                    event_id,
                    attempts,
                )
                await self.applied.release(event_id)
                return HTTP_UNAVAILABLE, {
                    "error": f"event {event_id} could not be applied; retry",
                    "field": "event",
                }
            logger.exception(
                "rasa-handover: gave up applying inbox event %s after %d tries",
                event_id,
                attempts,
            )
        except BaseException:  # cancelled: another delivery may apply it
            await self.applied.release(event_id)
            raise
        self._failed.pop(event_id, None)
        try:
            await self.applied.done(event_id)
        except AppliedIdsUnavailableError as error:
            # Applied but not recorded: should the inbox deliver it again
            # (after its restart), it is applied twice, never lost.
            logger.error(f"rasa-handover: inbox event {event_id}: {error}")
        return HTTP_OK, {"status": "ok", "event_id": event_id}


def _event_id(event: Mapping[str, Any]) -> Optional[int]:
    """The inbox's event id, or None when `id` is no id the inbox gives out.

    Above `MAX_ID` it is none either (and SQLite could not store it: a 500,
    found by fuzzing).
    """
    value = event.get("id")
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 < value <= MAX_ID else None
