"""Page objects: the customer in rasa-webchat, the agent on the inbox page.

They find things the way a person (or a screen reader) does where the page
allows it: by label and by role. rasa-webchat's own markup is reached through
its `rw-` classes.
"""

import re
import time
from typing import Any, List, Sequence

from playwright.sync_api import expect

# The customer hears this when an agent is assigned (utter_handover_connecting).
CONNECTING = "connecting you with"
GREETING_TEXT = "Streamly assistant"
# rasa-webchat shows each bot message after a typing delay of up to 3 s.
BOT_ANSWER_SECONDS = 45
# After the bot's first answer, how long to wait for more before typing on.
QUIET_SECONDS = 4
LIVE_SECONDS = 30
POLL_SECONDS = 0.25


class CustomerChat:
    """The customer's page with the rasa-webchat widget."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.responses = page.locator(".rw-response")

    def open(self, url: str) -> "CustomerChat":
        self.page.goto(url)
        expect(self.responses.filter(has_text=GREETING_TEXT)).to_be_visible(
            timeout=BOT_ANSWER_SECONDS * 1000
        )
        return self

    @property
    def session_id(self) -> str:
        """rasa-webchat's stored session id, as the channel issued and signed it."""
        return str(
            self.page.evaluate(
                "JSON.parse(sessionStorage.getItem('chat_session')).session_id"
            )
        )

    @property
    def conversation_id(self) -> str:
        """The conversation id in Rasa and the inbox: the session id's first part."""
        return self.session_id.split(".")[0]

    def say(self, text: str) -> None:
        box = self.page.locator(".rw-new-message")
        box.fill(text)
        box.press("Enter")
        expect(
            self.page.locator(".rw-client").filter(has_text=text).last
        ).to_be_visible()

    def bot_texts(self) -> List[str]:
        return [text.strip() for text in self.responses.all_inner_texts()]

    def say_until_handed_over(self, messages: Sequence[str]) -> List[str]:
        """Types `messages` one by one until the bot hands over to an agent.

        Returns:
            The messages that were sent.

        """
        sent: List[str] = []
        for text in messages:
            before = len(self.bot_texts())
            self.say(text)
            sent.append(text)
            if self._wait_for_answer(before):
                return sent
        raise AssertionError(
            f"no handover after {sent}; the bot said: {self.bot_texts()}"
        )

    def _wait_for_answer(self, before: int) -> bool:
        deadline = time.monotonic() + BOT_ANSWER_SECONDS
        last_count, last_change = before, time.monotonic()
        while time.monotonic() < deadline:
            texts = self.bot_texts()
            if any(CONNECTING in text for text in texts[before:]):
                return True
            if len(texts) != last_count:
                last_count, last_change = len(texts), time.monotonic()
            elif last_count > before and time.monotonic() - last_change > QUIET_SECONDS:
                return False
            time.sleep(POLL_SECONDS)
        raise AssertionError(f"the bot did not answer; it said: {self.bot_texts()}")

    def tap(self, title: str) -> None:
        """Clicks the bot's button (a rasa-webchat quick reply) titled `title`."""
        button = self.page.locator(".rw-reply").filter(
            has_text=re.compile(f"^{re.escape(title)}$")
        )
        button.last.click()
        expect(
            self.page.locator(".rw-client").filter(has_text=title).last
        ).to_be_visible()

    def expect_bot_message(self, text: str, seconds: float = LIVE_SECONDS) -> None:
        expect(self.responses.filter(has_text=text).last).to_be_visible(
            timeout=seconds * 1000
        )


class AgentInbox:
    """The agent's inbox page."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.reply_box = page.get_by_label("Reply to the customer")
        self.transcript = page.locator("#conversation .transcript")

    def sign_in(self, url: str, token: str) -> "AgentInbox":
        self.page.goto(url)
        self.page.get_by_label("Agent token").fill(token)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.locator("#live")).to_have_text("Live")
        return self

    def go_online(self) -> None:
        switch = self.page.get_by_role("switch", name="Available for customers")
        if switch.get_attribute("aria-checked") != "true":
            switch.click()
        expect(switch).to_have_attribute("aria-checked", "true")
        expect(self.page.get_by_text("You are offline")).to_be_hidden()

    def queue_item(self, conversation_id: str) -> Any:
        return self.page.locator(
            f'#queue button.ticket[data-conversation-id="{conversation_id}"]'
        )

    def open_conversation(self, conversation_id: str) -> Any:
        item = self.queue_item(conversation_id)
        expect(item).to_be_visible(timeout=LIVE_SECONDS * 1000)
        item.click()
        expect(self.page.locator("#summary-text")).not_to_be_empty()
        return item

    def claim(self) -> str:
        self.page.get_by_role("button", name="Claim this conversation").click()
        expect(self.reply_box).to_have_value(re.compile(r"^Hi "))
        return str(self.reply_box.input_value())

    def send(self) -> None:
        self.page.get_by_role("button", name="Send").click()
        expect(self.reply_box).to_have_value("")

    def expect_live_message(self, text: str) -> None:
        expect(
            self.page.locator("#live-messages .msg-customer").filter(has_text=text)
        ).to_be_visible(timeout=LIVE_SECONDS * 1000)

    def resolve(self, outcome_label: str, note: str = "", intent: str = "") -> None:
        """Resolves with one click on the outcome's button (after intent, note)."""
        if self.page.locator("#resolve-panel").get_attribute("open") is None:
            self.page.locator("summary", has_text="Resolve and hand back").click()
        if intent:
            self.page.get_by_label("What the customer really wanted").fill(intent)
        if note:
            self.page.get_by_label("Note (optional)").fill(note)
        self.page.get_by_role("button", name=outcome_label, exact=True).click()
        expect(self.page.locator("#closed-note")).to_contain_text("back with the bot")

    def transfer(self, team: str) -> None:
        self.page.locator("summary", has_text="Transfer to another team").click()
        self.page.get_by_label("Team", exact=True).fill(team)
        self.page.get_by_role("button", name="Transfer", exact=True).click()
        expect(self.page.locator("#notice")).to_contain_text(f"Transferred to {team}")
