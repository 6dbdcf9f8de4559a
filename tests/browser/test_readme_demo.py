"""The README's demo, word for word, in Chromium, with only Maya online.

The stack is the demo's own configuration (`make demo`, example_bot/demo.py):
the example bot's action server (`rasa run actions --actions actions`), `rasa
run --cors "*"` with example_bot/credentials.yml and example_bot/inbox.yml as
they are (Maya: general, billing, retention; Jonas, Lucía and Sam stay
offline), and the customer page with rasa-webchat. One addition, which
inbox.yml's own comment describes: replies by e-mail go to an SMTP server, here
a real one (aiosmtpd) in the test process. That is why this module starts its
own stack instead of the shared one of conftest.py (Maya with every team, no
e-mail): the point is the demo's routing and its alternatives.

Maya signs in on the agent page with the README's token and clicks "Go
online", as the README says. Each customer is a new browser context. Every
message a customer types must be answered within `ANSWER_WITHIN_SECONDS`.
"""

import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest
import requests
import yaml
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from example_bot.demo import WebchatServer, ensure_widget
from rasa_handover.inbox.config import DEMO_ENV
from tests.browser.conftest import BrowserPage, _missing_widget
from tests.browser.pages import CONNECTING, AgentInbox, CustomerChat
from tests.e2e.servers import (
    EXAMPLE_BOT,
    ensure_example_model,
    free_port,
    rasa_server,
)
from tests.e2e.test_waiting_and_alternatives import SmtpInbox

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DOCS_SCREENSHOT = ROOT / "docs" / "img" / "callbacks-list.png"
# Set to 1 to refresh docs/img/callbacks-list.png from this run.
UPDATE_DOCS_ENV = "HANDOVER_UPDATE_DOCS_SCREENSHOT"
# The README's example agent and token (example_bot/inbox.yml).
MAYA_TOKEN = "maya-demo-token"
# "A few seconds": the longest a customer waits for an answer to anything they
# type (the widget itself shows each message after up to 3 s of "typing"; 2
# busy cores).
ANSWER_WITHIN_SECONDS = 10.0
POLL_SECONDS = 0.1
AGENT_REPLY = "Done: the corrected invoice is on its way to you."

OpenPage = Callable[..., BrowserPage]
# How the agent page names each reason code (static/inbox.js, REASON_LABELS).
REASON_LABELS = {
    "explicit_request": "Asked for a person",
    "frustration": "Frustrated",
    "regulated_topic": "Regulated topic",
}


class DemoStack:
    """Where the demo runs, and the mail its inbox sent."""

    def __init__(self, rasa_url: str, chat_url: str, smtp: SmtpInbox) -> None:
        self.rasa_url = rasa_url
        self.inbox_url = f"{rasa_url}/webhooks/handover/inbox/"
        self.chat_url = chat_url
        self.smtp = smtp

    def api(
        self, method: str, path: str, token: str = MAYA_TOKEN, **kwargs: Any
    ) -> Any:
        """An agent's call to the inbox API (Maya's unless `token` says)."""
        answer = requests.request(
            method,
            f"{self.inbox_url}api{path}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
            **kwargs,
        )
        assert answer.status_code < 300, f"{method} {path}: {answer.text}"
        return answer.json()

    def ticket(self, conversation_id: str) -> Dict[str, Any]:
        """The open ticket of a conversation, as Maya's queue lists it."""
        queue = self.api("GET", "/queue")
        mine = [
            ticket
            for ticket in queue["tickets"] + queue.get("callbacks", [])
            if ticket["conversation_id"] == conversation_id
        ]
        assert len(mine) == 1, queue
        return dict(mine[0])


def demo_inbox_yml(smtp_port: int) -> str:
    """example_bot/inbox.yml as it is, plus its commented e-mail settings."""
    return (EXAMPLE_BOT / "inbox.yml").read_text(encoding="utf-8") + (
        "email:\n"
        "  host: 127.0.0.1\n"
        f"  port: {smtp_port}\n"
        "  security: none\n"
        "  from: Streamly support <support@streamly.example>\n"
    )


