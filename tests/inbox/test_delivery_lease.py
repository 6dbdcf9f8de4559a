"""The lease on a channel's cursor: one replica delivers a channel's events.

Store level, on SQLite and PostgreSQL, with a fake clock; two replicas' real
notifiers against a real webhook are in tests/e2e/test_inbox_replicas.py.
"""

import asyncio
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Optional

import pytest
import sqlalchemy as sa

from rasa_handover.inbox.api import create_app
from rasa_handover.inbox.config import InboxConfig
from rasa_handover.inbox.store import InboxStore
from rasa_handover.inbox.store.schema import channel_cursors_table
from tests.inbox.conftest import FakeClock, running

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


async def lease_end(store: InboxStore, channel: str) -> Optional[datetime]:
    """When the channel's lease runs out (None: nobody holds it)."""
    table = channel_cursors_table
    async with store.engine.connect() as conn:
        until = (
            await conn.execute(
                sa.select(table.c.lease_until).where(table.c.channel_url == channel)
            )
        ).scalar()
    if until is None:
        return None
    return until if until.tzinfo else until.replace(tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "settings, seconds",
    [
        pytest.param({}, 20.0, id="default"),
        pytest.param({"delivery_lease_seconds": 45}, 45.0, id="inbox-yml"),
    ],
)
async def test_the_standalone_inbox_leases_for_delivery_lease_seconds(
    tmp_path: Path, settings: Dict[str, Any], seconds: float
) -> None:
    """The running app's notifier takes the lease for the configured time."""
    config = InboxConfig.from_dict({"shared_secret": "secret", **settings})
    app = create_app(
        f"sqlite:///{tmp_path / 'inbox.db'}",
        config,
        name=f"lease_{uuid.uuid4().hex[:10]}",
    )
    async with running(app):
        store = app.ctx.inbox_service.store
        before = datetime.now(timezone.utc)
        await store.ensure_channel(CHANNEL)
        app.ctx.inbox_service.changed_elsewhere()  # Wakes the notifier.
        until = None
        for _ in range(100):
            until = await lease_end(store, CHANNEL)
            if until is not None:
                break
            await asyncio.sleep(0.05)
        after = datetime.now(timezone.utc)

    assert until is not None, "the notifier took no lease"
    # Taken some time between `before` and `after` (a busy machine delays the
    # notifier's wake-up), for `seconds` from then.
    assert (until - before).total_seconds() >= seconds - 1
    assert (until - after).total_seconds() <= seconds + 1
