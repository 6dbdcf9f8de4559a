"""What several Rasa replicas share through Redis, on the real Redis server.

Each replica is one `RedisMailbox` / `RedisAppliedEvents` with a Redis client
of its own, as two `rasa run` processes would have: a message posted by one is
read by a long poll waiting on the other, an inbox event delivered to both is
applied by one, an event applied by one is told with the templates the other
received. Configuration errors stop start-up, saying what to fix.
"""

import asyncio
import functools
import json
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List, Tuple

import pytest
from rasa.core.channels.channel import CollectingOutputChannel

from rasa_handover.channels.customer_output import CustomerOutput
from rasa_handover.channels.handover_input import HandoverInput
from rasa_handover.channels.inbox_events import (
    APPLIED,
    APPLIED_RETENTION_SECONDS,
    APPLYING,
    CLAIMED,
    InboxEventsEndpoint,
)
from rasa_handover.channels.mailbox import (
    Mailbox,
    MailboxBusyError,
    MailboxUnavailableError,
)
from rasa_handover.channels.redis_state import (
    RedisAppliedEvents,
    RedisMailbox,
    RedisRelayMemory,
    check_reachable,
    connect,
)
from rasa_handover.channels.relay import HandoverRelay
from rasa_handover.inbox.signing import SigningKeys, Verifier
from tests.e2e.servers import free_port
from tests.redis_server import (
    REDIS_SKIP_REASON,
    delete_keys,
    fresh_prefix,
    redis_url,
    requires_redis,
)
from tests.signed import inbox_headers
from tests.test_channel_inbox import (
    INBOX_YML,
    handover_message,
    make_channel,
    maya,
    texts,
)

SECRET = "replica-shared-secret-0123456789abcdef"
CUSTOMER_SECRET = "replica-customer-secret-0123456789abcdef"


@pytest.fixture
async def replicas() -> AsyncIterator[Tuple[Any, Any, str]]:
    """Two Redis clients (two replicas) and the test's key prefix."""
    url = redis_url()
    if url is None:
        pytest.skip(REDIS_SKIP_REASON)
    prefix = fresh_prefix()
    first, second = connect(url), connect(url)
    yield first, second, prefix
    await first.close()
    await second.close()
    delete_keys(url, prefix)


# --- The mailbox. ------------------------------------------------------------------


@requires_redis
async def test_a_long_poll_on_one_replica_gets_what_another_posted(
    replicas: Tuple[Any, Any, str],
) -> None:
    first, second, prefix = replicas
    posting, polling = RedisMailbox(first, prefix), RedisMailbox(second, prefix)
    waiter = asyncio.ensure_future(polling.wait("dana", after=0, timeout=10))
    await asyncio.sleep(0.2)
    assert polling.waiting_count == 1
    message_id = await posting.post("dana", {"text": "Hi, I'm Maya"})
    messages = await asyncio.wait_for(waiter, 5)
    assert messages == [{"text": "Hi, I'm Maya", "id": message_id}]
    assert polling.waiting_count == 0
    assert await polling.wait("dana", after=message_id, timeout=0) == []


@requires_redis
async def test_ids_increase_and_each_reader_gets_only_what_is_newer(
    replicas: Tuple[Any, Any, str],
) -> None:
    first, second, prefix = replicas
    a, b = RedisMailbox(first, prefix), RedisMailbox(second, prefix)
    ids = [await (a if i % 2 else b).post("dana", {"text": str(i)}) for i in range(6)]
    assert ids == sorted(ids) and len(set(ids)) == 6
    assert [m["text"] for m in await b.since("dana", ids[2])] == ["3", "4", "5"]
    assert await a.wait("nobody", after=0, timeout=0.05) == []


@requires_redis
async def test_the_mailbox_stays_bounded_as_the_in_memory_one(
    replicas: Tuple[Any, Any, str],
) -> None:
    first, _, prefix = replicas
    mailbox = RedisMailbox(first, prefix, size=2, max_conversations=2)
    first_id = await mailbox.post("a", {"text": "1"})
    await mailbox.post("b", {"text": "2"})
    await mailbox.post("a", {"text": "3"})
    await mailbox.post("c", {"text": "4"})  # drops b, written least recently
    assert await mailbox.since("b", 0) == []
    assert [m["text"] for m in await mailbox.since("a", first_id)] == ["3"]
    await mailbox.post("a", {"text": "5"})
    await mailbox.post("a", {"text": "6"})
    assert [m["text"] for m in await mailbox.since("a", 0)] == ["5", "6"]
    again = await mailbox.post("b", {"text": "7"})
    assert again > first_id  # a re-created conversation never reuses an id


