"""A handover while the standalone inbox is down reaches it, once, when it is back.

Real processes: `rasa run` with the handover channel pointed at a standalone
inbox (`rasa-handover inbox`, HMAC-signed requests), the action server, and the
inbox started only after the customer asked for a person.
"""

import time
import uuid
from pathlib import Path
from typing import Any, Dict, List

import pytest
import requests

from tests.e2e.servers import (
    ensure_example_model,
    free_port,
    rasa_server,
    standalone_inbox,
)

pytestmark = pytest.mark.e2e

SECRET = "e2e-shared-secret"
TOKEN = "maya-token-0123456789abcdef0123456789ab"
INBOX_YML = f"""
shared_secret: {SECRET}
housekeeping_seconds: 1
agents:
  - name: Maya
    token: {TOKEN}
    teams: [general, billing, technical]
"""


def say(base: str, sender: str, text: str) -> List[Dict[str, Any]]:
    answer = requests.post(
        f"{base}/webhooks/handover/webhook",
        json={"sender": sender, "message": text},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def inbox_get(api: str, path: str) -> Any:
    answer = requests.get(
        f"{api}/api{path}", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def tickets_of(api: str, sender: str) -> List[Dict[str, Any]]:
    queue = inbox_get(api, "/queue")
    return [t for t in queue["tickets"] if t["conversation_id"] == sender]


def test_handover_survives_an_inbox_outage_exactly_once(
    tmp_path: Path, example_action_server: str
) -> None:
    model = ensure_example_model()
    rasa_port, inbox_port = free_port(), free_port()
    omar = f"omar-{uuid.uuid4().hex[:6]}"
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
    with rasa_server(
        tmp_path, model, credentials, example_action_server, port=rasa_port
    ) as base:
        # The inbox is down: the customer is told honestly, nothing is lost.
        reply = " ".join(
            m.get("text", "") for m in say(base, omar, "I want to talk to a human")
        )
        assert "trouble reaching our team" in reply
        assert say(base, omar, "my order number is 1182") == []  # relayed later
        health = requests.get(f"{base}/webhooks/handover/", timeout=5).json()
        assert health["outbox_pending"] == 2

        with standalone_inbox(tmp_path, INBOX_YML, inbox_port) as api:
            deadline = time.time() + 60
            while time.time() < deadline and not tickets_of(api, omar):
                time.sleep(0.5)
            tickets = tickets_of(api, omar)
            assert len(tickets) == 1, tickets
            # Give the worker time to (wrongly) deliver again: still one ticket.
            time.sleep(3)
            assert len(tickets_of(api, omar)) == 1
            details = inbox_get(api, f"/tickets/{tickets[0]['id']}")
            assert details["payload"]["trigger"]["reason"] == "explicit_request"
            customer_lines = [
                m["text"] for m in details["messages"] if m["sender"] == "customer"
            ]
            assert customer_lines == ["my order number is 1182"]
            health = requests.get(f"{base}/webhooks/handover/", timeout=5).json()
            assert health["outbox_pending"] == 0
