"""Presence: an agent is online while their page reports in, and only then."""

from datetime import timedelta
from typing import Any, Dict, Optional

import pytest

from rasa_handover.inbox.contract import (
    EVENT_ASSIGNED,
    EVENT_QUEUED,
    REQUEUE_AGENT_AWAY,
)
from rasa_handover.inbox.models import (
    STATUS_ACTIVE,
    STATUS_ASSIGNED,
    STATUS_WAITING,
    Agent,
)
from rasa_handover.inbox.presence import Presence
from rasa_handover.inbox.service import InboxService
from rasa_handover.inbox.store import InboxStore
from tests.inbox.conftest import START, FakeClock
from tests.inbox.test_service import PAYLOAD, agent, listen, seed

GRACE = timedelta(seconds=45)
BILLING: Dict[str, Any] = PAYLOAD


async def test_a_silent_agent_is_away_after_the_grace_period(
    store: InboxStore, clock: FakeClock
) -> None:
    await seed(store, maya={"teams": ["billing"]})
    service = InboxService(store, presence_grace=GRACE)
    maya = await agent(store, "maya")

    clock.advance(30)
    assert await service.heartbeat(maya)
    clock.advance(40)  # 40 s since the last heartbeat: still within the grace.
    assert await service.expire_absent() == []
    clock.advance(10)

    assert await service.expire_absent() == ["maya"]
    assert not (await agent(store, "maya")).online
    assert await service.expire_absent() == []  # Reported once.


async def test_a_heartbeat_never_brings_an_offline_agent_back(
    store: InboxStore,
) -> None:
    await seed(store, online=False, maya={"teams": ["billing"]})
    service = InboxService(store, presence_grace=GRACE)

    assert not await service.heartbeat(await agent(store, "maya"))
    assert not (await agent(store, "maya")).online


async def test_the_away_agents_unaccepted_ticket_goes_to_a_colleague(
    store: InboxStore, clock: FakeClock
) -> None:
    await seed(store, maya={"teams": ["billing"]})
    service = InboxService(store, presence_grace=GRACE)
    received = listen(service)
    first = await service.request_handover("conv-1", 1, BILLING)
    second = await service.request_handover("conv-2", 1, BILLING)
    maya = await agent(store, "maya")
    await service.claim(second.ticket_id, maya)  # Accepted: stays with Maya.
    await seed(store, jonas={"teams": ["general"]})  # Online from now on.
    clock.advance(50)
    await service.heartbeat(await agent(store, "jonas"))

    assert await service.expire_absent() == ["maya"]

    moved = await store.require_ticket(first.ticket_id)
    assert (moved.status, moved.agent_id, moved.team) == (
        STATUS_ASSIGNED,
        "jonas",
        "billing",
    )
    kept = await store.require_ticket(second.ticket_id)
    assert (kept.status, kept.agent_id) == (STATUS_ACTIVE, "maya")
    # The customer hears about the new agent (not a longer wait).
    assert [event.type for event, _ in received][-1] == EVENT_ASSIGNED
    assert received[-1][0].data["agent_name"] == "Jonas"


async def test_without_a_colleague_the_customer_is_told_nobody_is_there(
    store: InboxStore, clock: FakeClock
) -> None:
    await seed(store, maya={"teams": ["billing"]})
    service = InboxService(store, presence_grace=GRACE)
    received = listen(service)
    view = await service.request_handover("conv-1", 1, BILLING)
    clock.advance(46)

    await service.housekeeping()

    ticket = await store.require_ticket(view.ticket_id)
    assert (ticket.status, ticket.agent_id) == (STATUS_WAITING, None)
    queued = received[-1][0]
    assert queued.type == EVENT_QUEUED
    assert queued.data["reason"] == REQUEUE_AGENT_AWAY
    assert queued.data["no_agent_reason"] == "nobody_online"
    assert queued.data["wait_text"]


async def test_a_silent_agent_gets_no_new_ticket_before_the_sweep(
    store: InboxStore, clock: FakeClock
) -> None:
    await seed(store, maya={"teams": ["billing"]})
    service = InboxService(store, presence_grace=GRACE)
    clock.advance(60)

    view = await service.request_handover("conv-1", 1, BILLING)

    assert (view.status, view.no_agent_reason) == (STATUS_WAITING, "nobody_online")


async def test_online_does_not_survive_a_restart_without_a_page(
    store: InboxStore, clock: FakeClock
) -> None:
    await seed(store, maya={"teams": ["billing"]}, jonas={"teams": ["billing"]})
    clock.advance(120)  # The inbox was down for two minutes; Jonas's page is back.
    await store.touch_agent("jonas")
    restarted = InboxService(store, presence_grace=GRACE)

    await restarted.start()

    assert not (await agent(store, "maya")).online
    assert (await agent(store, "jonas")).online


async def test_presence_off_keeps_agents_online(
    store: InboxStore, clock: FakeClock
) -> None:
    await seed(store, maya={"teams": ["billing"]})
    service = InboxService(store)
    clock.advance(3600)

    assert await service.expire_absent() == []
    view = await service.request_handover("conv-1", 1, BILLING)
    assert view.agent_name == "Maya"


async def test_two_replicas_sweeping_at_once_return_the_ticket_once(
    store: InboxStore, clock: FakeClock
) -> None:
    await seed(store, maya={"teams": ["billing"]})
    first = InboxService(store, presence_grace=GRACE)
    second = InboxService(store, presence_grace=GRACE)
    view = await first.request_handover("conv-1", 1, BILLING)
    clock.advance(46)

    gone = [await first.expire_absent(), await second.expire_absent()]

    assert sorted(map(len, gone)) == [0, 1]
    events = await store.events(ticket_id=view.ticket_id)
    away = [e for e in events if e.data.get("reason") == REQUEUE_AGENT_AWAY]
    assert len(away) == 2  # requeue + the queued event the customer hears


# --- The rules (pure). --------------------------------------------------------------


@pytest.mark.parametrize(
    "grace, heartbeat, check",
    [
        pytest.param(timedelta(seconds=45), 15.0, 5.0, id="default-45s"),
        pytest.param(timedelta(seconds=3), 1.0, 0.75, id="short-in-tests"),
        pytest.param(timedelta(minutes=10), 15.0, 5.0, id="long-is-capped"),
        pytest.param(None, 15.0, 0.0, id="off"),
    ],
)
def test_how_often_pages_report_in_and_absence_is_checked(
    grace: Optional[timedelta], heartbeat: float, check: float
) -> None:
    presence = Presence(grace)

    assert (presence.heartbeat_seconds, presence.check_seconds) == (heartbeat, check)


@pytest.mark.parametrize(
    "online, seen_seconds_ago, grace, present",
    [
        pytest.param(True, 10, GRACE, True, id="heard-from-recently"),
        pytest.param(True, 45, GRACE, True, id="exactly-at-the-grace"),
        pytest.param(True, 46, GRACE, False, id="silent-too-long"),
        pytest.param(True, None, GRACE, False, id="never-heard-from"),
        pytest.param(False, 1, GRACE, False, id="offline-stays-offline"),
        pytest.param(True, 3600, None, True, id="presence-off"),
    ],
)
def test_who_is_present(
    online: bool,
    seen_seconds_ago: Optional[int],
    grace: Optional[timedelta],
    present: bool,
) -> None:
    now = START
    seen = (
        None if seen_seconds_ago is None else now - timedelta(seconds=seen_seconds_ago)
    )
    maya = Agent(id="maya", name="Maya", online=online, last_seen=seen)

    assert Presence(grace).is_present(maya, now) is present
    assert Presence(grace).apply([maya], now)[0].online is present
