"""InboxService: what the channel and the agents experience."""

import asyncio
from datetime import datetime, time, timedelta, timezone
from typing import Any, Dict, List, Tuple

import pytest

from rasa_handover.inbox.contract import (
    EVENT_ACCEPTED,
    EVENT_ASSIGNED,
    EVENT_MESSAGE,
    EVENT_QUEUED,
    EVENT_RESOLVED,
    EVENT_TRANSFERRED,
)
from rasa_handover.inbox.errors import ConflictError, ValidationError
from rasa_handover.inbox.models import (
    OUTCOME_NOT_NEEDED,
    STATUS_ACTIVE,
    STATUS_ASSIGNED,
    STATUS_CALLBACK,
    STATUS_WAITING,
    Agent,
    LifecycleEvent,
    Ticket,
)
from rasa_handover.inbox.router import BusinessHours
from rasa_handover.inbox.service import HandoverRequestFields, InboxService
from rasa_handover.inbox.store import InboxStore
from tests.inbox.conftest import FakeClock

Received = List[Tuple[LifecycleEvent, Ticket]]

PAYLOAD: Dict[str, Any] = {
    "trigger": {"reason": "explicit_request", "team": "billing"},
    "language": "en",
    "channel": "socketio",
    "customer_name": "Dana",
    "account": {"high_value": False},
}


async def seed(
    store: InboxStore, online: bool = True, **agents: Dict[str, Any]
) -> None:
    for agent_id, profile in agents.items():
        await store.upsert_agent(
            agent_id, agent_id.capitalize(), f"token-{agent_id}", **profile
        )
        await store.set_availability(agent_id, online)


def listen(service: InboxService) -> Received:
    received: Received = []

    async def on_event(event: LifecycleEvent, ticket: Ticket) -> None:
        received.append((event, ticket))

    service.subscribe(on_event)
    return received


async def agent(store: InboxStore, agent_id: str) -> Agent:
    found = await store.get_agent(agent_id)
    assert found is not None
    return found


async def test_online_agent_is_assigned_and_named(store: InboxStore) -> None:
    await seed(store, maya={"teams": ["billing"]})
    service = InboxService(store)
    received = listen(service)

    view = await service.request_handover("conv-1", 1, PAYLOAD)

    assert view.created and view.status == STATUS_ASSIGNED
    assert (view.agent_name, view.team, view.estimated_wait_seconds) == (
        "Maya",
        "billing",
        0,
    )
    assert view.alternatives == [] and view.no_agent_reason is None
    assert [(e.type, t.id) for e, t in received] == [(EVENT_ASSIGNED, view.ticket_id)]
    assert received[0][0].data["agent_name"] == "Maya"


async def test_retry_returns_the_same_ticket_without_rerouting(
    store: InboxStore,
) -> None:
    await seed(store, maya={"teams": ["billing"]})
    service = InboxService(store)
    received = listen(service)

    first = await service.request_handover("conv-1", 1, PAYLOAD)
    retry = await service.request_handover("conv-1", 1, PAYLOAD)

    assert (retry.ticket_id, retry.created, retry.agent_name) == (
        first.ticket_id,
        False,
        "Maya",
    )
    assert len(received) == 1  # The customer is not told twice.


async def test_concurrent_requests_for_one_attempt_share_one_ticket(
    store: InboxStore,
) -> None:
    await seed(store, maya={"teams": ["billing"]})
    service = InboxService(store)
    received = listen(service)

    views = await asyncio.gather(
        *(service.request_handover("conv-1", 1, PAYLOAD) for _ in range(10))
    )

    assert len({view.ticket_id for view in views}) == 1
    assert sum(view.created for view in views) == 1
    assert {view.agent_name for view in views if view.created} == {"Maya"}
    tickets = await store.tickets_for_conversation("conv-1")
    assert [ticket.agent_id for ticket in tickets] == ["maya"]
    assert [event.type for event, _ in received] == [EVENT_ASSIGNED]


async def test_nobody_online_is_said_honestly_with_alternatives(
    sqlite_store: InboxStore,
) -> None:
    await seed(sqlite_store, online=False, maya={"teams": ["billing"]})
    service = InboxService(sqlite_store)

    view = await service.request_handover("conv-1", 1, PAYLOAD)

    assert view.status == STATUS_WAITING and view.agent_name is None
    assert view.no_agent_reason == "nobody_online"
    # No e-mail settings: no reply by e-mail is offered (nothing would send it).
    assert view.alternatives == ["callback"]
    assert (view.queue_position, view.estimated_wait_seconds, view.wait_text) == (
        1,
        120,
        "about 2 minutes",
    )
    assert view.wait_basis == "cold_start"


