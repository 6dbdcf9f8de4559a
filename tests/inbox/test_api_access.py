"""Who may see and act on a ticket, through real HTTP against the real Sanic app.

One rule for every ticket operation (`inbox/access.py`): the ticket's team is
one the agent works or reaches through its fallback chain, or the agent holds
it, or the agent is a supervisor. Anything else is a 404, exactly like an
unknown id, and changes nothing. A ticket assigned to a colleague who has not
accepted it yet stays theirs.
"""

import json
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Dict, Tuple

import aiohttp
import pytest

from rasa_handover.inbox.access import TicketScope
from rasa_handover.inbox.api import create_app
from rasa_handover.inbox.config import AgentConfig, InboxConfig
from rasa_handover.inbox.errors import NotFoundError
from rasa_handover.inbox.router import FallbackChains
from rasa_handover.inbox.store import InboxStore
from tests.inbox.conftest import running
from tests.signed import channel_headers

SECRET = "channel-secret-for-access-tests"


def bearer(token: str) -> Dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


MAYA, LEA, TOM, SUE = (
    bearer(f"token-{name}") for name in ("maya", "lea", "tom", "sue")
)
CONFIG = InboxConfig(
    agents=(
        AgentConfig("Maya", "token-maya", teams=("billing",), capacity=2),
        AgentConfig("Lea", "token-lea", teams=("billing",), capacity=2),
        AgentConfig("Tom", "token-tom", teams=("tech",), capacity=2),
        AgentConfig("Gil", "token-gil", teams=("general",), capacity=2),
        AgentConfig(
            "Sue", "token-sue", teams=("general",), capacity=2, role="supervisor"
        ),
    ),
    shared_secret=SECRET,
    housekeeping_seconds=0,
    presence_grace_seconds=0,
    # billing's tickets reach general agents; tech's stay with tech.
    routing=FallbackChains(by_team={"billing": ("general",)}, default=()),
)
GIL = bearer("token-gil")


class Inbox:
    """The running app over a real socket, with the calls the tests need."""

    def __init__(self, base: str, session: aiohttp.ClientSession) -> None:
        self.base = base
        self.session = session

    async def call(
        self, method: str, path: str, headers: Dict[str, str], body: Any = None
    ) -> Tuple[int, Dict[str, Any]]:
        async with self.session.request(
            method, f"{self.base}{path}", headers=headers, json=body
        ) as response:
            return response.status, await response.json()

    async def handover(self, team: str, conversation_id: str = "") -> int:
        body = json.dumps(
            {
                "conversation_id": conversation_id or uuid.uuid4().hex,
                "attempt": 1,
                "payload": {"trigger": {"reason": "explicit_request", "team": team}},
            }
        ).encode()
        url = f"{self.base}/api/channel/tickets"
        headers = channel_headers("POST", url, body, SECRET)
        async with self.session.post(url, data=body, headers=headers) as response:
            assert response.status == 201, await response.text()
            return int((await response.json())["ticket_id"])

    async def go_online(self, headers: Dict[str, str]) -> None:
        status, _ = await self.call(
            "POST", "/api/agents/me/availability", headers, {"online": True}
        )
        assert status == 200

    async def ticket(self, ticket_id: int) -> Dict[str, Any]:
        status, body = await self.call("GET", f"/api/tickets/{ticket_id}", SUE)
        assert status == 200, body
        return dict(body["ticket"])


@pytest.fixture
async def inbox(tmp_path: Path) -> AsyncIterator[Inbox]:
    app = create_app(
        f"sqlite:///{tmp_path / 'handover.db'}",
        CONFIG,
        name=f"inbox_access_{uuid.uuid4().hex[:10]}",
    )
    async with running(app) as base, aiohttp.ClientSession() as session:
        yield Inbox(base, session)


OPERATIONS = [
    pytest.param("GET", "", None, id="read"),
    pytest.param("POST", "/claim", None, id="claim"),
    pytest.param("POST", "/reply", {"text": "Hello from tech"}, id="reply"),
    pytest.param(
        "POST", "/resolve", {"outcome": "escalation_not_needed"}, id="resolve"
    ),
    pytest.param("POST", "/transfer", {"team": "tech"}, id="transfer"),
]


@pytest.mark.parametrize("method, suffix, body", OPERATIONS)
async def test_another_teams_ticket_is_unknown_to_an_agent(
    inbox: Inbox, method: str, suffix: str, body: Any
) -> None:
    ticket_id = await inbox.handover("billing")

    status, answer = await inbox.call(
        method, f"/api/tickets/{ticket_id}{suffix}", TOM, body
    )
    unknown_status, unknown = await inbox.call(
        method, f"/api/tickets/{ticket_id + 1000}{suffix}", TOM, body
    )

    assert (status, answer) == (404, {**unknown, "error": answer["error"]})
    assert unknown_status == 404
    assert answer["error"] == f"unknown ticket {ticket_id}"
    after = await inbox.ticket(ticket_id)
    assert (after["status"], after["agent_id"], after["team"]) == (
        "waiting",
        None,
        "billing",
    )