@requires_redis
async def test_too_many_waiting_polls_are_refused(
    replicas: Tuple[Any, Any, str],
) -> None:
    first, _, prefix = replicas
    mailbox = RedisMailbox(first, prefix, max_waiting=1)
    waiter = asyncio.ensure_future(mailbox.wait("a", after=0, timeout=5))
    await asyncio.sleep(0.2)
    with pytest.raises(MailboxBusyError, match="retry"):
        await mailbox.wait("b", after=0, timeout=5)
    await mailbox.post("a", {"text": "done"})
    assert len(await asyncio.wait_for(waiter, 5)) == 1


async def test_an_unreachable_redis_is_a_clear_retryable_error() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nobody listens there
    client = connect(url)
    try:
        with pytest.raises(MailboxUnavailableError, match="retry"):
            await RedisMailbox(client).wait("dana", after=0, timeout=1)
        with pytest.raises(RuntimeError, match=r"does not answer.*redis_url"):
            await check_reachable(client, url)
    finally:
        await client.close()


# --- Applied inbox events. ---------------------------------------------------------


@requires_redis
async def test_an_event_is_claimed_by_one_replica_and_remembered(
    replicas: Tuple[Any, Any, str],
) -> None:
    first, second, prefix = replicas
    a, b = RedisAppliedEvents(first, prefix), RedisAppliedEvents(second, prefix)
    assert await a.claim(7) == CLAIMED
    assert await b.claim(7) == APPLYING
    await a.release(7)  # applying it failed: the next delivery may
    assert await b.claim(7) == CLAIMED
    await b.done(7)
    assert await a.claim(7) == APPLIED
    ttl = await first.ttl(f"{prefix}applied-event:7")
    assert 0 < ttl <= APPLIED_RETENTION_SECONDS


@requires_redis
async def test_an_event_delivered_to_two_replicas_at_once_is_applied_once(
    replicas: Tuple[Any, Any, str],
) -> None:
    first, second, prefix = replicas
    keys = SigningKeys.from_settings(SECRET)
    assert keys is not None
    applied: List[Dict[str, Any]] = []

    async def apply(event: Dict[str, Any], ticket: Dict[str, Any]) -> None:
        await asyncio.sleep(0.1)  # long enough for the other delivery to arrive
        applied.append(event)

    endpoints = [
        InboxEventsEndpoint(
            Verifier(keys.inbox_to_channel), RedisAppliedEvents(client, prefix), apply
        )
        for client in (first, second)
    ]
    target = "/webhooks/handover/events"
    body = json.dumps(
        {
            "event": {"id": 41, "type": "message", "data": {"text": "Hi"}},
            "ticket": {"id": 3, "conversation_id": "dana"},
        }
    ).encode()
    answers = await asyncio.gather(
        *(
            endpoint.handle(
                "POST", target, body, inbox_headers("POST", target, body, SECRET)
            )
            for endpoint in endpoints
        )
    )
    assert len(applied) == 1
    assert sorted(status for status, _ in answers) == [200, 503]  # 503: retry
    again = await endpoints[1].handle(
        "POST", target, body, inbox_headers("POST", target, body, SECRET)
    )
    assert again == (200, {"status": "duplicate", "event_id": 41})


# --- Configuration. ----------------------------------------------------------------


