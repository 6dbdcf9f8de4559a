"""Presence and fallback routing in Chromium, against a real standalone inbox.

`rasa-handover inbox` runs as its own process (SQLite, a 3 s grace period);
handovers arrive over its HMAC-signed channel endpoint, as a standalone channel
sends them. Only Maya (general, billing) is ever online; Jonas works the
technical team and never signs in.
"""

import json
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Tuple

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import BrowserPage
from tests.browser.pages import AgentInbox
from tests.e2e.servers import free_port, standalone_inbox
from tests.signed import channel_headers

pytestmark = pytest.mark.browser

SECRET = "presence-secret"
MAYA_TOKEN = "maya-presence-token-0123456789abcdef0123456789ab"
GRACE_SECONDS = 3
# The grace, one presence check (a quarter of it) and slack for a busy machine.
AWAY_WITHIN_SECONDS = GRACE_SECONDS + 5
INBOX_YML = f"""
shared_secret: {SECRET}
housekeeping_seconds: 1
presence_grace_seconds: {GRACE_SECONDS}
agents:
  - name: Maya
    token: {MAYA_TOKEN}
    teams: [general, billing]
  - name: Jonas
    token: jonas-presence-token-0123456789abcdef0123456789ab
    teams: [technical]
"""
WIDE = (1280, 800)

OpenPage = Callable[..., BrowserPage]


@pytest.fixture(scope="module")
def inbox(chromium: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The standalone inbox's base URL (API under `/api`, the page under `/`)."""
    workdir = tmp_path_factory.mktemp("presence")
    with standalone_inbox(workdir, INBOX_YML, free_port()) as base:
        yield base


def handover(inbox: str, team: str) -> Dict[str, Any]:
    """A handover for `team` from a new conversation, as a channel sends it."""
    body = json.dumps(
        {
            "conversation_id": f"presence-{uuid.uuid4().hex[:8]}",
            "attempt": 1,
            "payload": {
                "trigger": {"reason": "explicit_request", "team": team},
                "customer_name": "Robin",
                "summary": "Video does not play.",
            },
        }
    ).encode()
    url = f"{inbox}/api/channel/tickets"
    headers = channel_headers("POST", url, body, SECRET)
    answer = requests.post(url, data=body, headers=headers, timeout=30)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def maya(inbox: str, path: str, method: str = "GET") -> Dict[str, Any]:
    answer = requests.request(
        method,
        f"{inbox}/api{path}",
        headers={"Authorization": f"Bearer {MAYA_TOKEN}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def online(inbox: str) -> bool:
    return bool(maya(inbox, "/me")["agent"]["online"])


def signed_in(open_page: OpenPage, inbox: str) -> AgentInbox:
    page = AgentInbox(open_page(*WIDE).page).sign_in(f"{inbox}/", MAYA_TOKEN)
    page.go_online()
    return page


def test_a_technical_handover_reaches_the_only_agent_online(
    inbox: str, open_page: OpenPage
) -> None:
    agent = signed_in(open_page, inbox)

    view = handover(inbox, "technical")

    assert (view["agent_name"], view["team"], view["status"]) == (
        "Maya",
        "technical",
        "assigned",
    )
    agent.open_conversation(view["conversation_id"])
    facts = agent.page.locator("#ticket-facts")
    expect(facts).to_contain_text("team technical")
    expect(facts).to_contain_text("reached team general by the fallback")
    events = maya(inbox, f"/tickets/{view['ticket_id']}")["events"]
    assigned = [event for event in events if event["type"] == "assigned"]
    assert assigned[0]["data"]["routed_via"] == "general"


def test_closing_the_browser_makes_the_agent_away_and_returns_the_ticket(
    inbox: str, open_page: OpenPage
) -> None:
    agent = signed_in(open_page, inbox)
    view = handover(inbox, "billing")
    expect(agent.queue_item(view["conversation_id"])).to_be_visible()
    assert online(inbox)

    agent.page.context.close()
    closed_at = time.monotonic()

    def ticket() -> Tuple[str, Any]:
        found = maya(inbox, f"/tickets/{view['ticket_id']}")["ticket"]
        return found["status"], found["agent_id"]

    # Away as soon as the grace has passed; the ticket returns at the next
    # presence check (a quarter of the grace later), both within the bound.
    while (online(inbox) or ticket() != ("waiting", None)) and (
        time.monotonic() - closed_at < AWAY_WITHIN_SECONDS
    ):
        time.sleep(0.25)
    after = time.monotonic() - closed_at
    assert not online(inbox), f"still online {after:.1f} s after closing"
    assert ticket() == ("waiting", None), f"not back {after:.1f} s after closing"


def test_a_reload_keeps_the_agent_online(inbox: str, open_page: OpenPage) -> None:
    agent = signed_in(open_page, inbox)

    for _ in range(2):
        agent.page.reload()
        expect(agent.page.locator("#live")).to_have_text("Live")
    time.sleep(GRACE_SECONDS * 2)

    assert online(inbox)
    switch = agent.page.get_by_role("switch", name="Available for customers")
    expect(switch).to_have_attribute("aria-checked", "true")


def claimed(open_page: OpenPage, inbox: str, size: Tuple[int, int]) -> AgentInbox:
    """Maya's page with a conversation she claimed open."""
    agent = AgentInbox(open_page(*size).page).sign_in(f"{inbox}/", MAYA_TOKEN)
    agent.go_online()
    view = handover(inbox, "billing")
    agent.open_conversation(view["conversation_id"])
    agent.claim()
    return agent


def test_an_error_goes_when_the_agent_turns_to_resolving(
    inbox: str, open_page: OpenPage
) -> None:
    agent = claimed(open_page, inbox, WIDE)
    agent.reply_box.fill("")
    agent.page.get_by_role("button", name="Send").click()
    error = agent.page.locator("#error")
    expect(error).to_have_text("Write a reply first.")

    agent.page.locator("summary", has_text="Resolve and hand back").click()

    expect(error).to_be_hidden()
    agent.page.get_by_role("button", name="A person was needed").click()
    expect(agent.page.locator("#closed-note")).to_contain_text("back with the bot")
    expect(error).to_be_hidden()


@pytest.mark.parametrize(
    "size",
    [pytest.param(WIDE, id="1280x800"), pytest.param((1280, 640), id="1280x640")],
)
def test_the_transcript_keeps_half_the_pane_with_the_resolve_panel_open(
    inbox: str, open_page: OpenPage, artifacts: Path, size: Tuple[int, int]
) -> None:
    agent = claimed(open_page, inbox, size)

    agent.page.locator("summary", has_text="Resolve and hand back").click()

    expect(agent.page.get_by_role("button", name="A person was needed")).to_be_visible()
    body = agent.page.locator("#conversation-body").bounding_box()
    transcript = agent.page.locator("#conversation-scroll").bounding_box()
    agent.page.screenshot(path=str(artifacts / f"inbox-resolve-panel-{size[1]}.png"))
    assert transcript["height"] >= 0.45 * body["height"], (transcript, body)
    # The last resolve button is reachable (the actions scroll on their own).
    last = agent.page.get_by_role("button", name="Resolve without a label")
    last.scroll_into_view_if_needed()
    expect(last).to_be_in_viewport()