async def test_all_busy_queues_with_observed_wait(
    sqlite_store: InboxStore, clock: FakeClock
) -> None:
    await seed(sqlite_store, maya={"teams": ["billing"], "capacity": 1})
    service = InboxService(sqlite_store)
    maya = await agent(sqlite_store, "maya")
    first = await service.request_handover("conv-1", 1, PAYLOAD)
    clock.advance(45)
    await service.claim(first.ticket_id, maya)  # Observed pickup: 45 s.

    second = await service.request_handover("conv-2", 1, PAYLOAD)
    third = await service.request_handover("conv-3", 1, PAYLOAD)

    assert second.no_agent_reason == "all_busy"
    assert (second.queue_position, third.queue_position) == (1, 2)
    assert (second.estimated_wait_seconds, third.estimated_wait_seconds) == (45, 90)
    assert third.wait_basis == "observed"


async def test_outside_hours_tells_when_the_inbox_opens(
    sqlite_store: InboxStore, clock: FakeClock
) -> None:
    await seed(sqlite_store, maya={"teams": ["billing"]})
    hours = BusinessHours(weekly={day: (time(9), time(17)) for day in range(5)})
    clock.now = datetime(2024, 5, 17, 18, 0, tzinfo=timezone.utc)  # Friday evening
    service = InboxService(sqlite_store, hours=hours)

    view = await service.request_handover("conv-1", 1, PAYLOAD)
    second = await service.request_handover("conv-2", 1, PAYLOAD)

    assert second.no_agent_reason == "outside_hours" and second.queue_position == 2
    assert view.status == STATUS_WAITING and view.no_agent_reason == "outside_hours"
    assert view.opens_at == "2024-05-20T09:00:00+00:00"
    assert (
        view.estimated_wait_seconds
        == int(timedelta(days=2, hours=15).total_seconds()) + 120
    )
    assert view.wait_text == "about 63 hours"
    assert "callback" in view.alternatives


async def test_high_value_customer_gets_the_senior_agent(
    sqlite_store: InboxStore,
) -> None:
    await seed(
        sqlite_store,
        amy={"teams": ["billing"]},
        sara={"teams": ["billing"], "tier": "senior"},
    )
    service = InboxService(sqlite_store)

    view = await service.request_handover(
        "conv-1", 1, {**PAYLOAD, "account": {"high_value": True}}
    )

    assert view.agent_name == "Sara"


async def test_a_team_nobody_works_keeps_its_team_and_general_sees_it(
    sqlite_store: InboxStore,
) -> None:
    await seed(sqlite_store, online=False, gus={"teams": ["general"]})
    service = InboxService(sqlite_store)

    view = await service.request_handover(
        "conv-1", 1, {"trigger": {"team": "compliance"}}
    )

    assert view.team == "compliance"
    assert any("compliance" in note for note in view.notes)
    tickets, _ = await service.queue_for(await agent(sqlite_store, "gus"))
    assert [ticket.id for ticket in tickets] == [view.ticket_id]


async def test_continuity_brings_the_customer_back_to_the_same_agent(
    sqlite_store: InboxStore, clock: FakeClock
) -> None:
    await seed(
        sqlite_store,
        amy={"teams": ["billing"], "capacity": 2},
        zed={"teams": ["billing"], "capacity": 10},
    )
    service = InboxService(sqlite_store)
    first = await service.request_handover("conv-1", 1, PAYLOAD)
    assert first.agent_name == "Amy"  # Equally idle: ties go by name.
    amy = await agent(sqlite_store, "amy")
    await service.agent_reply(first.ticket_id, amy, "Hi Dana!")
    await service.resolve(first.ticket_id, amy, OUTCOME_NOT_NEEDED)
    busy = await service.request_handover("conv-busy", 1, PAYLOAD)
    stranger = await service.request_handover("conv-new", 1, PAYLOAD)
    assert (busy.agent_name, stranger.agent_name) == ("Amy", "Zed")
    clock.advance(600)

    again = await service.request_handover("conv-1", 2, PAYLOAD)

    # ...and Zed is less loaded, yet Dana gets Amy back.
    assert again.agent_name == "Amy"


async def test_customer_messages_reach_the_ticket_but_not_subscribers(
    sqlite_store: InboxStore,
) -> None:
    service = InboxService(sqlite_store)
    received = listen(service)
    view = await service.request_handover("conv-1", 1, PAYLOAD)

    relayed = await service.relay_customer_message("conv-1", "Are you there?")
    not_relayed = await service.relay_customer_message("conv-unknown", "hello")

    assert (relayed, not_relayed) == (True, False)
    _, messages, _ = await service.ticket_details(view.ticket_id)
    assert [(m.sender, m.text) for m in messages] == [("customer", "Are you there?")]
    assert received == []


