"""The customer's side in Chromium: the agent is a person, the page stays local.

rasa-webchat 1.x as the demo serves it (see conftest.py). The agent works through
the inbox's HTTP API here; tests/browser/test_inbox_in_browser.py drives the
agent's page.
"""

import os
import shutil
from pathlib import Path
from typing import Any, Callable, Dict, List
from urllib.parse import urlsplit

import pytest
import requests
import yaml
from playwright.sync_api import expect

from example_bot.demo import ACCOUNTS_FILE, demo_customers
from tests.browser.conftest import AGENT_NAME, AGENT_TOKEN, BrowserPage, Stack
from tests.browser.pages import CustomerChat

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DOCS_SCREENSHOT = ROOT / "docs" / "img" / "customer-widget.png"
# Set to 1 to refresh docs/img/customer-widget.png from this run.
UPDATE_DOCS_ENV = "HANDOVER_UPDATE_DOCS_SCREENSHOT"
LOCAL_HOSTS = ("127.0.0.1", "localhost")
FIRST_REPLY = (
    "Hi, I'm Maya, picking up from our assistant. I've got your conversation in "
    "front of me: what can I sort out for you?"
)
AGENT_REPLY = (
    "Hi, I'm here to help. Our [help centre](https://streamly.example/help) has "
    "the steps, or [write to us](mailto:help@streamly.example). "
    "[Click me](javascript:alert(document.domain)) "
    "[me too](JavaScript&#58;alert(2)) <javascript:alert(3)>"
)

OpenPage = Callable[..., BrowserPage]


def inbox_api(stack: Stack, method: str, path: str, **kwargs: Any) -> Any:
    answer = requests.request(
        method,
        f"{stack.inbox_url}api{path}",
        headers={"Authorization": f"Bearer {AGENT_TOKEN}"},
        timeout=30,
        **kwargs,
    )
    assert answer.status_code < 300, f"{method} {path}: {answer.text}"
    return answer.json()


def ticket_of(stack: Stack, conversation_id: str) -> Dict[str, Any]:
    queue = inbox_api(stack, "GET", "/queue")
    mine = [t for t in queue["tickets"] if t["conversation_id"] == conversation_id]
    assert len(mine) == 1, queue
    return dict(mine[0])


class PageWatch:
    """What the page did that it must not: console errors, remote or failed requests."""

    def __init__(self, page: Any) -> None:
        self.console_errors: List[str] = []
        self.remote: List[str] = []
        self.failed: List[str] = []
        page.on("console", self._console)
        page.on("request", self._request)
        page.on("requestfailed", lambda r: self.failed.append(r.url))
        page.on(
            "response",
            lambda r: (
                self.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None
            ),
        )

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _request(self, request: Any) -> None:
        if urlsplit(request.url).hostname not in LOCAL_HOSTS:
            self.remote.append(request.url)

    def assert_clean(self) -> None:
        assert self.console_errors == [], self.console_errors
        assert self.remote == [], self.remote
        assert self.failed == [], self.failed


def test_the_agent_is_a_person_and_their_links_are_safe(
    stack: Stack, open_page: OpenPage, artifacts: Path
) -> None:
    inbox_api(stack, "POST", "/agents/me/availability", json={"online": True})
    opened = open_page(480, 760)
    watch = PageWatch(opened.page)
    customer = CustomerChat(opened.page).open(stack.chat_url)
    customer.say_until_handed_over(["I want to talk to a human"])
    ticket = ticket_of(stack, customer.conversation_id)
    reply = f"/tickets/{ticket['id']}/reply"
    inbox_api(stack, "POST", reply, json={"text": FIRST_REPLY})
    first = opened.page.locator(".rw-response.rw-handover-agent").first
    expect(first).to_contain_text("picking up", timeout=30_000)
    opened.page.screenshot(path=str(artifacts / "customer-widget.png"))
    if os.environ.get(UPDATE_DOCS_ENV) == "1":
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(artifacts / "customer-widget.png", DOCS_SCREENSHOT)

    inbox_api(stack, "POST", reply, json={"text": AGENT_REPLY})
    message = opened.page.locator(".rw-response.rw-handover-agent").last
    expect(message).to_contain_text("help centre", timeout=30_000)
    expect(message.locator("strong").first).to_have_text(AGENT_NAME)
    assert "rw-handover-agent-maya" in str(message.get_attribute("class"))
    # The bot's own messages stay the bot's.
    connecting = customer.responses.filter(has_text="connecting you with")
    assert "rw-handover-agent" not in str(connecting.last.get_attribute("class"))

    hrefs = message.locator("a").evaluate_all("links => links.map(a => a.href)")
    assert hrefs == [
        "https://streamly.example/help",
        "mailto:help@streamly.example",
    ], message.inner_html()
    expect(message).to_contain_text("Click me")
    message.get_by_text("Click me").click()
    assert opened.dialogs == [], opened.dialogs

    # A reload keeps the agent a person (rasa-webchat stores the classes too).
    opened.page.reload()
    again = opened.page.locator(".rw-response.rw-handover-agent-maya").first
    expect(again).to_contain_text("picking up", timeout=30_000)
    expect(again.locator("strong").first).to_have_text(AGENT_NAME)

    assert opened.errors == [], opened.errors
    watch.assert_clean()


def test_the_page_stays_on_the_machine_and_tells_the_truth(
    stack: Stack, open_page: OpenPage
) -> None:
    # Each test puts Maya online itself: an agent without a page goes away
    # after the presence grace period (docs/inbox.md).
    inbox_api(stack, "POST", "/agents/me/availability", json={"online": True})
    opened = open_page()
    watch = PageWatch(opened.page)
    page = opened.page
    answer = page.request.get(stack.chat_url)
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy

    customer = CustomerChat(page).open(stack.chat_url)
    # A demo customer, kept across a reload (sessionStorage), not always Dana.
    picked = page.evaluate("sessionStorage.getItem('demo_customer_id')")
    assert picked in demo_customers()
    page.reload()
    expect(customer.responses.first).to_be_visible(timeout=30_000)
    assert page.evaluate("sessionStorage.getItem('demo_customer_id')") == picked

    customer.say_until_handed_over(["how do I get an invoice", "I want a human"])
    ticket = ticket_of(stack, customer.conversation_id)
    details = inbox_api(stack, "GET", f"/tickets/{ticket['id']}")
    payload = details["payload"]
    customer_lines = [e["text"] for e in payload["transcript"] if e["role"] == "user"]
    assert customer_lines == ["how do I get an invoice", "I want a human"]
    assert "answered how to get an invoice" in payload["summary"]["text"]
    accounts = yaml.safe_load(ACCOUNTS_FILE.read_text(encoding="utf-8"))
    assert payload["customer"]["name"] == accounts[picked]["name"]
    assert opened.errors == [], opened.errors
    watch.assert_clean()
