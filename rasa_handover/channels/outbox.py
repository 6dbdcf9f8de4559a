"""A durable outbox: what the channel could not deliver to the inbox yet.

A handover request (or a customer message relayed to an agent) that fails to
reach the inbox is written here first, then retried with backoff until the inbox
takes it. The inbox creates tickets idempotently per (conversation, attempt), so
a retry of a request that did arrive never creates a second ticket. Items are
kept in an SQLite file (stdlib `sqlite3`), so a restart of the Rasa server loses
nothing; items of one conversation are delivered in order.

An item the inbox rejects (it would fail the same way every time), or that
still fails after `max_attempts` tries, becomes a *dead letter*: kept in the
file with its reason (`dead_letters()`), never retried, and no longer holding
back its conversation's later items. The relay tells the customer.
"""

import json
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from rasa_handover.limits import MAX_OUTBOX_ATTEMPTS

KIND_HANDOVER = "handover"
KIND_RELAY = "relay"
KIND_CALLBACK = "callback"
# The customer's CSAT score after a handback.
KIND_CSAT = "csat"
# Kinds the customer is not told about while delivery is delayed: a relayed
# message (the waiting room answers) and a CSAT score (only data; nor is the
# customer told when the inbox refuses one).
QUIET_KINDS = (KIND_RELAY, KIND_CSAT)

# Retry after 1, 2, 4, ... seconds, at most every minute.
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    created_at REAL NOT NULL,
    delivered_at REAL,
    last_error TEXT,
    customer_notified INTEGER NOT NULL DEFAULT 0,
    dead_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (delivered_at, next_attempt_at);
