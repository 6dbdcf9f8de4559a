"""An inbox SIGKILLed mid-run loses nothing and repeats nothing.

Real processes: `rasa run` with the handover channel pointed at a standalone
inbox (`rasa-handover inbox`, on a SQLite file), the action server, a customer
over REST and an agent over the inbox API. The inbox is killed (no clean
shutdown) and restarted on its database and port: handovers and messages sent
meanwhile arrive once, and the customer hears the honest delay message.
(A module of its own, apart from test_delivery_restarts.py: each takes minutes
of server start-ups, and pytest-xdist runs the two modules side by side.)
"""

import signal
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from tests.e2e.servers import (
    ensure_example_model,
    free_port,
    inbox_replica,
    rasa_server,
)
from tests.e2e.test_delivery_restarts import (
    INBOX_YML,
    REPLIES,
    SECRET,
    agent,
    messages_until,
    say,
)

pytestmark = pytest.mark.e2e


def tickets_of(api: str, sender: str) -> List[Dict[str, Any]]:
    queue = agent(api, "GET", "/queue")["tickets"]
    return [t for t in queue if t["conversation_id"] == sender]


@pytest.mark.parametrize("inbox_db", ["sqlite"], indirect=True)
def test_an_inbox_killed_mid_run_loses_and_repeats_nothing(
    tmp_path: Path, inbox_db: Tuple[Optional[str], Any], example_action_server: str
) -> None:
    """SIGKILL, not a clean stop: the inbox is restarted on its database and port."""
    db, schema = inbox_db
    model = ensure_example_model()
    rasa_port, inbox_port = free_port(), free_port()
    ana, ben = (f"{name}-{uuid.uuid4().hex[:6]}" for name in ("ana", "ben"))
    credentials = f"""
rasa_handover.channels.HandoverInput:
  inbox_url: http://127.0.0.1:{inbox_port}/webhooks/handover/inbox
  shared_secret: {SECRET}
  public_url: http://127.0.0.1:{rasa_port}
  outbox: {tmp_path}/outbox.db
  retry_interval: 0.5
  notify_after_failures: 2
  support_email: help@streamly.example
"""

    def inbox() -> Any:
        return inbox_replica(tmp_path, INBOX_YML, inbox_port, db, schema)

    with rasa_server(
        tmp_path, model, credentials, example_action_server, rasa_port
    ) as base:
        with inbox() as (api, process):
            say(base, ana, "I want to talk to a human")
            [ticket] = tickets_of(api, ana)
            agent(api, "POST", f"/tickets/{ticket['id']}/claim")
            agent(api, "POST", f"/tickets/{ticket['id']}/reply", {"text": REPLIES[0]})
            process.send_signal(signal.SIGKILL)  # Delivered or not: unknown.
            process.wait(timeout=30)
        # The inbox is gone: a new handover hears so honestly, a message waits.
        reply = " ".join(m.get("text", "") for m in say(base, ben, "talk to a human"))
        assert "trouble reaching our team" in reply
        assert say(base, ana, "are you still there?") == []
        with inbox() as (api, _):
            deadline = time.time() + 60
            while time.time() < deadline and not tickets_of(api, ben):
                time.sleep(0.5)
            agent(api, "POST", f"/tickets/{ticket['id']}/reply", {"text": REPLIES[1]})
            got = messages_until(base, ana, enough=2)
            time.sleep(3)  # The outbox would (wrongly) deliver again by now.
            tickets = {name: tickets_of(api, name) for name in (ana, ben)}
            details = agent(api, "GET", f"/tickets/{ticket['id']}")

    assert [len(found) for found in tickets.values()] == [1, 1], tickets
    lines = [m["text"] for m in details["messages"] if m["sender"] == "customer"]
    assert lines.count("are you still there?") == 1, lines
    texts = [m.get("text") for m in got]
    assert [t for t in texts if t in REPLIES] == list(REPLIES), texts
