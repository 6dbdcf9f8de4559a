"""The inbox API's input limits, in one place, enforced at the edge (a clear 400/404).

Whatever a client sends, a handler answers with a 4xx naming the field, never a
500 from the database or the JSON parser: numbers must be finite, ids must fit
the database's integer, bodies must not nest without end, free text is bounded.

Pure: imports nothing from Sanic or SQLAlchemy.
"""

import math
import time
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Tuple

# Longest message an agent or customer may send through the API.
MAX_TEXT_CHARS = 10_000
# Longest resolution note.
MAX_NOTE_CHARS = 2_000
# Longest conversation id (the database column's size).
MAX_CONVERSATION_ID_CHARS = 255
# Deepest nesting of objects and lists in a request body (a context payload
# nests a handful of levels; thousands exhaust the parser's recursion).
MAX_JSON_DEPTH = 32
# Largest ticket or event id (a signed 64-bit integer in PostgreSQL).
MAX_ID = 2**63 - 1


class LimitError(ValueError):
    """An input outside its limits; the message says which and why.

    Attributes:
        field: The request field at fault.

    """

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


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


def finite_number(raw: str, name: str) -> float:
    """A query parameter as a finite number >= 0.

    Raises:
        LimitError: not a number, `nan`, `inf`, or negative.

    """
    try:
        value = float(raw)
    except ValueError:
        raise LimitError(f"'{name}' must be a number", name) from None
    if not math.isfinite(value):
        raise LimitError(f"'{name}' must be a finite number, got {raw!r}", name)
    if value < 0:
        raise LimitError(f"'{name}' must be 0 or more", name)
    return value


def cursor(raw: str, name: str) -> int:
    """A query parameter as an id cursor: a whole number from 0 to `MAX_ID`.

    Raises:
        LimitError: not a whole number, or outside that range.

    """
    try:
        value = int(raw)
    except ValueError:
        raise LimitError(f"'{name}' must be a whole number (an id)", name) from None
    if not 0 <= value <= MAX_ID:
        raise LimitError(f"'{name}' must be between 0 and {MAX_ID}", name)
    return value


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