@pytest.mark.parametrize(
    "credentials, message",
    [
        pytest.param(
            {"redis_url": "redis://redis:6379/0"},
            "without `customer_secret`.*the same on every replica",
            id="no-customer-secret",
        ),
        pytest.param(
            {"redis_url": "http://redis:6379", "customer_secret": CUSTOMER_SECRET},
            "`redis_url` must be a Redis URL",
            id="not-a-redis-url",
        ),
        pytest.param(
            {"redis_url": 6379, "customer_secret": CUSTOMER_SECRET},
            "`redis_url` must be a Redis URL",
            id="a-port-only",
        ),
        pytest.param(
            {
                "redis_url": "redis://redis:6379/0",
                "customer_secret": CUSTOMER_SECRET,
                "redis_prefix": "",
            },
            "`redis_prefix` must be a non-empty string",
            id="empty-prefix",
        ),
    ],
)
def test_a_replica_configuration_missing_something_stops_start_up(
    credentials: Dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        HandoverInput.from_credentials(credentials)


def test_without_redis_url_one_process_keeps_its_state_in_memory() -> None:
    channel = HandoverInput.from_credentials({})
    assert channel.redis_url is None
    assert type(channel.mailbox).__name__ == "Mailbox"


# --- The relay's per-conversation state. -------------------------------------------


@requires_redis
async def test_the_replica_applying_an_event_says_what_the_requesting_one_would(
    replicas: Tuple[Any, Any, str], tmp_path: Path
) -> None:
    """Replica A takes the handover request (nobody online: queued); replica B
    applies the `assigned` event: B announces the agent with A's templates,
    and A, given the same news again, does not repeat it."""
    first, second, prefix = replicas
    async for channel in make_channel(tmp_path, INBOX_YML):
        channel.relay.shared = RedisRelayMemory(first, prefix)
        await channel.relay.handle_plugin_message(
            "c1", handover_message(), CollectingOutputChannel()
        )
        other_mailbox = Mailbox()
        other = HandoverRelay(
            "handover",
            functools.partial(CustomerOutput, None, "bot_uttered", other_mailbox),
            _always_handed_over,
            "help@example.com",
        )
        other.shared = RedisRelayMemory(second, prefix)
        assigned = {"id": 9, "type": "assigned", "data": {"agent_name": "Maya"}}
        ticket = {"conversation_id": "c1", "status": "assigned", "agent_name": "Maya"}
        await other.on_inbox_event(assigned, ticket)
        assert texts(other_mailbox.since("c1", 0)) == ["Connecting you with Maya."]
        told = len(channel.mailbox.since("c1", 0))
        await channel.relay.on_inbox_event({**assigned, "id": 10}, ticket)
        assert channel.mailbox.since("c1", 0)[told:] == []


@requires_redis
async def test_events_applied_while_the_request_is_in_flight_keep_its_templates(
    replicas: Tuple[Any, Any, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While replica A waits for the inbox's answer to a handover request, the
    ticket's events reach replica B (which knows no templates yet and shares
    that) and then A itself. A still acknowledges the customer: the shared
    state adds to A's templates, it does not wipe them (the customer of a
    CI run heard nothing)."""
    first, second, prefix = replicas
    async for channel in make_channel(tmp_path, INBOX_YML):
        await channel.service.set_availability(await maya(channel), True)
        channel.relay.shared = RedisRelayMemory(first, prefix)
        other = HandoverRelay(
            "handover",
            functools.partial(CustomerOutput, None, "bot_uttered", Mailbox()),
            _always_handed_over,
            "help@example.com",
        )
        other.shared = RedisRelayMemory(second, prefix)
        created = {"id": 1, "type": "created", "data": {}}
        ticket = {"conversation_id": "c1", "status": "waiting"}
        events_arrive_meanwhile = _after_deliveries(
            channel.relay.client.request_handover,
            (other, created, ticket),
            (channel.relay, {**created, "id": 2}, ticket),
        )
        monkeypatch.setattr(
            channel.relay.client, "request_handover", events_arrive_meanwhile
        )
        customer = CollectingOutputChannel()
        await channel.relay.handle_plugin_message("c1", handover_message(), customer)

        assert texts(customer.messages) == ["Connecting you with Maya."]


def _after_deliveries(
    request: Callable[..., Awaitable[Any]], *deliveries: Tuple[Any, dict, dict]
) -> Callable[..., Awaitable[Any]]:
    """`request`, once each `(relay, event, ticket)` has been delivered."""

    async def delivered_first(*args: Any, **kwargs: Any) -> Any:
        for relay, event, ticket in deliveries:
            await relay.on_inbox_event(event, ticket)
        return await request(*args, **kwargs)

    return delivered_first


async def _always_handed_over(conversation_id: str) -> bool:
    return True
