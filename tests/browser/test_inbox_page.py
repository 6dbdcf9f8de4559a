"""The inbox page without a browser: routes, headers, stream tickets, the wording."""

import re
from pathlib import Path
from typing import Any

import pytest
from sanic import Sanic

from rasa_handover.inbox.api import create_app
from rasa_handover.inbox.config import AgentConfig, InboxConfig
from rasa_handover.inbox.page import (
    ASSETS,
    CACHE_IMMUTABLE,
    CACHE_REVALIDATE,
    STATIC_DIR,
    PageFiles,
    opening_line,
)
from rasa_handover.inbox.stream_tickets import STREAM_TICKET_SECONDS
from tests.browser.opening_line_cases import GREETING, OPENING_LINE_CASES

PREFIX = "/webhooks/handover/inbox"
TOKEN = "token-maya-0123456789abcdef0123456789"
CONFIG = InboxConfig(
    agents=(AgentConfig("Maya", TOKEN, teams=("billing",)),),
    housekeeping_seconds=0,
)
_app_count = 0


@pytest.fixture
def app(tmp_path: Path) -> Sanic:
    global _app_count
    _app_count += 1
    return create_app(
        f"sqlite:///{tmp_path / 'inbox.db'}", CONFIG, name=f"inbox_page_{_app_count}"
    )


# --- Serving the page. ---------------------------------------------------------------


async def test_the_page_is_served_with_a_strict_content_security_policy(
    app: Sanic,
) -> None:
    _, response = await app.asgi_client.get(f"{PREFIX}/")

    assert response.status == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == CACHE_REVALIDATE
    html = response.text
    # Relative asset URLs (any mount point works), versioned by content.
    version = PageFiles().version
    for asset in ("static/inbox.js", "static/inbox.css"):
        assert f'"{asset}?v={version}"' in html
    assert "__ASSET_VERSION__" not in html
    # No inline script or handler: the policy would block them anyway.
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert not re.search(r"\son[a-z]+=", html)


async def test_without_the_trailing_slash_the_page_redirects_relatively(
    app: Sanic,
) -> None:
    _, response = await app.asgi_client.get(PREFIX, allow_redirects=False)

    assert response.status == 301
    assert response.headers["location"] == "inbox/"


@pytest.mark.parametrize("name", sorted(ASSETS))
async def test_assets_are_served_immutable_when_versioned(
    app: Sanic, name: str
) -> None:
    version = PageFiles().version
    _, versioned = await app.asgi_client.get(f"{PREFIX}/static/{name}?v={version}")
    _, plain = await app.asgi_client.get(f"{PREFIX}/static/{name}")

    assert versioned.status == plain.status == 200
    assert versioned.headers["content-type"] == ASSETS[name]
    assert versioned.headers["cache-control"] == CACHE_IMMUTABLE
    assert plain.headers["cache-control"] == CACHE_REVALIDATE
    assert versioned.content == (STATIC_DIR / name).read_bytes()
    assert "default-src 'self'" in versioned.headers["content-security-policy"]


async def test_an_unchanged_asset_answers_304(app: Sanic) -> None:
    _, first = await app.asgi_client.get(f"{PREFIX}/static/inbox.js")
    _, again = await app.asgi_client.get(
        f"{PREFIX}/static/inbox.js", headers={"If-None-Match": first.headers["etag"]}
    )

    assert again.status == 304
    assert again.content == b""


@pytest.mark.parametrize(
    "path", ["static/index.html", "static/..%2Fpage.py", "static/nope.js", "static/"]
)
async def test_only_the_listed_assets_are_served(app: Sanic, path: str) -> None:
    _, response = await app.asgi_client.get(f"{PREFIX}/{path}")

    assert response.status == 404


def test_the_javascript_never_writes_markup() -> None:
    script = (STATIC_DIR / "inbox.js").read_text(encoding="utf-8")

    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
        assert sink not in script, sink
    assert "eval(" not in script


# --- The event stream opens with a stream ticket, never the token in the URL. ----


async def stream_ticket(app: Sanic) -> str:
    _, response = await app.asgi_client.post(
        f"{PREFIX}/api/events/ticket", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status == 201
    assert response.json["expires_seconds"] == STREAM_TICKET_SECONDS
    ticket: str = response.json["ticket"]
    assert TOKEN not in ticket
    return ticket


async def test_a_stream_ticket_opens_one_event_stream(app: Sanic) -> None:
    ticket = await stream_ticket(app)
    stream = f"{PREFIX}/api/events?max_seconds=0&ticket={ticket}"

    _, first = await app.asgi_client.get(stream)
    _, again = await app.asgi_client.get(stream)

    assert first.status == 200
    assert first.headers["content-type"].startswith("text/event-stream")
    assert "retry:" in first.text
    assert again.status == 401
    assert "used already" in again.json["error"]


async def test_the_token_is_refused_in_the_url_with_the_way_to_do_it(
    app: Sanic,
) -> None:
    _, response = await app.asgi_client.get(
        f"{PREFIX}/api/events?max_seconds=0&token={TOKEN}"
    )

    assert response.status == 401
    assert response.json["field"] == "token"
    assert "api/events/ticket" in response.json["error"]


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("", id="nothing"),
        pytest.param("&ticket=x", id="garbage"),
        pytest.param("&ticket=99999999999.n.s.maya", id="forged"),
        pytest.param("&ticket=%C2%B2.n.s.maya", id="unicode-digit"),
    ],
)
async def test_the_event_stream_refuses_a_missing_or_forged_ticket(
    app: Sanic, query: str
) -> None:
    _, response = await app.asgi_client.get(f"{PREFIX}/api/events?max_seconds=0{query}")

    assert response.status == 401


async def test_a_ticket_is_not_a_token_and_the_ticket_needs_the_token(
    app: Sanic,
) -> None:
    ticket = await stream_ticket(app)
    _, as_bearer = await app.asgi_client.get(
        f"{PREFIX}/api/me", headers={"Authorization": f"Bearer {ticket}"}
    )
    _, without_token = await app.asgi_client.post(f"{PREFIX}/api/events/ticket")

    assert (as_bearer.status, without_token.status) == (401, 401)


async def test_other_endpoints_do_not_accept_the_query_token(app: Sanic) -> None:
    _, response = await app.asgi_client.get(f"{PREFIX}/api/me?token={TOKEN}")

    assert response.status == 401


# --- The opening line. ------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "agent", "expected"),
    [case[1:] for case in OPENING_LINE_CASES],
    ids=[case[0] for case in OPENING_LINE_CASES],
)
def test_opening_line(payload: Any, agent: str, expected: str) -> None:
    assert opening_line(payload, agent) == expected


@pytest.mark.parametrize(
    "payload", [case[1] for case in OPENING_LINE_CASES], ids=lambda _: ""
)
def test_the_opening_line_never_asks_how_to_help(payload: Any) -> None:
    line = opening_line(payload, "Maya")

    assert line.startswith("Hi ")
    assert GREETING in line
    assert "how can i help" not in line.lower()
