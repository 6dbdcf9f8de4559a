"""Fuzzing the handover channel's HTTP endpoints (issue 11, "Prove it").

The channel is registered on a Sanic app the way `rasa run` does it, with the
real embedded inbox on SQLite, and served on a loopback socket from its own
thread (`tests.inbox.fuzzing.ServedApp`); hypothesis sends real HTTP requests.
Rasa's agent is the recorder of tests/test_channel_input_guard.py (the real
Rasa server runs in tests/e2e/). The channel has no OpenAPI document: the
requests are drawn from its documented shapes (docs/channel.md) and the edge
inputs of the inbox fuzzing (malformed JSON, invalid UTF-8, huge bodies, lone
surrogates, NUL, numbers beyond 64 bits, NaN, deep nesting, absurd ids). The
inbox's lifecycle notifications to `/events` are signed with the package's own
`signing.sign`.

Every answer must be below 500, nothing may be logged as an error, and a
refused request must reach neither Rasa nor the inbox's tables. The budget is
fixed and deterministic (`FUZZ_EXAMPLES` per endpoint and kind); the cases run
per endpoint are printed (docs/security.md#fuzzing).
"""

import logging
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasa.core.channels.channel import CollectingOutputChannel, register
from sanic import Sanic

from rasa_handover.channels import HandoverInput
from rasa_handover.inbox.contract import EVENT_TYPES
from rasa_handover.inbox.limits import MAX_ID
from tests.inbox.fuzzing import (
    FUZZ_EXAMPLES,
    RowCounts,
    ServedApp,
    dumps,
    edge_body,
    edge_values,
    query_value,
)
from tests.signed import inbox_headers
from tests.test_channel_inbox import INBOX_YML, handover_message
from tests.test_channel_input_guard import PREFIX, RecordingAgent

SECRET = "inbox-to-channel-secret-for-the-fuzz-tests"
TIMEOUT_SECONDS = 60
# Long polls end at once: a larger wait is replaced by this one.
MAX_WAIT_SECONDS = 0.05

any_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=200)
plausible_messages = st.fixed_dictionaries(
    {
        "sender": st.one_of(
            st.sampled_from(["c1", "c2"]),
            st.text(alphabet=st.characters(exclude_categories=()), min_size=1),
        ),
        "message": st.one_of(
            any_text,
            st.sampled_from(
                [
                    "I want a human",
                    "/human_handoff",
                    "/handover_resolved",
                    "my card is 4242 4242 4242 4242",
                    "x" * 10_001,
                ]
            ),
        ),
    },
    optional={
        "metadata": st.one_of(
            st.none(),
            st.dictionaries(
                st.sampled_from(["agent_name", "outcome", "customData", "tier"]),
                edge_values,
                max_size=3,
            ),
            st.just('{"agent_name": "Eve"}'),
        )
    },
)
short_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=30)
event_types = st.sampled_from(list(EVENT_TYPES))
plausible_events = st.fixed_dictionaries(
    {
        "event": st.fixed_dictionaries(
            # Mostly right, sometimes anything: both the handling and the checks.
            # The inbox's event id: the channel applies each id once.
            {
                "type": st.one_of(event_types, event_types, edge_values),
                "id": st.one_of(
                    st.integers(min_value=1, max_value=MAX_ID),
                    st.integers(min_value=1, max_value=MAX_ID),
                    edge_values,
                ),
            },
            optional={
                "ticket_id": edge_values,
                "data": st.fixed_dictionaries(
                    {},
                    optional={
                        key: st.one_of(short_text, short_text, edge_values)
                        for key in ("text", "agent_name", "outcome", "sender")
                    }
                    | {"wait_text": st.one_of(short_text, edge_values)},
                ),
            },
        ),
        "ticket": st.fixed_dictionaries(
            {"conversation_id": st.one_of(st.sampled_from(["c1", "c2"]), short_text)},
            optional={
                "id": edge_values,
                "status": edge_values,
                "agent_name": st.one_of(short_text, edge_values),
                "estimated_wait_seconds": edge_values,
                "callback": edge_values,
            },
        ),
    }
)


