"""Labelling a handover's outcome in the agent page, in Chromium.

A real standalone inbox (`rasa-handover inbox`, SQLite) whose `inbox.yml` lists
the domain's intents; the handover arrives over its HMAC-signed channel
endpoint as a channel sends it, with the NLU history a low-confidence handover
carries. What the agent clicks is read back from the API and from the store
that `rasa-handover tune` reads.
"""

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict, Iterator

import pytest
import requests
from playwright.sync_api import expect

from rasa_handover.inbox.store import InboxStore
from tests.browser.conftest import BrowserPage
from tests.browser.pages import AgentInbox
from tests.e2e.servers import free_port, standalone_inbox
from tests.signed import channel_headers

pytestmark = pytest.mark.browser

SECRET = "outcome-secret"
TOKEN = "maya-outcome-token-0123456789abcdef012345"
INBOX_YML = f"""
shared_secret: {SECRET}
housekeeping_seconds: 1
intents: [greet, check_balance, request_refund, cancel_subscription]
agents:
  - name: Maya
    token: {TOKEN}
    teams: [general, billing]
"""
PAYLOAD = {
    "trigger": {"reason": "low_confidence", "team": "billing", "evidence": {}},
    "customer_name": "Robin",
    "summary": "Asks where the money went.",
    "intent": {"name": "check_balance", "confidence": 0.34},
    "intent_history": [
        {"turn": 1, "intent": "greet", "confidence": 0.97, "text": "hi"},
        {"turn": 2, "intent": "check_balance", "confidence": 0.34, "text": "refund?"},
    ],
}

OpenPage = Callable[..., BrowserPage]


@pytest.fixture(scope="module")
def inbox_dir(
    chromium: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Dict[str, Any]]:
    """The standalone inbox's base URL and its database file."""
    workdir = tmp_path_factory.mktemp("outcome")
    with standalone_inbox(workdir, INBOX_YML, free_port()) as base:
        yield {"url": base, "workdir": workdir}


def handover(inbox: str) -> Dict[str, Any]:
    body = json.dumps(
        {
            "conversation_id": f"outcome-{uuid.uuid4().hex[:8]}",
            "attempt": 1,
            "payload": PAYLOAD,
        }
    ).encode()
    url = f"{inbox}/api/channel/tickets"
    headers = channel_headers("POST", url, body, SECRET)
    answer = requests.post(url, data=body, headers=headers, timeout=30)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def stored_outcomes(workdir: Path) -> Any:
    async def read() -> Any:
        [db] = list(workdir.glob("*.db"))
        store = InboxStore(f"sqlite:///{db}")
        try:
            return await store.outcomes()
        finally:
            await store.close()

    # Playwright's sync API runs an event loop in this thread: read in another.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, read()).result()


def test_the_agent_labels_the_outcome_and_corrects_the_intent_in_one_click(
    inbox_dir: Dict[str, Any], open_page: OpenPage, artifacts: Path
) -> None:
    inbox = inbox_dir["url"]
    agent = AgentInbox(open_page(1280, 800).page).sign_in(f"{inbox}/", TOKEN)
    agent.go_online()
    view = handover(inbox)
    agent.open_conversation(view["conversation_id"])
    agent.claim()
    agent.page.locator("summary", has_text="Resolve and hand back").click()
    # The domain's intents (inbox.yml) and the conversation's are offered.
    options = agent.page.locator("#intent-options option")
    expect(options).to_have_count(4)
    last = agent.page.get_by_role("button", name="Resolve without a label")
    last.scroll_into_view_if_needed()
    agent.page.screenshot(path=str(artifacts / "inbox-outcome-panel.png"))

    agent.resolve(
        "The bot could have handled it",
        note="only wanted the refund status",
        intent="request_refund",
    )

    expect(agent.page.locator("#closed-note")).to_contain_text(
        "the bot could have handled it"
    )
    [record] = [
        r
        for r in stored_outcomes(inbox_dir["workdir"])
        if r.ticket_id == view["ticket_id"]
    ]
    assert (record.outcome, record.intent, record.note) == (
        "escalation_not_needed",
        "request_refund",
        "only wanted the refund status",
    )
    assert record.first_reply_at is None  # Resolved without a reply.


def test_a_bad_intent_is_refused_and_the_ticket_stays_open(
    inbox_dir: Dict[str, Any], open_page: OpenPage
) -> None:
    inbox = inbox_dir["url"]
    agent = AgentInbox(open_page(1280, 800).page).sign_in(f"{inbox}/", TOKEN)
    agent.go_online()
    view = handover(inbox)
    agent.open_conversation(view["conversation_id"])
    agent.claim()
    agent.page.locator("summary", has_text="Resolve and hand back").click()
    agent.page.get_by_label("What the customer really wanted").fill("astrology")

    agent.page.get_by_role("button", name="A person was needed").click()

    expect(agent.page.locator("#error")).to_contain_text(
        "not one of the domain's intents"
    )
    expect(agent.page.get_by_role("button", name="A person was needed")).to_be_enabled()
    # Without the wrong intent, one click resolves it.
    agent.page.get_by_label("What the customer really wanted").fill("")
    agent.page.get_by_role("button", name="Resolve without a label").click()
    expect(agent.page.locator("#closed-note")).to_contain_text("back with the bot")