@pytest.fixture(scope="module")
def demo(
    chromium: Any,
    tmp_path_factory: pytest.TempPathFactory,
    example_action_server: str,
) -> Iterator[Any]:
    """The demo's servers (its config files), and an SMTP server for replies."""
    reason = _missing_widget()
    if reason:
        pytest.skip(reason)
    ensure_widget()
    model = ensure_example_model()
    workdir = tmp_path_factory.mktemp("readme-demo")
    smtp = SmtpInbox()
    smtp_port = free_port()
    controller = Controller(smtp, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    (workdir / "inbox.yml").write_text(demo_inbox_yml(smtp_port), encoding="utf-8")
    # The demo's credentials.yml, word for word: its relative paths (inbox.yml,
    # handover.db, handover_outbox.db) land in the work directory.
    credentials = (EXAMPLE_BOT / "credentials.yml").read_text(encoding="utf-8")
    try:
        with rasa_server(
            workdir,
            model,
            credentials,
            example_action_server,
            extra_args=("--cors", "*"),
            name="readme-demo-rasa-server",
            # As demo.py starts it: the README's short demo tokens are accepted.
            env={DEMO_ENV: "1"},
        ) as rasa_url, WebchatServer(port=0) as webchat:
            yield DemoStack(rasa_url, f"{webchat.url}?server={rasa_url}", smtp)
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def maya(demo: DemoStack, chromium: Any) -> Iterator[AgentInbox]:
    """Maya on the agent page, signed in with the README's token, online.

    Her page stays open for the whole module: presence keeps her online only
    while it is there.
    """
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)
    agent = AgentInbox(context.new_page()).sign_in(demo.inbox_url, MAYA_TOKEN)
    agent.page.get_by_role("button", name="Go online").click()
    switch = agent.page.get_by_role("switch", name="Available for customers")
    expect(switch).to_have_attribute("aria-checked", "true")
    agents = yaml.safe_load((EXAMPLE_BOT / "inbox.yml").read_text())["agents"]
    online = {
        agent["name"]
        for agent in agents
        if demo.api("GET", "/me", token=agent["token"])["agent"]["online"]
    }
    assert online == {"Maya"}, online
    try:
        yield agent
    finally:
        context.close()


def answered(customer: CustomerChat, text: str) -> List[str]:
    """Types `text`; asserts an answer shows within `ANSWER_WITHIN_SECONDS`.

    Returns:
        What the bot (or the channel) said, once it has been quiet for a moment.

    """
    before = len(customer.bot_texts())
    customer.say(text)
    started = time.monotonic()
    while len(customer.bot_texts()) == before:
        took = time.monotonic() - started
        assert took < ANSWER_WITHIN_SECONDS, (
            f"{text!r}: no answer after {took:.1f} s; the bot said "
            f"{customer.bot_texts()}"
        )
        time.sleep(POLL_SECONDS)
    return settled(customer, before)


def settled(customer: CustomerChat, before: int, quiet: float = 3.5) -> List[str]:
    """The messages after the first `before`, once none came for `quiet` s."""
    count, since = len(customer.bot_texts()), time.monotonic()
    while time.monotonic() - since < quiet:
        time.sleep(POLL_SECONDS)
        now = len(customer.bot_texts())
        if now != count:
            count, since = now, time.monotonic()
    return customer.bot_texts()[before:]


def new_customer(open_page: OpenPage, demo: DemoStack) -> CustomerChat:
    return CustomerChat(open_page(480, 760).page).open(demo.chat_url)


@pytest.mark.parametrize(
    "messages, reason, team",
    [
        pytest.param(
            ["I want to talk to a human"],
            "explicit_request",
            "general",
            id="talk-to-a-human",
        ),
        pytest.param(
            ["WHY IS MY VIDEO NOT PLAYING???", "this is ridiculous!!!"],
            "frustration",
            "technical",
            id="video-not-playing-then-ridiculous",
        ),
        pytest.param(
            ["is it safe to watch with epilepsy?"],
            "regulated_topic",
            "compliance",
            id="epilepsy",
        ),
        pytest.param(
            ["how do I reset my password?", "I want to talk to a human"],
            "explicit_request",
            "technical",
            id="human-after-a-password-question",
        ),
    ],
)
def test_each_readme_phrase_reaches_maya_with_its_reason(
    demo: DemoStack,
    maya: AgentInbox,
    open_page: OpenPage,
    messages: List[str],
    reason: str,
    team: str,
) -> None:
    customer = new_customer(open_page, demo)
    handed_over, waited = False, False
    for text in messages:
        heard = answered(customer, text)
        waited = waited or handed_over  # typed while waiting: answered too
        handed_over = handed_over or any(f"{CONNECTING} Maya" in h for h in heard)
        assert not any("Nobody from our team is online" in h for h in heard), heard
    assert handed_over, customer.bot_texts()

    ticket = demo.ticket(customer.conversation_id)
    assert (ticket["reason"], ticket["team"], ticket["agent_id"]) == (
        reason,
        team,
        "maya",
    ), ticket
    item = maya.queue_item(customer.conversation_id)
    expect(item).to_contain_text(REASON_LABELS[reason])
    if not waited:
        # Maya has not picked it up yet: what the customer types is answered
        # (one acknowledgement per burst, so only one message is typed here).
        ack = answered(customer, "hello? is anyone there?")
        assert "added that to your conversation" in ack[0], ack

    demo.api(
        "POST",
        f"/tickets/{ticket['id']}/resolve",
        json={"outcome": "escalation_needed", "note": "README demo test"},
    )