"""
# Outbox files written before dead letters existed get the column on opening.
_ADDED_COLUMNS = {"dead_at": "ALTER TABLE outbox ADD COLUMN dead_at REAL"}
# Not delivered and not given up on.
_PENDING = "delivered_at IS NULL AND dead_at IS NULL"
_ITEM_COLUMNS = (
    "id, kind, conversation_id, body, attempts, next_attempt_at, "
    "customer_notified, last_error"
)
# The reason kept with a dead letter (and a failed try) is cut to this length.
MAX_ERROR_CHARS = 500


def backoff_seconds(attempts: int) -> float:
    """Seconds to wait before the next try after `attempts` failed ones."""
    if attempts <= 0:
        return 0.0
    return float(min(BACKOFF_BASE_SECONDS * 2 ** (attempts - 1), BACKOFF_MAX_SECONDS))


@dataclass(frozen=True)
class OutboxItem:
    """One undelivered request."""

    id: int
    kind: str
    conversation_id: str
    body: Dict[str, Any]
    attempts: int
    next_attempt_at: float
    customer_notified: bool
    last_error: Optional[str] = None


class Outbox:
    """Undelivered requests, persisted in SQLite."""

    def __init__(self, path: str, max_attempts: int = MAX_OUTBOX_ATTEMPTS) -> None:
        """Opens (or creates) the outbox file at `path` (`:memory:` for tests).

        Args:
            path: The SQLite file.
            max_attempts: Failed tries after which an item is a dead letter.

        """
        self.path = path
        self.max_attempts = int(max_attempts)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        with self._lock:
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(outbox)")}
            for column, statement in _ADDED_COLUMNS.items():
                if column not in columns:
                    self._db.execute(statement)
            # The pending items' conversations, read once and kept in step with
            # every write below: `has_pending` (asked for every relayed
            # message, on the event loop) reads no file.
            self._pending: Dict[int, str] = dict(
                self._db.execute(
                    f"SELECT id, conversation_id FROM outbox WHERE {_PENDING}"
                ).fetchall()
            )
            self._pending_per_conversation = Counter(self._pending.values())

    def add(
        self,
        kind: str,
        conversation_id: str,
        body: Dict[str, Any],
        now: Optional[float] = None,
    ) -> int:
        """Stores a request to deliver; returns its id."""
        now = time.time() if now is None else now
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO outbox (kind, conversation_id, body, next_attempt_at, "
                "created_at) VALUES (?, ?, ?, ?, ?)",
                # ASCII JSON: any text (a lone surrogate too) can be stored.
                (kind, conversation_id, json.dumps(body, ensure_ascii=True), now, now),
            )
            item_id = int(cursor.lastrowid or 0)
            self._pending[item_id] = conversation_id
            self._pending_per_conversation[conversation_id] += 1
        return item_id

    def due(self, now: Optional[float] = None) -> List[OutboxItem]:
        """Undelivered items whose retry time has come, oldest first.

        Items of a conversation whose older item is not yet due are held back,
        so that a relayed message never overtakes its conversation's handover.
        """
        now = time.time() if now is None else now
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_ITEM_COLUMNS} FROM outbox WHERE {_PENDING} ORDER BY id"
            ).fetchall()
        blocked = set()
        due = []
        for row in rows:
            item = _item(row)
            if item.conversation_id in blocked:
                continue
            if item.next_attempt_at > now:
                blocked.add(item.conversation_id)
                continue
            due.append(item)
        return due

    def has_pending(self, conversation_id: str) -> bool:
        """Whether the conversation has undelivered items (new ones queue behind).

        From memory (no file access): asked for every relayed message.
        """
        with self._lock:
            return self._pending_per_conversation[conversation_id] > 0

    def pending_count(self) -> int:
        """How many items are waiting for delivery."""
        with self._lock:
            return len(self._pending)

    def delivered(self, item_id: int, now: Optional[float] = None) -> None:
        """Marks an item as delivered (kept for the record)."""
        with self._lock:
            self._db.execute(
                "UPDATE outbox SET delivered_at = ? WHERE id = ?",
                (time.time() if now is None else now, item_id),
            )
            self._settled(item_id)

    def _settled(self, item_id: int) -> None:
        """An item left the pending ones (delivered or dead); holds `_lock`."""
        conversation_id = self._pending.pop(item_id, None)
        if conversation_id is None:
            return
        self._pending_per_conversation[conversation_id] -= 1
        if self._pending_per_conversation[conversation_id] <= 0:
            del self._pending_per_conversation[conversation_id]

    def failed(self, item_id: int, error: str, now: Optional[float] = None) -> int:
        """Records a failed try and schedules the next; returns the attempt count.

        The try that reaches `max_attempts` makes the item a dead letter.
        """
        now = time.time() if now is None else now
        with self._lock:
            row = self._db.execute(
                "SELECT attempts FROM outbox WHERE id = ?", (item_id,)
            ).fetchone()
            attempts = int(row[0]) + 1 if row else 1
            self._db.execute(
                "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? "
                "WHERE id = ?",
                (
                    attempts,
                    now + backoff_seconds(attempts),
                    error[:MAX_ERROR_CHARS],
                    item_id,
                ),
            )
        if attempts >= self.max_attempts:
            self.dead_letter(
                item_id, f"gave up after {attempts} attempts: {error}", now
            )
        return attempts

    def dead_letter(
        self, item_id: int, reason: str, now: Optional[float] = None
    ) -> None:
        """Gives up on an item: kept with `reason`, never retried."""
        with self._lock:
            self._db.execute(
                "UPDATE outbox SET dead_at = ?, last_error = ? WHERE id = ?",
                (
                    time.time() if now is None else now,
                    reason[:MAX_ERROR_CHARS],
                    item_id,
                ),
            )
            self._settled(item_id)

    def is_dead(self, item_id: int) -> bool:
        """Whether the item was given up on."""
        with self._lock:
            row = self._db.execute(
                "SELECT dead_at FROM outbox WHERE id = ?", (item_id,)
            ).fetchone()
        return bool(row and row[0] is not None)

    def dead_letters(self) -> List[OutboxItem]:
        """The items given up on, oldest first, with their reason (`last_error`)."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_ITEM_COLUMNS} FROM outbox "
                "WHERE dead_at IS NOT NULL ORDER BY id"
            ).fetchall()
        return [_item(row) for row in rows]

    def mark_customer_notified(self, item_id: int) -> None:
        """Records that the customer was told about the delay (told once)."""
        with self._lock:
            self._db.execute(
                "UPDATE outbox SET customer_notified = 1 WHERE id = ?", (item_id,)
            )

    def close(self) -> None:
        """Closes the file."""
        with self._lock:
            self._db.close()


def _item(row: Any) -> OutboxItem:
    return OutboxItem(
        row[0],
        row[1],
        row[2],
        json.loads(row[3]),
        row[4],
        row[5],
        bool(row[6]),
        row[7],
    )