def short_wait(value: Any) -> Any:
    """`value`, unless it is a number of seconds to wait longer than a moment."""
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        return value
    return (
        MAX_WAIT_SECONDS if seconds == seconds and seconds > MAX_WAIT_SECONDS else value
    )


class ChannelFuzzer:
    """Sends requests to the served channel and records what came back."""

    def __init__(self, base: str, counts: RowCounts, agent: RecordingAgent) -> None:
        self.base = base
        self.counts = counts
        self.agent = agent
        self.session = requests.Session()
        self.cases: Dict[str, Counter] = defaultdict(Counter)
        self.failures: List[str] = []

    def send(
        self, label: str, kind: str, method: str, path: str, body: Optional[bytes]
    ) -> None:
        headers = {"Content-Type": "application/json"}
        if path.endswith("/events"):
            headers.update(
                inbox_headers(method, f"{self.base}{PREFIX}{path}", body or b"", SECRET)
            )
        before = (self.counts(), len(self.agent.messages))
        response = self.session.request(
            method,
            f"{self.base}{PREFIX}{path}",
            data=body,
            headers=headers,
            timeout=TIMEOUT_SECONDS,
        )
        self.cases[label][kind] += 1
        status = response.status_code
        self.cases[label][f"{status // 100}xx"] += 1
        what = f"{method} {path[:120]} {(body or b'')[:160]!r}"
        if status >= 500:
            self.failures.append(f"{what}: {status} {response.text[:200]}")
        elif status >= 400 and (self.counts(), len(self.agent.messages)) != before:
            self.failures.append(f"{what}: {status} but stored or handed on")


def fuzz_settings() -> settings:
    return settings(
        max_examples=FUZZ_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )


def runs(fuzzer: ChannelFuzzer) -> List[Callable[[], None]]:
    """One hypothesis run per endpoint and kind of input."""

    @fuzz_settings()
    @given(body=st.one_of(plausible_messages.map(dumps)))
    def webhook_plausible(body: bytes) -> None:
        fuzzer.send("POST /webhook", "plausible", "POST", "/webhook", body)

    @fuzz_settings()
    @given(body=edge_body(("sender", "message", "metadata")))
    def webhook_edge(body: bytes) -> None:
        fuzzer.send("POST /webhook", "edge", "POST", "/webhook", body)

    @fuzz_settings()
    @given(
        conversation=st.one_of(st.sampled_from(["c1", "c2"]), edge_values),
        query=st.fixed_dictionaries(
            {}, optional={"after": edge_values, "wait": edge_values.map(short_wait)}
        ),
    )
    def poll(conversation: Any, query: Dict[str, Any]) -> None:
        if "wait" not in query:
            query["wait"] = 0
        pairs = "&".join(f"{key}={query_value(value)}" for key, value in query.items())
        path = f"/messages/{query_value(conversation)}?{pairs}"
        fuzzer.send("GET /messages/<conversation_id>", "edge", "GET", path, None)

    @fuzz_settings()
    @given(body=plausible_events.map(dumps))
    def events_plausible(body: bytes) -> None:
        fuzzer.send("POST /events", "plausible", "POST", "/events", body)

    @fuzz_settings()
    @given(body=edge_body(("event", "ticket")))
    def events_edge(body: bytes) -> None:
        fuzzer.send("POST /events", "edge", "POST", "/events", body)

    @fuzz_settings()
    @given(query=st.text(max_size=20))
    def health(query: str) -> None:
        fuzzer.send("GET /", "edge", "GET", f"/?x={query_value(query)}", None)

    return [
        webhook_plausible,
        webhook_edge,
        poll,
        events_plausible,
        events_edge,
        health,
    ]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Tuple[ServedApp, RowCounts, RecordingAgent]]:
    (tmp_path / "inbox.yml").write_text(INBOX_YML)
    db = f"sqlite:///{tmp_path / 'handover.db'}"
    channel = HandoverInput(
        db=db,
        inbox_config=str(tmp_path / "inbox.yml"),
        outbox=str(tmp_path / "outbox.db"),
        shared_secret=SECRET,
    )
    app = Sanic(f"rasa_fuzz_{uuid.uuid4().hex[:10]}")
    register([channel], app, route="/webhooks/")  # what `rasa run` does
    agent = RecordingAgent()
    app.ctx.agent = agent
    with ServedApp(app, prefix="") as served_app:
        # c1 is handed over: its messages go on to the inbox.
        served_app.run(
            channel.relay.handle_plugin_message(
                "c1", handover_message(), CollectingOutputChannel()
            )
        )
        counts = RowCounts(db)
        yield served_app, counts, agent
        counts.close()


