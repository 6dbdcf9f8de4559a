"""The relay's fast path, with the trained example bot and real processes.

Two `rasa run` processes with the same model and one action server: one with
`relay_fast_path: true` (the default), one with `false` (every message of a
handed-over conversation through NLU and the policies, as before). The same
conversation on both must leave the same events in the tracker; on the fast
one, the handed-over messages must really have skipped the policies (the
channel's health counts them). The fast server keeps its trackers in an SQL
tracker store (a SQLite file), so that `rasa export` can read them back.
Nothing is mocked.
"""

import json
import sqlite3
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import requests

from tests.e2e.servers import BIN, ensure_example_model, rasa_server, start_together

pytestmark = pytest.mark.e2e

MAYA_TOKEN = "maya-token-0123456789abcdef0123456789ab"
INBOX_YML = f"""
agents:
  - name: Maya
    token: {MAYA_TOKEN}
    teams: [general, billing, technical, sales, account, retention, compliance]
    languages: [en]
    capacity: 50
housekeeping_seconds: 1
presence_grace_seconds: 0
"""
# Said to the agent while a human owns the conversation: an order number (the
# regex entity fills the `order_id` slot), plain text, and a bot intent.
DURING_HANDOVER = (
    "my order number is ORD-1182",
    "it still says payment failed",
    "how do I reset my password",
)


