"""The lease on a channel's cursor: one replica delivers a channel's events.

Store level, on SQLite and PostgreSQL, with a fake clock; two replicas' real
notifiers against a real webhook are in tests/e2e/test_inbox_replicas.py.
"""

import asyncio

import pytest

from rasa_handover.inbox.store import InboxStore
from tests.inbox.conftest import FakeClock

CHANNEL = "http://channel.example/webhooks/handover/events"
LEASE = 15.0


@pytest.fixture
async def channel(store: InboxStore) -> str:
    await store.ensure_channel(CHANNEL)
    return CHANNEL


async def test_a_held_lease_is_refused_to_others_and_renewed_by_its_holder(
    store: InboxStore, channel: str, clock: FakeClock
) -> None:
    assert await store.take_channel_lease(channel, "replica-a", LEASE)
    assert not await store.take_channel_lease(channel, "replica-b", LEASE)
    clock.advance(LEASE - 1)
    assert await store.take_channel_lease(channel, "replica-a", LEASE)  # renewed
    clock.advance(LEASE - 1)
    assert not await store.take_channel_lease(channel, "replica-b", LEASE)


async def test_a_lease_not_renewed_passes_to_another_replica(
    store: InboxStore, channel: str, clock: FakeClock
) -> None:
    assert await store.take_channel_lease(channel, "replica-a", LEASE)
    clock.advance(LEASE + 1)  # replica-a died
    assert await store.take_channel_lease(channel, "replica-b", LEASE)
    assert not await store.take_channel_lease(channel, "replica-a", LEASE)


async def test_a_released_lease_is_free_at_once(
    store: InboxStore, channel: str
) -> None:
    assert await store.take_channel_lease(channel, "replica-a", LEASE)
    await store.release_channel_leases("replica-a")
    assert await store.take_channel_lease(channel, "replica-b", LEASE)


async def test_of_replicas_asking_at_once_exactly_one_gets_the_lease(
    store: InboxStore, channel: str
) -> None:
    results = await asyncio.gather(
        *(store.take_channel_lease(channel, f"replica-{n}", LEASE) for n in range(8))
    )
    assert sum(results) == 1


def test_a_lease_shorter_than_a_delivery_request_is_refused(
    sqlite_store: InboxStore,
) -> None:
    from rasa_handover.inbox.notifier import WebhookNotifier
    from rasa_handover.inbox.service import InboxService

    with pytest.raises(ValueError, match="must exceed the request timeout"):
        WebhookNotifier(
            InboxService(sqlite_store), "key", timeout_seconds=10, lease_seconds=10
        )