@pytest.mark.parametrize("method, suffix, body", OPERATIONS)
async def test_team_agent_fallback_agent_and_supervisor_may_act(
    inbox: Inbox, method: str, suffix: str, body: Any
) -> None:
    for headers in (MAYA, GIL, SUE):
        ticket_id = await inbox.handover("billing")
        status, answer = await inbox.call(
            method, f"/api/tickets/{ticket_id}{suffix}", headers, body
        )
        assert status in (200, 201), (headers, answer)


async def test_the_queue_and_the_supervisor_agree_with_the_rule(inbox: Inbox) -> None:
    billing = await inbox.handover("billing")
    tech = await inbox.handover("tech")

    seen = {}
    for name, headers in (("tom", TOM), ("gil", GIL), ("sue", SUE)):
        _, queue = await inbox.call("GET", "/api/queue", headers)
        seen[name] = [ticket["id"] for ticket in queue["tickets"]]
    _, me = await inbox.call("GET", "/api/me", SUE)

    assert seen == {"tom": [tech], "gil": [billing], "sue": [billing, tech]}
    assert me["agent"]["role"] == "supervisor"


@pytest.mark.parametrize(
    "suffix, body",
    [
        pytest.param("/claim", None, id="claim"),
        pytest.param("/reply", {"text": "I'll take this one"}, id="reply"),
        pytest.param("/resolve", {"outcome": "escalation_needed"}, id="resolve"),
        pytest.param("/transfer", {"team": "tech"}, id="transfer"),
    ],
)
async def test_a_colleagues_unaccepted_ticket_stays_theirs(
    inbox: Inbox, suffix: str, body: Any
) -> None:
    await inbox.go_online(MAYA)
    ticket_id = await inbox.handover("billing")
    assert (await inbox.ticket(ticket_id))["agent_id"] == "maya"

    status, answer = await inbox.call(
        "POST", f"/api/tickets/{ticket_id}{suffix}", LEA, body
    )

    assert status == 409, answer
    assert "assigned by agent 'maya'" in answer["error"]
    after = await inbox.ticket(ticket_id)
    assert (after["status"], after["agent_id"]) == ("assigned", "maya")


async def test_a_supervisor_takes_over_a_colleagues_unaccepted_ticket(
    inbox: Inbox,
) -> None:
    await inbox.go_online(MAYA)
    ticket_id = await inbox.handover("billing")

    status, answer = await inbox.call("POST", f"/api/tickets/{ticket_id}/claim", SUE)

    assert status == 200, answer
    assert (answer["ticket"]["status"], answer["ticket"]["agent_id"]) == (
        "active",
        "sue",
    )


async def test_the_team_condition_is_inside_the_update(store: InboxStore) -> None:
    """A ticket transferred away after the check is refused by the write itself."""
    ticket, _ = await store.create_ticket("conv-1", 1, {}, team="billing")
    await store.transfer(ticket.id, "tech")
    checked_as_billing = TicketScope(agent_id="maya", teams=("billing",))

    for operation in (
        lambda: store.claim(ticket.id, "maya", checked_as_billing),
        lambda: store.resolve(
            ticket.id, "maya", "escalation_needed", None, checked_as_billing
        ),
        lambda: store.transfer(ticket.id, "general", "maya", checked_as_billing),
    ):
        with pytest.raises(NotFoundError):
            await operation()

    after = await store.require_ticket(ticket.id)
    assert (after.status, after.team, after.agent_id) == ("waiting", "tech", None)


async def test_a_supervisor_gets_the_report_and_an_agent_a_404(inbox: Inbox) -> None:
    """The agent page's "Handover report" link (supervisors only) reads this."""
    await inbox.handover("billing")
    await inbox.handover("tech")

    status, answer = await inbox.call("GET", "/api/report", SUE)
    agent_status, agent_answer = await inbox.call("GET", "/api/report", GIL)
    _, me = await inbox.call("GET", "/api/me", GIL)

    assert status == 200
    assert answer["report"]["handovers"] == 2
    assert answer["html"].startswith("<!DOCTYPE html>") or "<html" in answer["html"]
    assert "data:image/png;base64," in answer["html"]
    assert agent_status == 404 and "report" not in agent_answer
    assert me["agent"]["role"] == "agent"