class Bot:
    """One `rasa run` with the handover channel, and its working directory."""

    def __init__(self, base: str, workdir: Path) -> None:
        self.base = base
        self.workdir = workdir

    def say(self, sender: str, text: str) -> List[Dict[str, Any]]:
        answer = requests.post(
            f"{self.base}/webhooks/handover/webhook",
            json={"sender": sender, "message": text},
            timeout=120,
        )
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    def agent(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = requests.request(
            method,
            f"{self.base}/webhooks/handover/inbox/api{path}",
            headers={"Authorization": f"Bearer {MAYA_TOKEN}"},
            timeout=60,
            **kwargs,
        )
        assert answer.status_code < 300, f"{path}: {answer.text}"
        return answer.json()

    def ticket(self, sender: str) -> Dict[str, Any]:
        mine = [
            t
            for t in self.agent("GET", "/queue")["tickets"]
            if t["conversation_id"] == sender
        ]
        assert len(mine) == 1, mine
        return dict(mine[0])

    def events(self, sender: str) -> List[Dict[str, Any]]:
        answer = requests.get(f"{self.base}/conversations/{sender}/tracker", timeout=60)
        assert answer.status_code == 200, answer.text
        return list(answer.json()["events"])

    def greeting(self, sender: str) -> List[Dict[str, Any]]:
        """What reaches the customer after the handback (the REST long poll)."""
        deadline = time.time() + 60
        while time.time() < deadline:
            answer = requests.get(
                f"{self.base}/webhooks/handover/messages/{sender}",
                params={"after": 0, "wait": 10},
                timeout=30,
            )
            assert answer.status_code == 200, answer.text
            messages = list(answer.json()["messages"])
            if any("back" in str(m.get("text")) for m in messages):
                return messages
        raise AssertionError(f"{sender} was never greeted back")

    def handed_over_messages(self) -> Dict[str, int]:
        health = requests.get(f"{self.base}/webhooks/handover/", timeout=30).json()
        return dict(health["handed_over_messages"])


def _bot_server(workdir: Path, model: Path, action_url: str, fast: bool) -> Any:
    """`rasa run` with the fast path on (`fast`) or off, in `workdir`."""
    (workdir / "inbox.yml").write_text(INBOX_YML)
    credentials = f"""
rasa_handover.channels.HandoverInput:
  db: sqlite:///{workdir}/handover.db
  outbox: {workdir}/outbox.db
  inbox_config: {workdir}/inbox.yml
  relay_fast_path: {str(fast).lower()}
"""
    endpoints = f"""tracker_store:
  type: SQL
  dialect: sqlite
  db: {workdir}/trackers.db
"""
    return rasa_server(
        workdir,
        model,
        credentials,
        action_url,
        extra_args=["--enable-api"],
        name=f"rasa-server-{'fast' if fast else 'full'}",
        endpoints=endpoints,
    )


@pytest.fixture(scope="module")
def bots(
    tmp_path_factory: pytest.TempPathFactory, example_action_server: str
) -> Iterator[Tuple[Bot, Bot]]:
    """(fast, full): the fast path on and off, the same model and action server."""
    model = ensure_example_model()
    workdirs = [tmp_path_factory.mktemp(name) for name in ("fast", "full")]
    with ExitStack() as stack:
        servers = [
            _bot_server(workdir, model, example_action_server, fast)
            for workdir, fast in zip(workdirs, (True, False))
        ]
        bots = [
            Bot(base, workdir)
            for base, workdir in zip(start_together(stack, servers), workdirs)
        ]
        for bot in bots:
            bot.agent("POST", "/agents/me/availability", json={"online": True})
        yield bots[0], bots[1]


def texts(messages: List[Dict[str, Any]]) -> List[str]:
    return [str(m.get("text", "")) for m in messages]


def comparable(event: Dict[str, Any]) -> Tuple[Any, ...]:
    """What a reader of the tracker sees in an event, without ids and times."""
    kind = event["event"]
    if kind == "user":
        parse = event.get("parse_data") or {}
        return (
            kind,
            event.get("text"),
            (parse.get("intent") or {}).get("name"),
            tuple((e["entity"], e["value"]) for e in parse.get("entities") or []),
            event.get("input_channel"),
        )
    if kind == "action":
        return (kind, event["name"], event.get("policy"), event.get("confidence"))
    if kind == "slot":
        value = event.get("value")
        if event["name"] == "handover_evidence":
            value = json.dumps(value, sort_keys=True)
        return (kind, event["name"], value)
    if kind == "bot":
        return (kind, event.get("text"))
    return (kind, event.get("name"))


def converse(bot: Bot, sender: str) -> List[List[str]]:
    """Hands over, writes to the agent, is handed back, asks the bot again."""
    answers = [texts(bot.say(sender, "hi"))]
    answers.append(texts(bot.say(sender, "I want to talk to a human")))
    ticket = bot.ticket(sender)
    bot.agent("POST", f"/tickets/{ticket['id']}/claim")
    answers += [texts(bot.say(sender, line)) for line in DURING_HANDOVER]
    bot.agent(
        "POST",
        f"/tickets/{ticket['id']}/resolve",
        json={"outcome": "escalation_not_needed"},
    )
    answers.append([t for t in texts(bot.greeting(sender)) if "back" in t])
    answers.append(texts(bot.say(sender, "how do I reset my password")))
    answers.append(texts(bot.say(sender, "I want to talk to a human")))
    return answers


def test_the_fast_path_records_what_rasa_records(bots: Tuple[Bot, Bot]) -> None:
    fast, full = bots
    before = fast.handed_over_messages()
    fast_sender = f"fast-{uuid.uuid4().hex[:8]}"
    full_sender = f"full-{uuid.uuid4().hex[:8]}"
    on_fast = converse(fast, fast_sender)
    on_full = converse(full, full_sender)

    # The customer sees the same: silence while the agent has it, the bot after.
    assert on_fast == on_full
    assert on_fast[2:5] == [[], [], []]
    assert on_fast[-3] and all("Maya" in t for t in on_fast[-3])  # greeted back
    assert on_fast[-2] and not any("Maya" in t for t in on_fast[-2])
    # The three handed-over messages skipped the policies on the fast server.
    after = fast.handed_over_messages()
    assert after["fast_path"] - before["fast_path"] == len(DURING_HANDOVER)
    # ... and the trackers hold the same events, in the same order.
    fast_events = [comparable(e) for e in fast.events(fast_sender)]
    full_events = [comparable(e) for e in full.events(full_sender)]
    assert fast_events == full_events
    # Including the slot the order number fills, and HandoverPolicy's silence.
    assert ("slot", "order_id", "ORD-1182") in fast_events
    assert ("action", "action_listen", "HandoverPolicy", 1.0) in fast_events
    # The second handover's payload is read from that tracker: the agent sees
    # what the customer wrote during the first one, in order.
    payload = fast.agent("GET", f"/tickets/{fast.ticket(fast_sender)['id']}")["payload"]
    said = [m["text"] for m in payload["transcript"] if m["role"] == "user"]
    first = said.index(DURING_HANDOVER[0])
    assert said[first : first + len(DURING_HANDOVER)] == list(DURING_HANDOVER)


def test_messages_sent_at_once_reach_the_ticket_and_the_tracker_in_one_order(
    bots: Tuple[Bot, Bot],
) -> None:
    fast, _ = bots
    sender = f"burst-{uuid.uuid4().hex[:8]}"
    fast.say(sender, "I want to talk to a human")
    ticket = fast.ticket(sender)
    burst = [f"line {i} of what happened" for i in range(8)]
    with ThreadPoolExecutor(len(burst)) as pool:
        list(pool.map(lambda line: fast.say(sender, line), burst))

    on_ticket = [
        m["text"]
        for m in fast.agent("GET", f"/tickets/{ticket['id']}")["messages"]
        if m["sender"] == "customer" and m["text"] in burst
    ]
    in_tracker = [
        e["text"]
        for e in fast.events(sender)
        if e["event"] == "user" and e["text"] in burst
    ]
    # Each once, and the agent reads them in the order the tracker keeps.
    assert sorted(on_ticket) == sorted(burst)
    assert in_tracker == on_ticket
    # Every message was answered by HandoverPolicy's silence, one by one.
    events = fast.events(sender)
    for index, event in enumerate(events):
        if event["event"] == "user" and event["text"] in burst:
            [answer, *_] = [e for e in events[index:] if e["event"] == "action"]
            assert (answer["name"], answer["policy"]) == (
                "action_listen",
                "HandoverPolicy",
            )


def test_asking_for_a_callback_still_works_during_the_handover(
    bots: Tuple[Bot, Bot],
) -> None:
    """A control intent typed in words: NLU still runs on the fast path."""
    fast, _ = bots
    sender = f"callback-{uuid.uuid4().hex[:8]}"
    fast.say(sender, "I want to talk to a human")
    fast.agent("POST", f"/tickets/{fast.ticket(sender)['id']}/claim")
    assert fast.say(sender, "the invoice total is wrong") == []
    asked = texts(fast.say(sender, "can someone call me back"))
    assert asked == [
        "Sure. On which phone number or email address should we reach you?"
    ]
    when = texts(fast.say(sender, "+44 20 7946 0958"))
    assert when[0].startswith("When would suit you?"), when
    booked = texts(fast.say(sender, "in 2 hours"))
    assert booked[0].startswith("Done: our team will get back to you"), booked
    # The open ticket became the callback request, with what was relayed.
    [callback] = [
        t
        for t in fast.agent("GET", "/callbacks")["callbacks"]
        if t["conversation_id"] == sender
    ]
    messages = fast.agent("GET", f"/tickets/{callback['id']}")["messages"]
    assert "the invoice total is wrong" in [m["text"] for m in messages]


def test_rasa_export_reads_every_message_of_the_handover(
    bots: Tuple[Bot, Bot],
) -> None:
    fast, _ = bots
    sender = f"export-{uuid.uuid4().hex[:8]}"
    fast.say(sender, "I want to talk to a human")
    for line in DURING_HANDOVER:
        fast.say(sender, line)

    broker = fast.workdir / "exported.db"
    (fast.workdir / "export-endpoints.yml").write_text(
        f"""tracker_store:
  type: SQL
  dialect: sqlite
  db: {fast.workdir}/trackers.db
event_broker:
  type: SQL
  dialect: sqlite
  db: {broker}
"""
    )
    subprocess.run(
        [
            str(BIN / "rasa"),
            "export",
            "--endpoints",
            "export-endpoints.yml",
            "--conversation-ids",
            sender,
        ],
        cwd=fast.workdir,
        check=True,
        capture_output=True,
        timeout=600,
    )
    with sqlite3.connect(broker) as db:
        rows = db.execute("SELECT data FROM events ORDER BY id").fetchall()
    exported = [json.loads(row[0]) for row in rows]
    said = [e["text"] for e in exported if e["event"] == "user"]
    assert said[-len(DURING_HANDOVER) :] == list(DURING_HANDOVER)
