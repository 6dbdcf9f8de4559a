"""Idle tickets expire (SQLite and PostgreSQL, a fake clock).

A waiting or assigned ticket with no message, assignment or pickup for the idle
time ends as `expired`; its event is published (the channel tells the customer,
tests/test_channel_inbox.py) and the agent it was assigned to gets the
capacity back. Active tickets, tickets with a recent message and messages left
for a reply by e-mail stay.
"""

from datetime import timedelta
from typing import Any, List, Tuple

from rasa_handover.inbox.config import InboxConfig
from rasa_handover.inbox.contract import SENDER_CUSTOMER
from rasa_handover.inbox.email_delivery import EmailSettings
from rasa_handover.inbox.models import LifecycleEvent, Ticket
from rasa_handover.inbox.service import InboxService
from rasa_handover.inbox.store import InboxStore
from tests.inbox.conftest import FakeClock

IDLE = timedelta(minutes=30)
PAYLOAD = {"trigger": {"reason": "explicit_request", "team": "billing"}}


async def service_with_maya(store: InboxStore, capacity: int = 1) -> InboxService:
    service = InboxService(store, expire_idle_after=IDLE)
    await service.start(
        [
            {
                "agent_id": "maya",
                "name": "Maya",
                "token": "token-maya",
                "teams": ["billing"],
                "capacity": capacity,
            }
        ]
    )
    return service


async def test_idle_waiting_and_assigned_tickets_expire_and_free_the_agent(
    store: InboxStore, clock: FakeClock
) -> None:
    service = await service_with_maya(store)
    heard: List[Tuple[str, int]] = []

    async def listener(event: LifecycleEvent, ticket: Ticket) -> Any:
        heard.append((event.type, ticket.id))

    service.subscribe(listener)
    maya = await store.get_agent("maya")
    assert maya is not None
    await service.set_availability(maya, True)
    assigned = await service.request_handover("conv-a", 1, PAYLOAD)
    waiting = await service.request_handover("conv-b", 1, PAYLOAD)
    assert (assigned.status, waiting.status) == ("assigned", "waiting")

    clock.advance(IDLE.total_seconds() - 1)
    assert await service.expire_idle() == []
    clock.advance(2)
    later = await service.request_handover("conv-c", 1, PAYLOAD)
    expired = await service.expire_idle()

    assert sorted(t.id for t in expired) == [assigned.ticket_id, waiting.ticket_id]
    assert ("expired", assigned.ticket_id) in heard
    assert ("expired", waiting.ticket_id) in heard
    events = await store.events(ticket_id=waiting.ticket_id)
    assert events[-1].data == {"reason": "idle", "idle_seconds": 1800}
    # Maya's capacity is free again: the next round gives her the new ticket.
    await service.housekeeping()
    current = await store.require_ticket(later.ticket_id)
    assert (current.status, current.agent_id) == ("assigned", "maya")


async def test_active_tickets_and_recent_messages_keep_a_ticket_open(
    store: InboxStore, clock: FakeClock
) -> None:
    service = await service_with_maya(store, capacity=2)
    maya = await store.get_agent("maya")
    assert maya is not None
    talking = await service.request_handover("conv-a", 1, PAYLOAD)
    writing = await service.request_handover("conv-b", 1, PAYLOAD)
    await service.claim(talking.ticket_id, maya)

    clock.advance(IDLE.total_seconds() - 60)
    await store.add_message(writing.ticket_id, SENDER_CUSTOMER, "still there?")
    clock.advance(120)

    assert await service.expire_idle() == []
    statuses = [
        (await store.require_ticket(t.ticket_id)).status for t in (talking, writing)
    ]
    assert statuses == ["active", "waiting"]


def test_the_idle_time_is_a_setting() -> None:
    assert InboxConfig().expire_idle_after == timedelta(minutes=60)
    assert InboxConfig.from_dict({"expire_idle_minutes": 0}).expire_idle_after is None
    assert InboxConfig.from_dict(
        {"expire_idle_minutes": 15}
    ).expire_idle_after == timedelta(minutes=15)


async def test_a_message_left_for_an_email_reply_does_not_expire(
    store: InboxStore, clock: FakeClock
) -> None:
    """The customer was promised a reply by e-mail: their ticket waits for it."""
    email = EmailSettings.from_dict(
        {"host": "127.0.0.1", "port": 2525, "from": "support@streamly.example"}
    )
    service = InboxService(store, expire_idle_after=IDLE, email=email)
    await service.start([])  # Nobody works here: both tickets stay waiting.
    left = await service.leave_message(
        "conv-left", "dana@example.com", "Please resend invoice 1182", PAYLOAD
    )
    plain = await service.request_handover("conv-plain", 1, PAYLOAD)

    clock.advance(IDLE.total_seconds() * 10)
    expired = await service.expire_idle()

    assert [t.id for t in expired] == [plain.ticket_id]
    kept = await store.require_ticket(left.ticket_id)
    assert kept.status == "waiting"
    assert kept.callback is not None and kept.callback["kind"] == "email"
