"""A customer can only read and write their own conversation, in the real widget.

Two browser contexts (two customers, each with their own sessionStorage) run
the stock rasa-webchat bundle against `rasa run` with the handover channel
(see conftest.py); the agent works through the inbox's HTTP API. The second
customer edits their stored session to the first one's conversation id (what
an agent, a log line or the inbox shows, and what the session id was before
issue 11) and reloads: the channel gives them a fresh conversation of their own,
so they neither read the agent's replies to the first customer nor speak in
that conversation. The first customer reloads mid-handover and carries on.
"""

import time
from typing import Callable, List

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import BrowserPage, Stack
from tests.browser.pages import CustomerChat
from tests.browser.test_customer_widget import inbox_api, ticket_of

pytestmark = pytest.mark.browser

OpenPage = Callable[..., BrowserPage]
FIRST_REPLY = "I have your account open: the card ending 4242 is blocked now."
SECOND_REPLY = "Your new card is on its way to 1 Main Street."
AFTER_RELOAD = "Anything else I can do for you?"
INTRUDER_TEXT = "please send the new card to 9 Elm Road instead"
# Long enough for a message pushed to a room to reach every socket in it.
DELIVERY_SECONDS = 3
# How long the widget may take to reconnect after a reload and be confirmed.
SESSION_SECONDS = 20


# rasa-webchat's stored session, with another session id (the widget discards a
# stored session without its own fields, such as `version`, so edit its own).
FORGE_STORED_SESSION = """(forged) => {
  const stored = JSON.parse(sessionStorage.getItem('chat_session'));
  stored.session_id = forged;
  sessionStorage.setItem('chat_session', JSON.stringify(stored));
}"""


def _ticket_texts(stack: Stack, ticket_id: int) -> List[str]:
    details = inbox_api(stack, "GET", f"/tickets/{ticket_id}")
    return [str(message["text"]) for message in details["messages"]]


def test_a_forged_session_id_reads_and_writes_nothing_of_the_victims(
    stack: Stack, open_page: OpenPage
) -> None:
    inbox_api(stack, "POST", "/agents/me/availability", json={"online": True})
    victim_page = open_page()
    victim = CustomerChat(victim_page.page).open(stack.chat_url)
    victim.say_until_handed_over(["I want to talk to a human"])
    conversation = victim.conversation_id
    ticket = ticket_of(stack, conversation)
    reply = f"/tickets/{ticket['id']}/reply"
    inbox_api(stack, "POST", reply, json={"text": FIRST_REPLY})
    victim.expect_bot_message("card ending 4242")

    intruder_page = open_page()
    intruder = CustomerChat(intruder_page.page).open(stack.chat_url)
    intruder_page.page.evaluate(FORGE_STORED_SESSION, conversation)
    assert intruder.session_id == conversation
    intruder_page.page.reload()
    # The server confirms a session of its own, not the one they stored.
    deadline = time.monotonic() + SESSION_SECONDS
    while intruder.session_id == conversation and time.monotonic() < deadline:
        time.sleep(0.25)
    assert intruder.conversation_id != conversation
    assert intruder.session_id != victim.session_id
    expect(intruder.responses.first).to_be_visible(timeout=30_000)

    inbox_api(stack, "POST", reply, json={"text": SECOND_REPLY})
    victim.expect_bot_message("new card is on its way")
    time.sleep(DELIVERY_SECONDS)
    seen_by_intruder = " ".join(intruder.bot_texts())
    assert "4242" not in seen_by_intruder and "Main Street" not in seen_by_intruder

    before = len(intruder.bot_texts())
    intruder.say(INTRUDER_TEXT)
    # The bot answers the intruder in their own conversation (no handover there).
    expect(intruder.responses.nth(before)).to_be_visible(timeout=45_000)
    assert INTRUDER_TEXT not in _ticket_texts(stack, ticket["id"])
    assert not victim.page.locator(".rw-client").filter(has_text="9 Elm Road").count()

    # The victim reloads mid-handover: the same conversation, still live both ways.
    session_before = victim.session_id
    victim.page.reload()
    expect(victim.responses.filter(has_text="card ending 4242").first).to_be_visible(
        timeout=30_000
    )
    assert victim.session_id == session_before
    inbox_api(stack, "POST", reply, json={"text": AFTER_RELOAD})
    victim.expect_bot_message(AFTER_RELOAD)
    victim.say("no, that's all, thank you")
    deadline = time.monotonic() + 30
    while "no, that's all, thank you" not in _ticket_texts(stack, ticket["id"]):
        assert time.monotonic() < deadline, _ticket_texts(stack, ticket["id"])
        time.sleep(0.5)
    assert intruder_page.errors == [] and victim_page.errors == []