def test_no_channel_request_gets_a_5xx_or_stores_half(
    served: Tuple[ServedApp, RowCounts, RecordingAgent],
    capsys: pytest.CaptureFixture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="rasa_handover")
    app, counts, agent = served
    fuzzer = ChannelFuzzer(app.base, counts, agent)

    for run in runs(fuzzer):
        run()
    fuzzer.session.close()

    lines = [
        f"\nHandover channel fuzzing: cases run per endpoint "
        f"({FUZZ_EXAMPLES} examples per kind)",
        "| endpoint | plausible | edge | total | 2xx | 4xx |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, counter in fuzzer.cases.items():
        total = counter["plausible"] + counter["edge"]
        lines.append(
            f"| `{label}` | {counter['plausible']} | {counter['edge']} | {total} | "
            f"{counter['2xx']} | {counter['4xx']} |"
        )
    with capsys.disabled():
        print("\n".join(lines))
    assert fuzzer.failures == []
    assert counts.orphans() == []
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert logged == []
    assert len(fuzzer.cases) == 4


def test_a_signed_notification_nested_too_deep_is_a_400(
    served: Tuple[ServedApp, RowCounts, RecordingAgent],
) -> None:
    """It raised RecursionError into Sanic (a 500) before; found by this fuzzing."""
    app, _, _ = served
    body = b"[" * 100_000 + b"]" * 100_000
    headers = {"Content-Type": "application/json"}
    headers.update(inbox_headers("POST", f"{app.base}{PREFIX}/events", body, SECRET))

    response = requests.post(
        f"{app.base}{PREFIX}/events", data=body, headers=headers, timeout=60
    )

    assert response.status_code == 400
    assert response.json()["field"] == "event"


@pytest.mark.parametrize(
    "notification",
    [
        pytest.param({"event": {"type": "message", "data": "x"}}, id="data-text"),
        pytest.param({"event": {"type": 1}}, id="type-number"),
        pytest.param(
            {"event": {"type": "assigned", "data": {"agent_name": ["Eve"]}}},
            id="agent-name-list",
        ),
    ],
)
def test_a_signed_notification_of_the_wrong_shape_is_a_400(
    served: Tuple[ServedApp, RowCounts, RecordingAgent], notification: Dict[str, Any]
) -> None:
    """`data` as text gave an AttributeError (a 500) before; found by this fuzzing."""
    app, _, _ = served
    body = dumps({**notification, "ticket": {"conversation_id": "c1"}})
    headers = {"Content-Type": "application/json"}
    headers.update(inbox_headers("POST", f"{app.base}{PREFIX}/events", body, SECRET))

    response = requests.post(
        f"{app.base}{PREFIX}/events", data=body, headers=headers, timeout=60
    )

    assert response.status_code == 400
    assert response.json()["field"] == "event"


def test_a_signed_notification_with_an_id_too_large_to_store_is_a_400(
    served: Tuple[ServedApp, RowCounts, RecordingAgent],
) -> None:
    """SQLite could not store the applied id (OverflowError, a 500) before; found
    by this fuzzing at HANDOVER_FUZZ_EXAMPLES=200."""
    app, _, _ = served
    body = dumps(
        {
            "event": {"id": 2**63, "type": "message", "data": {"text": "hi"}},
            "ticket": {"conversation_id": "c1"},
        }
    )
    headers = {"Content-Type": "application/json"}
    headers.update(inbox_headers("POST", f"{app.base}{PREFIX}/events", body, SECRET))

    response = requests.post(
        f"{app.base}{PREFIX}/events", data=body, headers=headers, timeout=60
    )

    assert response.status_code == 400
    assert "event.id" in response.json()["error"]
