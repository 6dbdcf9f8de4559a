"""Fuzzing every endpoint of the inbox API from its OpenAPI document (issue 11).

schemathesis generates requests from the document the inbox serves
(`openapi_document()`): ones that fit it (positive) and ones that break it
(negative: wrong types, missing fields, values out of range); `fuzzing.py`
adds what schemathesis does not make by itself (malformed JSON, invalid UTF-8,
huge bodies, lone surrogates, NUL, numbers beyond 64 bits, NaN, deep nesting,
unknown and absurd ids). Every request goes over real HTTP to the real Sanic
app, on SQLite and on PostgreSQL (`HANDOVER_TEST_POSTGRES_URL`), as a
supervisor (so that the handlers, not the authorisation, are what is fuzzed;
the event stream's `?ticket=` goes without the header), and channel requests
are signed with the package's own `signing.sign`.

Every answer must be below 500, every 4xx of the API a JSON error naming what
is wrong, nothing may be logged as an error (the event stream fails after its
200), and a refused request must store nothing (the row counts of
tickets, messages and events are unchanged); at the end no row points at a
missing ticket. The budget is fixed and the run deterministic
(`FUZZ_EXAMPLES` per operation and kind, `derandomize=True`); set
`HANDOVER_FUZZ_EXAMPLES` for a deeper run. The cases run per endpoint are
printed as a table (docs/security.md#fuzzing).
"""

import asyncio
import contextlib
import logging
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rasa_handover.inbox.api import create_app
from rasa_handover.inbox.config import AgentConfig, InboxConfig
from rasa_handover.inbox.openapi import openapi_document
from tests.inbox.conftest import POSTGRES_SKIP_REASON, PostgresSchemas, postgres_url
from tests.inbox.fuzzing import (
    FUZZ_EXAMPLES,
    RowCounts,
    ServedApp,
    dumps,
    edge_body,
    edge_ids,
    edge_tickets,
    edge_values,
    query_value,
)
from tests.signed import channel_headers