async def test_agent_reply_accepts_and_is_pushed_to_the_channel(
    sqlite_store: InboxStore,
) -> None:
    await seed(sqlite_store, online=False, maya={"teams": ["billing"]})
    service = InboxService(sqlite_store)
    received = listen(service)
    view = await service.request_handover("conv-1", 1, PAYLOAD)
    maya = await agent(sqlite_store, "maya")

    message = await service.agent_reply(view.ticket_id, maya, "Hi Dana, I'm Maya.")

    assert message.agent_name == "Maya"
    assert [e.type for e, _ in received] == [EVENT_ACCEPTED, EVENT_MESSAGE]
    event, ticket = received[-1]
    assert event.data["text"] == "Hi Dana, I'm Maya." and ticket.status == STATUS_ACTIVE
    with pytest.raises(ValidationError):
        await service.agent_reply(view.ticket_id, maya, "   ")


async def test_resolve_is_pushed_and_frees_the_agent_for_the_queue(
    sqlite_store: InboxStore,
) -> None:
    await seed(sqlite_store, maya={"teams": ["billing"], "capacity": 1})
    service = InboxService(sqlite_store)
    received = listen(service)
    first = await service.request_handover("conv-1", 1, PAYLOAD)
    waiting = await service.request_handover("conv-2", 1, PAYLOAD)
    maya = await agent(sqlite_store, "maya")
    await service.claim(first.ticket_id, maya)

    await service.resolve(first.ticket_id, maya, OUTCOME_NOT_NEEDED, "bot had it")

    resolved = [(e, t) for e, t in received if e.type == EVENT_RESOLVED]
    assert resolved[0][0].data["outcome"] == OUTCOME_NOT_NEEDED
    assert resolved[0][1].conversation_id == "conv-1"
    after = await sqlite_store.require_ticket(waiting.ticket_id)
    assert (after.status, after.agent_id) == (STATUS_ASSIGNED, "maya")
    assert received[-1][0].type == EVENT_ASSIGNED


async def test_going_offline_returns_unaccepted_tickets_and_tells_the_customer(
    sqlite_store: InboxStore,
) -> None:
    await seed(sqlite_store, maya={"teams": ["billing"]})
    service = InboxService(sqlite_store)
    received = listen(service)
    view = await service.request_handover("conv-1", 1, PAYLOAD)
    maya = await agent(sqlite_store, "maya")

    await service.set_availability(maya, False)

    ticket = await sqlite_store.require_ticket(view.ticket_id)
    assert (ticket.status, ticket.agent_id) == (STATUS_WAITING, None)
    queued = received[-1][0]
    assert queued.type == EVENT_QUEUED and queued.data["reason"] == "agent_offline"
    assert queued.data["wait_text"] == "about 2 minutes"


async def test_coming_online_picks_up_waiting_tickets(
    sqlite_store: InboxStore,
) -> None:
    await seed(sqlite_store, online=False, maya={"teams": ["billing"]})
    service = InboxService(sqlite_store)
    view = await service.request_handover("conv-1", 1, PAYLOAD)
    maya = await agent(sqlite_store, "maya")

    updated = await service.set_availability(maya, True)

    assert updated.online and updated.active_tickets == 1
    ticket = await sqlite_store.require_ticket(view.ticket_id)
    assert (ticket.status, ticket.agent_id) == (STATUS_ASSIGNED, "maya")


async def test_transfer_routes_to_the_new_team_not_back(
    sqlite_store: InboxStore,
) -> None:
    await seed(
        sqlite_store,
        maya={"teams": ["billing", "tech"]},
        tom={"teams": ["tech"], "capacity": 3},
    )
    service = InboxService(sqlite_store)
    received = listen(service)
    view = await service.request_handover("conv-1", 1, PAYLOAD)
    maya = await agent(sqlite_store, "maya")
    await service.agent_reply(view.ticket_id, maya, "Let me get tech.")

    routed = await service.transfer(view.ticket_id, "tech", maya)

    assert (routed.team, routed.agent_name) == ("tech", "Tom")
    types = [e.type for e, _ in received]
    assert types[-2:] == [EVENT_TRANSFERRED, EVENT_ASSIGNED]
    tom = await agent(sqlite_store, "tom")
    await service.claim(view.ticket_id, tom)
    with pytest.raises(ConflictError):
        await service.transfer(view.ticket_id, "billing", maya)  # Tom has it now.


