"""What the fuzz tests of the inbox API need: a served app, edge inputs, row counts.

* `ServedApp` serves a real Sanic app on a loopback port from its own thread
  and event loop, so that schemathesis and hypothesis (synchronous) can send
  real HTTP requests with `requests`.
* `edge_requests` draws the inputs schemathesis does not make by itself:
  malformed JSON and invalid UTF-8, huge bodies and strings, lone surrogates
  and NUL characters, numbers beyond 64 bits, `NaN` and `Infinity`, deep
  nesting, unknown and absurd ids.
* `RowCounts` counts the rows of the inbox's tables (to prove that a refused
  request stored nothing).
"""

import asyncio
import contextlib
import json
import os
import threading
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import quote

import sqlalchemy as sa
from hypothesis import strategies as st
from sanic import Sanic

from rasa_handover.inbox.limits import MAX_ID, MAX_JSON_DEPTH
from rasa_handover.inbox.store.schema import (
    events_table,
    messages_table,
    tickets_table,
)
from tests.inbox.conftest import running

STARTUP_SECONDS = 120
# Examples per endpoint and kind of input: bounded, so `make test` stays quick;
# `HANDOVER_FUZZ_EXAMPLES=200` for a deeper run.
FUZZ_EXAMPLES = int(os.environ.get("HANDOVER_FUZZ_EXAMPLES", "8"))


