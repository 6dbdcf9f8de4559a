"""The whole handover in Chromium: a customer in rasa-webchat, an agent on the inbox.

Two pages at once against real servers (see conftest.py): the customer types
until a trigger fires; the agent's page shows the conversation live with its
reason and summary; the agent claims, sends the prefilled opening line; the
customer reads it and answers; the agent sees the answer live and resolves; the
bot greets the customer back, asks how the team did (one customer taps a score,
stored on the ticket; the others skip it by typing on) and answers the next
question by itself.
"""

import os
import re
import shutil
from pathlib import Path
from typing import Callable, List, Optional, Pattern, Tuple, Union

import pytest
import requests
from playwright.sync_api import expect

from rasa_handover.channels import sender_token
from rasa_handover.inbox.page import opening_line
from tests.browser.conftest import (
    AGENT_NAME,
    AGENT_TOKEN,
    CUSTOMER_SECRET,
    BrowserPage,
    Stack,
)
from tests.browser.opening_line_cases import OPENING_LINE_CASES
from tests.browser.pages import AgentInbox, CustomerChat
from tests.browser.test_customer_widget import inbox_api, ticket_of

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DOCS_SCREENSHOT = ROOT / "docs" / "img" / "inbox.png"
# Set to 1 to refresh docs/img/inbox.png from this run.
UPDATE_DOCS_ENV = "HANDOVER_UPDATE_DOCS_SCREENSHOT"
HANDBACK = f"{AGENT_NAME} has handed you back to me"
PASSWORD_ANSWER = "reset your password at streamly.com/reset"
# utter_handover_csat and utter_handover_csat_thanks of the domain fragment.
CSAT_QUESTION = "how did our team do?"
CSAT_THANKS = "Thank you, that helps us get better."
NARROW_WIDTH = 400
WIDE = (1280, 800)

OpenPage = Callable[..., BrowserPage]


def _handover_round_trip(
    stack: Stack,
    open_page: OpenPage,
    artifacts: Path,
    name: str,
    messages: List[str],
    reason_label: str,
    evidence: List[Union[str, Pattern[str]]],
    summary: List[str],
    csat: Optional[int] = None,
) -> None:
    agent_page = open_page(*WIDE)
    agent = AgentInbox(agent_page.page).sign_in(stack.inbox_url, AGENT_TOKEN)
    agent.go_online()
    customer_page = open_page(*WIDE)
    customer = CustomerChat(customer_page.page).open(stack.chat_url)

    sent = customer.say_until_handed_over(messages)
    conversation = customer.conversation_id
    ticket_id = ticket_of(stack, conversation)["id"]

    # Live: the ticket appears without a reload, with its reason.
    item = agent.queue_item(conversation)
    expect(item).to_be_visible(timeout=30_000)
    expect(item).to_contain_text(reason_label)
    agent_page.page.screenshot(path=str(artifacts / f"inbox-{name}-queue.png"))

    agent.open_conversation(conversation)
    page = agent_page.page
    # The summary comes first, then the trigger with its evidence.
    headings = page.locator("#conversation-body h3").all_inner_texts()
    assert headings[0].lower() == "summary", headings
    for text in summary:
        expect(page.locator("#summary-text")).to_contain_text(text)
    expect(page.locator("#trigger-reason")).to_contain_text(reason_label)
    for text in evidence:
        expect(page.locator("#trigger-evidence")).to_contain_text(text)
    for text in sent:
        expect(page.locator("#history")).to_contain_text(text)

    line = agent.claim()
    assert line.startswith("Hi ") and f"I'm {AGENT_NAME}" in line, line
    assert "how can i help" not in line.lower(), line
    page.screenshot(path=str(artifacts / f"inbox-{name}-conversation.png"))
    agent.send()
    customer.expect_bot_message(line[:60])

    answer = f"Thanks! It is about {name}, ticket {conversation[:6]}."
    customer.say(answer)
    agent.expect_live_message(answer)

    agent.resolve("A person was needed", note=f"browser test: {name}")
    customer.expect_bot_message(HANDBACK)
    customer.expect_bot_message(CSAT_QUESTION)
    if csat is not None:
        customer.tap(str(csat))
        customer.expect_bot_message(CSAT_THANKS)
        ticket = inbox_api(stack, "GET", f"/tickets/{ticket_id}")["ticket"]
        assert ticket["csat"] == csat, ticket
    customer.say("how do I reset my password")
    customer.expect_bot_message(PASSWORD_ANSWER)

    for opened in (agent_page, customer_page):
        assert opened.dialogs == [], opened.dialogs
    assert agent_page.errors == [], agent_page.errors