async def test_callback_replaces_waiting_and_is_idempotent(
    sqlite_store: InboxStore,
) -> None:
    service = InboxService(sqlite_store)
    waiting = await service.request_handover("conv-1", 1, PAYLOAD)

    callback = await service.schedule_callback(
        "conv-1", "tomorrow 10am", "+49 30 1234", PAYLOAD
    )
    retry = await service.schedule_callback(
        "conv-1", "tomorrow 10am", "+49 30 1234", PAYLOAD
    )

    assert callback.ticket_id == waiting.ticket_id and callback.created
    assert callback.status == STATUS_CALLBACK
    assert (retry.ticket_id, retry.created) == (callback.ticket_id, False)
    ticket = await sqlite_store.require_ticket(callback.ticket_id)
    assert ticket.callback is not None and ticket.callback["contact"] == "+49 30 1234"
    assert await service.relay_customer_message("conv-1", "hello?") is False
    with pytest.raises(ValidationError):
        await service.schedule_callback("conv-2", "now", " ", {})


async def test_callback_without_open_ticket_is_a_new_attempt(
    sqlite_store: InboxStore,
) -> None:
    await seed(sqlite_store, maya={"teams": ["billing"]})
    service = InboxService(sqlite_store)

    view = await service.schedule_callback("conv-9", "after 5pm", "dana@x.org", PAYLOAD)

    assert (view.status, view.attempt, view.created) == (STATUS_CALLBACK, 1, True)
    maya = await agent(sqlite_store, "maya")
    (_, callbacks) = await service.queue_for(maya)
    assert [t.id for t in callbacks] == [view.ticket_id]


async def test_grown_wait_is_published_once(
    sqlite_store: InboxStore, clock: FakeClock
) -> None:
    await seed(sqlite_store, maya={"teams": ["billing"], "capacity": 1})
    service = InboxService(sqlite_store)
    received = listen(service)
    maya = await agent(sqlite_store, "maya")
    first = await service.request_handover("conv-1", 1, PAYLOAD)
    clock.advance(10)
    await service.claim(first.ticket_id, maya)  # Fast pickups so far: 10 s.
    waiting = await service.request_handover("conv-2", 1, PAYLOAD)
    assert waiting.estimated_wait_seconds == 10
    # A slow pickup elsewhere in the team drags the average up.
    slow = await service.request_handover("conv-3", 1, PAYLOAD)
    clock.advance(590)
    await sqlite_store.claim(slow.ticket_id, "maya")

    grown = await service.refresh_waits()
    again = await service.refresh_waits()

    assert [v.ticket_id for v in grown] == [waiting.ticket_id]
    assert again == []
    event, ticket = received[-1]
    assert event.type == EVENT_QUEUED and ticket.id == waiting.ticket_id
    assert event.data["estimated_wait_seconds"] == 300
    assert event.data["wait_text"] == "about 5 minutes"


async def test_a_failing_subscriber_does_not_break_the_agent(
    sqlite_store: InboxStore,
) -> None:
    await seed(sqlite_store, maya={"teams": ["billing"]})
    service = InboxService(sqlite_store)

    async def broken(event: LifecycleEvent, ticket: Ticket) -> None:
        raise RuntimeError("channel is down")

    service.subscribe(broken)
    received = listen(service)

    view = await service.request_handover("conv-1", 1, PAYLOAD)

    assert view.agent_name == "Maya"
    assert len(received) == 1


async def test_unsubscribe_stops_events(sqlite_store: InboxStore) -> None:
    await seed(sqlite_store, maya={"teams": ["billing"]})
    service = InboxService(sqlite_store)
    received: Received = []

    async def on_event(event: LifecycleEvent, ticket: Ticket) -> None:
        received.append((event, ticket))

    unsubscribe = service.subscribe(on_event)
    unsubscribe()
    await service.request_handover("conv-1", 1, PAYLOAD)

    assert received == []


@pytest.mark.parametrize(
    "payload, expected",
    [
        pytest.param({}, HandoverRequestFields(), id="empty-defaults"),
        pytest.param(
            {
                "trigger": {"team": "billing", "reason": "frustration"},
                "language": {"code": "de", "confidence": 0.9},
                "account": {"high_value": True, "name": "Dana"},
                "channel": {"name": "rest"},
            },
            HandoverRequestFields(
                team="billing",
                language="de",
                high_value=True,
                channel="rest",
                reason="frustration",
                customer_name="Dana",
            ),
            id="nested-shapes",
        ),
        pytest.param(
            {"team": "tech", "reason": "low_confidence", "tier": "senior"},
            HandoverRequestFields(
                team="tech", reason="low_confidence", high_value=True
            ),
            id="flat-keys",
        ),
        pytest.param(
            {"trigger": "oops", "account": ["x"], "language": 3, "team": ""},
            HandoverRequestFields(),
            id="wrong-types-ignored",
        ),
    ],
)
def test_payload_fields(
    payload: Dict[str, Any], expected: HandoverRequestFields
) -> None:
    assert HandoverRequestFields.from_payload(payload) == expected
