"""The inbox API's input limits, enforced at the edge (a clear 400/404, never a 500).

The numbers both sides share (text, conversation and client message id lengths,
the largest id, finite waits) are `rasa_handover.limits`, imported here; this
module adds what only the inbox API has: the resolution note, JSON nesting of
request bodies, and the failed sign-in limiter.

Pure: imports nothing from Sanic or SQLAlchemy.
"""

import time
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Tuple

from rasa_handover.limits import (
    CLIENT_MESSAGE_ID_PATTERN,
    MAX_CLIENT_MESSAGE_ID_CHARS,
    MAX_CONVERSATION_ID_CHARS,
    MAX_TEXT_CHARS,
    LimitError,
    client_message_id,
    message_id,
    seconds,
)

# The largest ticket, message and event id, and handover attempt: the largest
# integer JSON (a JavaScript number) holds exactly. The store's columns are
# 64-bit (schema version 2). A larger number is no id the inbox hands out (and
# past 64 bits would make the query itself fail: found by fuzzing).
MAX_ID = 2**53 - 1

# Longest channel webhook URL (`channel_callback_url`; its cursor's key).
MAX_CHANNEL_URL_CHARS = 1024
# Longest resolution note.
MAX_NOTE_CHARS = 2_000
# Deepest nesting of objects and lists in a request body (a context payload
# nests a handful of levels; thousands exhaust the parser's recursion).
MAX_JSON_DEPTH = 32


def json_depth(value: Any) -> int:
    """How deeply objects and lists nest in `value` (iteratively: no recursion)."""
    deepest = 0
    stack: List[Tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


# Failed sign-ins (unknown agent tokens) allowed per client address and window
# before the API answers 429: guessing tokens becomes hopeless.
MAX_FAILED_LOGINS = 10
FAILED_LOGIN_WINDOW_SECONDS = 60.0
# Addresses remembered at most (the oldest are forgotten first).
MAX_TRACKED_CLIENTS = 10_000


class FailureLimiter:
    """Counts failures per key in a sliding window (in this process's memory)."""

    def __init__(
        self,
        max_failures: int = MAX_FAILED_LOGINS,
        window_seconds: float = FAILED_LOGIN_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Creates the limiter.

        Args:
            max_failures: Failures allowed within the window.
            window_seconds: The window.
            clock: Monotonic seconds (tests pass a fake one).

        """
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self.clock = clock
        self._failures: Dict[str, Deque[float]] = {}

    def retry_after(self, key: str) -> float:
        """Seconds until `key` may try again (0: now)."""
        recent = self._recent(key)
        if len(recent) < self.max_failures:
            return 0.0
        return max(0.0, recent[0] + self.window_seconds - self.clock())

    def failed(self, key: str) -> None:
        """Records one failure of `key`."""
        recent = self._recent(key)
        recent.append(self.clock())
        self._failures.pop(key, None)
        self._failures[key] = recent  # Most recently failed last.
        while len(self._failures) > MAX_TRACKED_CLIENTS:
            self._failures.pop(next(iter(self._failures)))

    def _recent(self, key: str) -> Deque[float]:
        recent = self._failures.get(key, deque())
        cutoff = self.clock() - self.window_seconds
        while recent and recent[0] <= cutoff:
            recent.popleft()
        return recent


__all__ = [
    "CLIENT_MESSAGE_ID_PATTERN",
    "MAX_CLIENT_MESSAGE_ID_CHARS",
    "MAX_CONVERSATION_ID_CHARS",
    "MAX_FAILED_LOGINS",
    "MAX_ID",
    "MAX_JSON_DEPTH",
    "MAX_NOTE_CHARS",
    "MAX_TEXT_CHARS",
    "FailureLimiter",
    "LimitError",
    "client_message_id",
    "json_depth",
    "message_id",
    "seconds",
]
