"""Nobody online: the waiting room answers, a callback is booked, a message is e-mailed.

Real processes: the trained example bot under `rasa run` with the handover
channel (embedded inbox on SQLite), the example bot's action server, a customer
over the channel's REST endpoint, an agent over the inbox API, and a real SMTP
server (aiosmtpd) in the test process that receives the agent's reply.
"""

import socket
import time
from datetime import datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any, Iterator, List, Tuple

import pytest
from aiosmtpd.controller import Controller

from rasa_handover.callback_details import callback_timezone, describe_time
from tests.e2e.servers import ensure_example_model, rasa_server
from tests.e2e.test_handover_flow import agent, poll, say, texts

pytestmark = pytest.mark.e2e

MAYA_TOKEN = "maya-token-0123456789abcdef0123456789ab"
# "A few seconds": what a waiting customer may wait for an answer (2 busy cores).
ANSWER_WITHIN_SECONDS = 10.0


class SmtpInbox:
    def __init__(self) -> None:
        self.messages: List[Any] = []

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture(scope="module")
def bot(
    tmp_path_factory: pytest.TempPathFactory, example_action_server: str
) -> Iterator[Tuple[str, SmtpInbox]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        smtp_port = probe.getsockname()[1]
    smtp = SmtpInbox()
    controller = Controller(smtp, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    workdir: Path = tmp_path_factory.mktemp("alternatives")
    (workdir / "inbox.yml").write_text(
        f"""
agents:
  - name: Maya
    token: {MAYA_TOKEN}
    teams: [general, billing, technical]
email:
  host: 127.0.0.1
  port: {smtp_port}
  security: none
  from: Streamly support <support@streamly.example>
housekeeping_seconds: 1
"""
    )
    credentials = f"""
rasa_handover.channels.HandoverInput:
  db: sqlite:///{workdir}/handover.db
  outbox: {workdir}/outbox.db
  inbox_config: {workdir}/inbox.yml
  support_email: help@streamly.example
"""
    try:
        with rasa_server(
            workdir, ensure_example_model(), credentials, example_action_server
        ) as base:
            yield base, smtp  # Maya stays offline: nobody is online
    finally:
        controller.stop()


def timed_say(base: str, sender: str, text: str) -> List[str]:
    started = time.monotonic()
    answer = texts(say(base, sender, text))
    took = time.monotonic() - started
    assert took < ANSWER_WITHIN_SECONDS, f"{text!r} took {took:.1f} s"
    return answer


def test_nobody_online_the_waiting_room_answers_and_a_callback_is_booked(
    bot: Tuple[str, SmtpInbox],
) -> None:
    base, _ = bot
    opening = timed_say(base, "wait-1", "I want to talk to a human")
    assert "Nobody from our team is online right now." in opening
    assert any("arrange a callback" in line for line in opening)

    ack = timed_say(base, "wait-1", "this is ridiculous!!!")
    assert ack == [
        "Got it, I've added that to your conversation so our general team sees it "
        "as soon as someone picks it up."
    ]
    assert timed_say(base, "wait-1", "hello? is anyone there?") == []  # one per burst

    booked = timed_say(
        base, "wait-1", "yes please call me back tomorrow at 10am on +1 555 0100"
    )
    assert len(booked) == 1 and booked[0].startswith(
        "Done: our team will get back to you tomorrow at 10:00 at +1 555 0100"
    ), booked

    callbacks = agent(base, "GET", "/callbacks")["callbacks"]
    [mine] = [c for c in callbacks if c["conversation_id"] == "wait-1"]
    assert mine["callback"]["contact"] == "+1 555 0100"
    assert mine["callback"]["due_at"][11:16] == "10:00"
    details = agent(base, "GET", f"/tickets/{mine['id']}")
    assert [m["text"] for m in details["messages"]][:2] == [
        "this is ridiculous!!!",
        "hello? is anyone there?",
    ]
    done = agent(
        base,
        "POST",
        f"/tickets/{mine['id']}/resolve",
        json={"outcome": "escalation_needed", "note": "called back"},
    )
    assert done["ticket"]["status"] == "resolved"


def test_a_bad_phone_number_is_asked_for_again(bot: Tuple[str, SmtpInbox]) -> None:
    base, _ = bot
    asked = timed_say(base, "wait-2", "can someone call me back")
    assert asked == [
        "Sure. On which phone number or email address should we reach you?"
    ]
    again = timed_say(base, "wait-2", "my number is 12")
    assert again[0].startswith("Sorry, that doesn't look like a phone number")
    assert again[-1] == asked[0]
    when = timed_say(base, "wait-2", "+44 20 7946 0958")
    assert when[0].startswith("When would suit you?")
    asked_at = datetime.now(callback_timezone())
    booked = timed_say(base, "wait-2", "in 2 hours")
    # "today at 14:05", or "tomorrow at 01:37" when asked after 22:00.
    expected = describe_time(asked_at + timedelta(hours=2), asked_at)
    assert booked[0].startswith("Done: our team will get back to you"), booked
    said = booked[0][len("Done: our team will get back to you ") :]
    assert said.split(" at ")[0] == expected.split(" at ")[0], booked


def test_a_left_message_is_answered_by_email_and_shown_in_the_chat(
    bot: Tuple[str, SmtpInbox],
) -> None:
    base, smtp = bot
    timed_say(base, "wait-3", "I want to talk to a human")
    assert timed_say(base, "wait-3", "I'll leave a message") == [
        "Sure. Which email address should our team reply to?"
    ]
    assert timed_say(base, "wait-3", "dana@example.com")[0].startswith(
        "What would you like to tell our team?"
    )
    left = timed_say(base, "wait-3", "Please resend invoice 1182 with my VAT number")
    assert left == [
        "Thanks, your message is with our team; they'll reply to dana@example.com, "
        "and you'll see the reply here too when you come back."
    ]

    queue = agent(base, "GET", "/queue")
    [ticket] = [t for t in queue["tickets"] if t["conversation_id"] == "wait-3"]
    assert ticket["status"] == "waiting"
    assert ticket["callback"]["contact"] == "dana@example.com"
    agent(
        base,
        "POST",
        f"/tickets/{ticket['id']}/reply",
        json={"text": "Done: the corrected invoice is on its way."},
    )
    deadline = time.monotonic() + 15
    while not smtp.messages and time.monotonic() < deadline:
        time.sleep(0.2)
    [mail] = smtp.messages
    assert mail["To"] == "dana@example.com"
    assert "the corrected invoice is on its way" in mail.get_payload()
    back = texts(poll(base, "wait-3", wait=5))  # the REST customer comes back
    assert "Done: the corrected invoice is on its way." in back