SECRET = "channel-secret-for-the-fuzz-tests-0123456789"
MAYA_TOKEN = "maya-fuzz-token-0123456789abcdef0123456789"
SUE_TOKEN = "sue-fuzz-token-0123456789abcdef01234567890"
CONFIG = InboxConfig(
    agents=(
        AgentConfig("Maya", MAYA_TOKEN, teams=("billing", "general"), capacity=2),
        AgentConfig("Sue", SUE_TOKEN, role="supervisor"),
    ),
    shared_secret=SECRET,
    housekeeping_seconds=0,
    presence_grace_seconds=0,
)
AS_SUPERVISOR = {"Authorization": f"Bearer {SUE_TOKEN}"}
DOCUMENT = openapi_document()
# The seeded tickets' ids and a few unknown ones: schema-fitting cases reach the
# handlers of real tickets (the edge cases try every other id).
TICKET_IDS = {"type": "integer", "minimum": 1, "maximum": 6}
for _path in DOCUMENT["paths"].values():
    for _spec in _path.values():
        for _parameter in _spec.get("parameters", []):
            if _parameter["name"] == "ticket_id":
                _parameter["schema"] = TICKET_IDS
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
# The event stream last: its forged tickets count as failed sign-ins.
OPERATIONS.sort(key=lambda operation: operation.path == "/api/events")
KINDS = ("positive", "negative", "edge")
TIMEOUT_SECONDS = 60
# Sanic's own answers to a request line or headers over its size limits (8 KB):
# a 4xx in plain text, before the inbox sees the request.
FRAMEWORK_REFUSALS = (413, 414, 431)
MAX_REPORTED = 3
# What schema-fitting requests are also checked for: the status is one the
# document lists for the operation, with its content type and body shape.
CONFORMANCE = [
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def fuzz_settings() -> settings:
    return settings(
        max_examples=FUZZ_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )


class Fuzzer:
    """Sends requests to the served app and records what came back."""

    def __init__(self, base: str, counts: RowCounts) -> None:
        self.base = base
        self.counts = counts
        self.session = requests.Session()
        self.cases: Dict[str, Counter] = defaultdict(Counter)
        self.statuses: Dict[str, Counter] = defaultdict(Counter)
        self.failures: Dict[str, List[str]] = defaultdict(list)

    def send(
        self,
        label: str,
        kind: str,
        method: str,
        url: str,
        headers: Dict[str, str],
        body: Optional[bytes],
    ) -> Optional[requests.Response]:
        channel = "/api/channel/" in url
        headers = dict(headers)
        if channel:
            headers.update(channel_headers(method, url, body or b"", SECRET))
        before = self.counts()
        try:
            response = self.session.request(
                method, url, data=body, headers=headers, timeout=TIMEOUT_SECONDS
            )
        except requests.RequestException as error:
            self._fail(label, method, url, body, f"no answer: {error}")
            return None
        self.cases[label][kind] += 1
        status = response.status_code
        self.statuses[label][status] += 1
        if status >= 500:
            self._fail(label, method, url, body, f"{status} {response.text[:200]}")
        elif status in FRAMEWORK_REFUSALS:
            pass  # Sanic refused the request line before any route saw it.
        elif status >= 400 and "/api/" in url:
            problem = self._error_problem(response)
            if problem:
                self._fail(label, method, url, body, f"{status}: {problem}")
            if self.counts() != before:
                self._fail(label, method, url, body, f"{status} but stored rows")
        return response

    def conforms(self, label: str, case: Any, response: requests.Response) -> None:
        """The answer is one the document lists, with its content type and shape."""
        try:
            case.validate_response(response, checks=CONFORMANCE)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:  # schemathesis raises an exception group.
            what = [
                line.strip(" |+-")
                for line in str(getattr(error, "exceptions", [error])[0]).splitlines()
                if line.strip(" |+-")
            ]
            self._fail(label, case.method, response.url, None, " / ".join(what[:4]))

    @staticmethod
    def _error_problem(response: requests.Response) -> Optional[str]:
        try:
            data = response.json()
        except ValueError:
            return "not a JSON error"
        if not isinstance(data, dict) or not str(data.get("error") or "").strip():
            return f"no error message: {data!r:.200}"
        return None

    def _fail(
        self, label: str, method: str, url: str, body: Optional[bytes], what: str
    ) -> None:
        if len(self.failures[label]) < MAX_REPORTED:
            shown = (body or b"")[:200]
            self.failures[label].append(f"{method} {url[:200]} {shown!r}: {what}")
        else:
            self.failures[label].append("...")


def operation_label(operation: Any) -> str:
    return f"{operation.method.upper()} {operation.path}"


def stream_query(params: Any) -> Dict[str, Any]:
    """An event stream that ends at once, whatever else the case asks for."""
    query = dict(params or {})
    query["max_seconds"] = "0"
    return query


def run_schemathesis(fuzzer: Fuzzer, operation: Any, mode: GenerationMode) -> None:
    label = operation_label(operation)
    try:
        strategy = operation.as_strategy(generation_mode=mode)
    except Exception as error:  # Nothing to negate in this operation.
        pytest.skip(f"{label}: no {mode.value} cases: {error}")

    @fuzz_settings()
    @given(case=strategy)
    def run(case: Any) -> None:
        data = case.as_transport_kwargs(base_url=fuzzer.base)
        params = data.get("params")
        if operation.path == "/api/events":
            params = stream_query(params)
        prepared = fuzzer.session.prepare_request(
            requests.Request(
                method=data["method"],
                url=data["url"],
                params=params,
                json=data.get("json"),
                data=data.get("data"),
            )
        )
        headers = {
            str(key): str(value)
            for key, value in (data.get("headers") or {}).items()
            if str(key).lower() != "authorization"
        }
        headers.update(AS_SUPERVISOR)
        body = (
            prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
        )
        response = fuzzer.send(
            label, mode.value, data["method"], prepared.url or "", headers, body
        )
        if response is not None and mode is GenerationMode.POSITIVE:
            fuzzer.conforms(label, case, response)

    # Unsatisfiable: nothing to negate (an operation without parameters or body).
    with contextlib.suppress(Unsatisfiable):
        run()


def run_edges(fuzzer: Fuzzer, operation: Any) -> None:
    label = operation_label(operation)
    spec = DOCUMENT["paths"][operation.path][operation.method.lower()]
    body_schema = (
        spec.get("requestBody", {}).get("content", {}).get("application/json", {})
    ).get("schema", {})
    fields = tuple(body_schema.get("properties", {}))
    query_names = [p["name"] for p in spec.get("parameters", []) if p["in"] == "query"]
    has_body = "requestBody" in spec or operation.method.lower() == "post"
    stream = operation.path == "/api/events"

    @fuzz_settings()
    @given(
        ticket_id=edge_ids,
        body=edge_body(fields) if has_body else st.none(),
        query=st.fixed_dictionaries(
            {},
            optional={
                name: edge_tickets if name == "ticket" else edge_values
                for name in query_names
            },
        ),
        name=st.sampled_from(["inbox.js", "../page.py", "%00", "%ED%A0%80", "x"]),
    )
    def run(
        ticket_id: str, body: Optional[bytes], query: Dict[str, Any], name: str
    ) -> None:
        path = operation.path.replace("{ticket_id}", ticket_id).replace("{name}", name)
        if stream:
            query = {**query, "max_seconds": 0}
        pairs = [f"{key}={query_value(value)}" for key, value in query.items()]
        url = f"{fuzzer.base}{path}" + ("?" + "&".join(pairs) if pairs else "")
        headers = {"Content-Type": "application/json"}
        if not (stream and "ticket" in query):
            headers.update(AS_SUPERVISOR)
        fuzzer.send(label, "edge", operation.method.upper(), url, headers, body)

    run()


def seed(fuzzer: Fuzzer) -> None:
    """Tickets 1-3 exist (two handovers, one callback), one with messages."""

    def post(path: str, payload: Dict[str, Any], headers: Dict[str, str]) -> None:
        body = dumps(payload)
        if "/api/channel/" in path:
            headers = {
                **headers,
                **channel_headers("POST", f"{fuzzer.base}{path}", body, SECRET),
            }
        answer = fuzzer.session.post(
            f"{fuzzer.base}{path}",
            data=body,
            headers={"Content-Type": "application/json", **headers},
            timeout=TIMEOUT_SECONDS,
        )
        assert answer.status_code < 300, (path, answer.status_code, answer.text)

    maya = {"Authorization": f"Bearer {MAYA_TOKEN}"}
    post("/api/agents/me/availability", {"online": True}, maya)
    for conversation, team in (("c1", "billing"), ("c2", "general")):
        post(
            "/api/channel/tickets",
            {"conversation_id": conversation, "attempt": 1, "payload": {"team": team}},
            {},
        )
    post("/api/channel/messages", {"conversation_id": "c1", "text": "hello"}, {})
    post(
        "/api/channel/callbacks",
        {"conversation_id": "c3", "contact": "+44 20 7946 0000", "when": "9am"},
        {},
    )


def report(fuzzer: Fuzzer, database: str, capsys: pytest.CaptureFixture) -> None:
    lines = [
        f"\nInbox API fuzzing on {database}: cases run per endpoint "
        f"({FUZZ_EXAMPLES} examples per kind)",
        f"| endpoint | {' | '.join(KINDS)} | total | 2xx-3xx | 4xx |",
        "|---|" + "---:|" * (len(KINDS) + 3),
    ]
    for operation in OPERATIONS:
        label = operation_label(operation)
        counts = [fuzzer.cases[label][kind] for kind in KINDS]
        classes = Counter(status // 100 for status in fuzzer.statuses[label].elements())
        lines.append(
            f"| `{label}` | {' | '.join(map(str, counts))} | {sum(counts)} | "
            f"{classes[2] + classes[3]} | {classes[4]} |"
        )
    total = sum(sum(counter.values()) for counter in fuzzer.cases.values())
    lines.append(f"| all | | | | {total} | | |")
    with capsys.disabled():
        print("\n".join(lines))


@pytest.fixture(params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Tuple[ServedApp, RowCounts, str]]:
    name = f"inbox_fuzz_{uuid.uuid4().hex[:10]}"
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'handover.db'}"
        app = create_app(url, CONFIG, name=name)
        with ServedApp(app) as served_app:
            counts = RowCounts(url)
            yield served_app, counts, "SQLite"
            counts.close()
        return
    url = postgres_url() or ""
    if not url:
        pytest.skip(POSTGRES_SKIP_REASON)
    schemas = PostgresSchemas(url)
    schema = asyncio.run(schemas.new())
    app = create_app(url, CONFIG, name=name, schema=schema)
    try:
        with ServedApp(app) as served_app:
            counts = RowCounts(url, schema)
            yield served_app, counts, "PostgreSQL"
            counts.close()
    finally:
        asyncio.run(schemas.drop_all())


def test_no_request_gets_a_5xx_or_stores_half(
    served: Tuple[ServedApp, RowCounts, str],
    capsys: pytest.CaptureFixture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="rasa_handover")
    app, counts, database = served
    fuzzer = Fuzzer(app.base, counts)
    seed(fuzzer)
    runs: List[Tuple[Any, Callable[[], None]]] = []
    for operation in OPERATIONS:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            runs.append(
                (operation, lambda o=operation, m=mode: run_schemathesis(fuzzer, o, m))
            )
        runs.append((operation, lambda o=operation: run_edges(fuzzer, o)))
    for _, run in runs:
        try:
            run()
        except pytest.skip.Exception:
            continue

    fuzzer.session.close()
    report(fuzzer, database, capsys)
    problems = {label: found for label, found in fuzzer.failures.items() if found}
    assert not problems, "\n".join(
        f"{label}:\n  " + "\n  ".join(found) for label, found in problems.items()
    )
    assert counts.orphans() == []
    # A failure after the answer went out (the event stream) is only logged.
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert logged == []
    for operation in OPERATIONS:
        assert sum(fuzzer.cases[operation_label(operation)].values()) > 0, operation