def test_explicit_request(stack: Stack, open_page: OpenPage, artifacts: Path) -> None:
    _handover_round_trip(
        stack,
        open_page,
        artifacts,
        "explicit-request",
        ["I want to talk to a human"],
        reason_label="Asked for a person",
        evidence=["I want to talk to a human"],
        summary=["asked for a person"],
        csat=4,
    )


def test_frustration(stack: Stack, open_page: OpenPage, artifacts: Path) -> None:
    _handover_round_trip(
        stack,
        open_page,
        artifacts,
        "frustration",
        [
            "WHY IS MY VIDEO NOT PLAYING???",
            "this is ridiculous!!!",
            "NOTHING WORKS, THIS IS USELESS!!!",
        ],
        reason_label="Frustrated",
        evidence=["shouting", re.compile(r"turn \d+: “WHY IS MY VIDEO NOT PLAYING")],
        summary=["frustrated"],
    )


def test_regulated_topic(stack: Stack, open_page: OpenPage, artifacts: Path) -> None:
    _handover_round_trip(
        stack,
        open_page,
        artifacts,
        "regulated-topic",
        ["is it safe to watch with epilepsy"],
        reason_label="Regulated topic",
        evidence=["ask_medical_advice", "compliance"],
        summary=["medical advice"],
    )


XSS_BEFORE = "<img src=x onerror=alert(1)>"
XSS_LIVE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "[click me](javascript:alert(3)) javascript:alert(4)",
]


def test_customer_markup_is_shown_as_text_and_never_runs(
    stack: Stack, open_page: OpenPage, artifacts: Path
) -> None:
    agent_page = open_page(*WIDE)
    agent = AgentInbox(agent_page.page).sign_in(stack.inbox_url, AGENT_TOKEN)
    agent.go_online()
    customer = CustomerChat(open_page(*WIDE).page).open(stack.chat_url)

    # In the payload (transcript, maybe the evidence and summary) ...
    customer.say_until_handed_over([XSS_BEFORE, "I want to talk to a human"])
    conversation = customer.conversation_id
    agent.open_conversation(conversation)
    agent.claim()
    agent.send()
    # ... and live, while the agent has the conversation open.
    for text in XSS_LIVE:
        customer.say(text)
    for text in XSS_LIVE:
        agent.expect_live_message(text)

    page = agent_page.page
    page.wait_for_timeout(1000)  # a handler would have fired by now
    page.screenshot(path=str(artifacts / "inbox-xss.png"), full_page=True)
    assert agent_page.dialogs == [], agent_page.dialogs
    assert agent_page.errors == [], agent_page.errors
    expect(page.locator("#history .text").filter(has_text=XSS_BEFORE)).to_be_visible()
    conversation_panel = page.locator("#conversation")
    assert conversation_panel.locator("img").count() == 0
    assert page.locator("img[onerror], [onerror]").count() == 0
    assert conversation_panel.locator("script").count() == 0
    assert page.locator('a[href^="javascript:"]').count() == 0
    assert conversation_panel.locator("a").count() == 0


def test_sign_in_and_the_offline_state(stack: Stack, open_page: OpenPage) -> None:
    opened = open_page(*WIDE)
    page = opened.page
    urls: List[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.goto(stack.inbox_url)
    page.get_by_label("Agent token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert").filter(has_text="not valid")).to_be_visible()

    agent = AgentInbox(page).sign_in(stack.inbox_url, AGENT_TOKEN)
    agent.go_online()
    switch = page.get_by_role("switch", name="Available for customers")
    switch.click()
    expect(switch).to_have_attribute("aria-checked", "false")
    banner = page.get_by_text(
        "You are offline — customers are told nobody is available"
    )
    expect(banner).to_be_visible()
    page.get_by_role("button", name="Go online").click()
    expect(banner).to_be_hidden()
    expect(switch).to_have_attribute("aria-checked", "true")
    # The token lives in this tab only, and a reload keeps the agent signed in.
    assert page.evaluate("Object.keys(localStorage).length") == 0
    page.reload()
    expect(page.locator("#live")).to_have_text("Live")
    assert opened.dialogs == [] and opened.errors == []
    # The live stream opened with a one-time ticket: the token is in no URL.
    streams = [url for url in urls if "/api/events?" in url]
    assert len(streams) >= 2 and all("ticket=" in url for url in streams), urls
    assert not [url for url in urls if AGENT_TOKEN in url]