def test_a_callback_booked_by_chat_is_in_the_agents_callbacks_list(
    demo: DemoStack, maya: AgentInbox, open_page: OpenPage, artifacts: Path
) -> None:
    customer = new_customer(open_page, demo)
    asked = answered(customer, "could someone call me back?")
    assert asked[-1].startswith("Sure. On which phone number"), asked
    when = answered(customer, "+1 555 0100")
    assert when[-1].startswith("When would suit you?"), when
    booked = answered(customer, "tomorrow at 10am")
    assert booked[0].startswith(
        "Done: our team will get back to you tomorrow at 10:00 at +1 555 0100"
    ), booked

    callbacks = maya.page.locator("#queue-groups .queue-group").filter(
        has_text="Callbacks, soonest first"
    )
    item = callbacks.locator(
        f'button.ticket[data-conversation-id="{customer.conversation_id}"]'
    )
    expect(item).to_contain_text("Call back tomorrow at 10:00 on +1 555 0100")
    # Not "Unknown reason": the customer asked for it, without a handover.
    expect(item.locator(".chip.reason")).to_have_text("Asked for a callback")
    listed = demo.api("GET", "/callbacks")["callbacks"]
    [mine] = [c for c in listed if c["conversation_id"] == customer.conversation_id]
    assert mine["callback"]["due_at"][11:16] == "10:00", mine
    item.click()
    expect(maya.page.locator("#summary-text")).not_to_be_empty()
    maya.page.screenshot(path=str(artifacts / "callbacks-list.png"))
    if os.environ.get(UPDATE_DOCS_ENV) == "1":
        shutil.copyfile(artifacts / "callbacks-list.png", DOCS_SCREENSHOT)
    # The customer can go on with the bot at once.
    assert answered(customer, "thanks!")


def test_a_left_message_is_answered_by_email_and_shown_when_the_customer_returns(
    demo: DemoStack, maya: AgentInbox, open_page: OpenPage
) -> None:
    customer = new_customer(open_page, demo)
    asked = answered(customer, "I'd like to leave a message for your team")
    assert asked[-1] == "Sure. Which email address should our team reply to?", asked
    what = answered(customer, "dana.test@example.com")
    assert what[-1].startswith("What would you like to tell our team?"), what
    left = answered(customer, "Please resend invoice 1182 with my VAT number")
    assert left[-1].startswith(
        "Thanks, your message is with our team; they'll reply to dana.test@example.com"
    ), left
    conversation = customer.conversation_id
    chat = customer.page.url
    customer.page.goto("about:blank")  # The customer leaves the chat.

    item = maya.open_conversation(conversation)
    expect(item.locator(".chip.reason")).to_have_text("Left a message")
    maya.claim()
    maya.reply_box.fill(AGENT_REPLY)
    maya.send()
    deadline = time.monotonic() + 30
    while not demo.smtp.messages and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    [mail] = demo.smtp.messages
    assert mail["To"] == "dana.test@example.com"
    assert AGENT_REPLY in mail.get_payload(decode=True).decode()

    customer.page.goto(chat)  # Back, in the same tab: the same conversation.
    assert customer.conversation_id == conversation
    customer.expect_bot_message("While you were away, Maya replied")
    away = customer.responses.filter(has_text=AGENT_REPLY).last
    expect(away).to_be_visible()
    expect(away.locator("strong").first).to_have_text("Maya")