class ServedApp:
    """`app` served on a free loopback port by a thread of its own."""

    def __init__(self, app: Sanic, prefix: Optional[str] = None) -> None:
        self.app = app
        self.prefix = prefix
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._served: Optional[contextlib.AbstractAsyncContextManager] = None
        self.base = ""

    def run(self, coroutine: Any, timeout: float = STARTUP_SECONDS) -> Any:
        """Runs `coroutine` on the server's loop and returns its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def __enter__(self) -> "ServedApp":
        self._thread.start()
        self._served = (
            running(self.app) if self.prefix is None else running(self.app, self.prefix)
        )
        self.base = self.run(self._served.__aenter__())
        return self

    def __exit__(self, *_: Any) -> None:
        assert self._served is not None
        self.run(self._served.__aexit__(None, None, None))
        self.run(_cancel_the_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(STARTUP_SECONDS)
        self.loop.close()


async def _cancel_the_rest() -> None:
    """Ends what is left on the loop (connections clients left open)."""
    current = asyncio.current_task()
    rest = [task for task in asyncio.all_tasks() if task is not current]
    for task in rest:
        task.cancel()
    await asyncio.gather(*rest, return_exceptions=True)


class RowCounts:
    """Counts the rows of the tickets, messages and events tables."""

    TABLES = (tickets_table, messages_table, events_table)

    def __init__(self, url: str, schema: Optional[str] = None) -> None:
        connect_args = {"options": f"-csearch_path={schema}"} if schema else {}
        self.engine = sa.create_engine(url, connect_args=connect_args)

    def __call__(self) -> Dict[str, int]:
        with self.engine.connect() as conn:
            return {
                table.name: int(
                    conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
                    or 0
                )
                for table in self.TABLES
            }

    def orphans(self) -> List[str]:
        """Rows that point at no ticket, and tickets without any event."""
        tickets = sa.select(tickets_table.c.id)
        checks = {
            "messages without a ticket": sa.select(sa.func.count())
            .select_from(messages_table)
            .where(messages_table.c.ticket_id.not_in(tickets)),
            "events without a ticket": sa.select(sa.func.count())
            .select_from(events_table)
            .where(events_table.c.ticket_id.not_in(tickets)),
            "tickets without an event": sa.select(sa.func.count())
            .select_from(tickets_table)
            .where(tickets_table.c.id.not_in(sa.select(events_table.c.ticket_id))),
        }
        with self.engine.connect() as conn:
            return [
                name for name, query in checks.items() if conn.execute(query).scalar()
            ]

    def close(self) -> None:
        self.engine.dispose()


# --- Edge inputs. ---------------------------------------------------------------------

LONE_SURROGATE = "\ud800"
HUGE_CHARS = 1_000_001  # A megabyte of text: over every limit.

_EDGE_STRINGS = [
    "",
    " ",
    LONE_SURROGATE,
    f"a{LONE_SURROGATE}b",
    "\udfff",
    "\x00",
    "a\x00b",
    "\u202e\u0000\ufeff",
    "😀" * 3,
    "\U0010ffff",
    "x" * 256,
    "x" * 10_001,
    "NaN",
    "1e309",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "c1",  # The seeded conversations.
    "c2",
    "general",
    "billing",
    "resolved",
    "dana@example.com",
    "2024-05-15T10:00:00Z",
    "tomorrow 9am",
]
_EDGE_NUMBERS: List[Any] = [
    0,
    -1,
    1,
    MAX_ID,
    MAX_ID + 1,
    2**64,
    -(2**63) - 1,
    10**400,
    0.5,
    1e308,
    float("nan"),
    float("inf"),
    float("-inf"),
    True,
    False,
    None,
]


def _nested(depth: int) -> Any:
    value: Any = "deep"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


_EDGE_COMPOUNDS: List[Any] = [
    {},
    [],
    {"team": "billing"},
    {"team": LONE_SURROGATE, "customer": {"name": "x" * 300}},
    {"trigger": {"reason": "\x00", "team": ["not", "a", "string"]}},
    {"nan": float("nan")},
    _nested(MAX_JSON_DEPTH - 2),
    _nested(MAX_JSON_DEPTH + 1),
]

edge_values = st.one_of(
    st.sampled_from(_EDGE_STRINGS),
    st.sampled_from(_EDGE_NUMBERS),
    st.sampled_from(_EDGE_COMPOUNDS),
    # Every code point, lone surrogates and NUL included.
    st.text(alphabet=st.characters(exclude_categories=()), max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70),
)

# Whole bodies that are not a JSON object at all, or not even text.
_RAW_BODIES: List[bytes] = [
    b"",
    b"   ",
    b"{",
    b'{"a": }',
    b"null",
    b"[]",
    b'"text"',
    b"NaN",
    b"\xff\xfe\x00",
    b'{"text": "\xed\xa0\x80"}',  # A surrogate in (invalid) UTF-8.
    b"[" * 100_000 + b"]" * 100_000,
    b'{"x": "' + b"y" * HUGE_CHARS + b'"}',
]

# Path ids: valid, unknown, beyond 64 bits, not numbers, encoded oddities.
_EDGE_IDS = [
    "1",
    "2",
    "3",
    "999999",
    "0",
    "-1",
    str(MAX_ID),
    str(MAX_ID + 1),
    "9" * 400,
    "1e3",
    "nan",
    "%F0%9F%98%80",
    "%00",
    "%ED%A0%80",
    "%EF%BC%91",  # A full-width digit one.
    "1%20",
]


def dumps(value: Any) -> bytes:
    """JSON as Python writes it: lone surrogates become `\\ud800` escapes, NaN `NaN`."""
    return json.dumps(value, ensure_ascii=True).encode("ascii")


@st.composite
def edge_body(draw: Any, properties: Tuple[str, ...]) -> bytes:
    """A request body: an object of the operation's fields with edge values, or
    raw bytes that are no JSON object."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.sampled_from(_RAW_BODIES))
    body: Dict[str, Any] = {}
    for name in properties:
        if draw(st.integers(0, 5)) == 0:
            continue  # Left out.
        body[name] = draw(edge_values)
    if draw(st.booleans()):
        body[draw(st.sampled_from(["extra", LONE_SURROGATE, ""]))] = draw(edge_values)
    return dumps(body)


def query_value(value: Any) -> str:
    """A query value as it may arrive: any text, percent-encoded from UTF-8
    (lone surrogates included, through `surrogatepass`)."""
    text = value if isinstance(value, str) else json.dumps(value)
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


# Event stream tickets: shaped like one (so they reach the agent lookup), with
# any agent id, or anything at all.
edge_tickets = st.one_of(
    edge_values,
    st.tuples(
        st.integers(0, 2**70), st.sampled_from(["n", ""]), st.one_of(edge_values)
    ).map(lambda parts: f"{parts[0]}.{parts[1]}.s.{parts[2]}"),
)

edge_ids = st.one_of(st.sampled_from(_EDGE_IDS), st.integers(1, 5).map(str))