def _rest_handover(stack: Stack, prefix: str) -> str:
    """A customer over the channel's REST endpoint asks for a person."""
    sender = f"{prefix}-{os.urandom(3).hex()}"
    answer = requests.post(
        f"{stack.rasa_url}/webhooks/handover/webhook",
        json={"sender": sender, "message": "I want to talk to a human"},
        headers={"Authorization": f"Bearer {sender_token(CUSTOMER_SECRET, sender)}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return sender


def test_transfer_moves_the_conversation_to_another_team(
    stack: Stack, open_page: OpenPage
) -> None:
    sender = _rest_handover(stack, "transfer")
    opened = open_page(*WIDE)
    agent = AgentInbox(opened.page).sign_in(stack.inbox_url, AGENT_TOKEN)
    agent.go_online()
    item = agent.open_conversation(sender)
    expect(item).to_contain_text("general")
    agent.claim()

    agent.transfer("compliance")

    # Nobody else works compliance, and it never goes back to its transferrer.
    expect(item).to_contain_text("compliance")
    expect(opened.page.locator("#ticket-facts")).to_contain_text("team compliance")
    expect(
        opened.page.get_by_role("button", name="Claim this conversation")
    ).to_be_visible()
    assert opened.dialogs == [] and opened.errors == []


def test_narrow_screen_stacks_the_queue_above_the_conversation(
    stack: Stack, open_page: OpenPage, artifacts: Path
) -> None:
    sender = _rest_handover(stack, "narrow")
    opened = open_page(NARROW_WIDTH, 800)
    agent = AgentInbox(opened.page).sign_in(stack.inbox_url, AGENT_TOKEN)
    agent.go_online()
    agent.open_conversation(sender)
    page = opened.page

    queue = page.locator("#queue").bounding_box()
    conversation = page.locator("#conversation").bounding_box()
    assert queue is not None and conversation is not None
    assert conversation["y"] >= queue["y"] + queue["height"], (queue, conversation)
    assert conversation["width"] <= NARROW_WIDTH
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= NARROW_WIDTH, f"horizontal scrolling: {overflow}px"
    page.screenshot(path=str(artifacts / "inbox-narrow.png"), full_page=True)
    # Focus is visible: a keyboard user can see where they are.
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


def test_the_page_and_python_write_the_same_opening_line(
    stack: Stack, open_page: OpenPage
) -> None:
    page = open_page(*WIDE).page
    page.goto(stack.inbox_url)
    cases = [[payload, agent] for _, payload, agent, _ in OPENING_LINE_CASES]

    lines = page.evaluate(
        "cases => cases.map(c => HandoverInbox.openingLine(c[0], c[1]))", cases
    )

    assert lines == [expected for *_, expected in OPENING_LINE_CASES]
    assert lines == [opening_line(payload, agent) for payload, agent in cases]


def test_docs_screenshot(stack: Stack, open_page: OpenPage, artifacts: Path) -> None:
    """The README's picture: a claimed conversation with summary and evidence."""
    agent_page = open_page(*WIDE)
    agent = AgentInbox(agent_page.page).sign_in(stack.inbox_url, AGENT_TOKEN)
    agent.go_online()
    customer = CustomerChat(open_page(*WIDE).page).open(stack.chat_url)
    customer.say_until_handed_over(
        ["WHY IS MY VIDEO NOT PLAYING???", "this is ridiculous!!!"]
    )
    agent.open_conversation(customer.conversation_id)
    agent.claim()
    agent_page.page.locator("#conversation-scroll").evaluate(
        "pane => pane.scrollTop = 0"
    )
    path = artifacts / "inbox.png"
    agent_page.page.screenshot(path=str(path))
    assert _png_size(path) == WIDE
    if os.environ.get(UPDATE_DOCS_ENV) == "1":
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(path, DOCS_SCREENSHOT)


def _png_size(path: Path) -> Tuple[int, int]:
    header = path.read_bytes()[:24]
    return (int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big"))
