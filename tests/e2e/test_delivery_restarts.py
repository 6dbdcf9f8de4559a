"""Agents' replies, the end of a handover and new handovers survive restarts.

Real processes: `rasa run` with the handover channel pointed at a standalone
inbox (`rasa-handover inbox`, on a SQLite file or the real PostgreSQL), the
action server, a customer over REST and an agent over the inbox API. The Rasa
server is stopped while the agent replies twice and resolves; the inbox is
restarted too; when both are back the customer gets both replies once, in
order, and then the bot's greeting after the hand-back. Rasa's conversations
are kept in a SQL tracker store, as a production bot keeps them.
(test_inbox_killed.py: the inbox SIGKILLed mid-run.)
"""

import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
import requests

from tests.e2e.servers import (
    ensure_example_model,
    free_port,
    rasa_server,
    standalone_inbox,
)

pytestmark = pytest.mark.e2e

SECRET = "e2e-delivery-shared-secret"
TOKEN = "maya-delivery-token-0123456789abcdef0123"
INBOX_YML = f"""
shared_secret: {SECRET}
housekeeping_seconds: 1
presence_grace_seconds: 0
agents:
  - name: Maya
    token: {TOKEN}
    teams: [general, billing, technical]
"""
REPLIES = ("Hi, I'm Maya. I can see order 1182.", "The refund is on its way.")


def say(base: str, sender: str, text: str) -> List[Dict[str, Any]]:
    answer = requests.post(
        f"{base}/webhooks/handover/webhook",
        json={"sender": sender, "message": text},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def agent(api: str, method: str, path: str, body: Optional[dict] = None) -> Any:
    answer = requests.request(
        method,
        f"{api}/api{path}",
        json=body,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    assert answer.status_code < 300, answer.text
    return answer.json()


def messages_until(
    base: str, sender: str, enough: int, seconds: float = 120
) -> List[Dict[str, Any]]:
    """The customer's long poll, until `enough` messages (and a moment more)."""
    got: List[Dict[str, Any]] = []
    deadline = time.time() + seconds
    while time.time() < deadline:
        after = got[-1]["id"] if got else 0
        answer = requests.get(
            f"{base}/webhooks/handover/messages/{sender}",
            params={"after": after, "wait": 5},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        got += answer.json()["messages"]
        if len(got) >= enough:
            # A (wrong) second delivery would arrive within the next poll.
            answer = requests.get(
                f"{base}/webhooks/handover/messages/{sender}",
                params={"after": got[-1]["id"], "wait": 3},
                timeout=30,
            )
            return got + answer.json()["messages"]
    return got


@pytest.mark.parametrize("inbox_db", ["postgresql"], indirect=True)
def test_replies_and_resolution_arrive_once_in_order_after_restarts(
    tmp_path: Path, inbox_db: Tuple[Optional[str], Any], example_action_server: str
) -> None:
    db, schema = inbox_db
    model = ensure_example_model()
    rasa_port, inbox_port = free_port(), free_port()
    dana = f"dana-{uuid.uuid4().hex[:6]}"
    credentials = f"""
rasa_handover.channels.HandoverInput:
  inbox_url: http://127.0.0.1:{inbox_port}/webhooks/handover/inbox
  shared_secret: {SECRET}
  public_url: http://127.0.0.1:{rasa_port}
  outbox: {tmp_path}/outbox.db
  retry_interval: 0.5
  support_email: help@streamly.example
"""
    endpoints = f"""
tracker_store:
  type: SQL
  dialect: sqlite
  db: {tmp_path}/trackers.db
"""

    def bot() -> Any:
        return rasa_server(
            tmp_path,
            model,
            credentials,
            example_action_server,
            rasa_port,
            endpoints=endpoints,
        )

    def inbox() -> Any:
        return standalone_inbox(tmp_path, INBOX_YML, inbox_port, db, schema)

    with inbox() as api:
        with bot() as base:
            say(base, dana, "I want to talk to a human")
            [ticket] = [
                t
                for t in agent(api, "GET", "/queue")["tickets"]
                if t["conversation_id"] == dana
            ]
            agent(api, "POST", f"/tickets/{ticket['id']}/claim")
        # The Rasa server is gone: the agent answers and resolves.
        for text in REPLIES:
            agent(api, "POST", f"/tickets/{ticket['id']}/reply", {"text": text})
        agent(
            api,
            "POST",
            f"/tickets/{ticket['id']}/resolve",
            {"outcome": "escalation_needed"},
        )
        time.sleep(2)  # the inbox tries, and fails, to deliver
    # Both sides restart: the inbox first, still unable to reach the bot.
    with inbox(), bot() as base:
        got = messages_until(base, dana, enough=3)

    texts = [m.get("text") for m in got]
    agent_lines = [t for t in texts if t in REPLIES]
    assert agent_lines == list(REPLIES), texts
    handback = [t for t in texts if t and "handed you back" in t]
    assert len(handback) == 1, texts
    assert texts.index(handback[0]) > texts.index(REPLIES[-1]), texts
