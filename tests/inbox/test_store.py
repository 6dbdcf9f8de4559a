"""The store on real SQLite files and (with HANDOVER_TEST_POSTGRES_URL) PostgreSQL."""

import asyncio
from typing import Optional

import pytest
import sqlalchemy as sa

from rasa_handover.inbox.contract import (
    EVENT_ACCEPTED,
    EVENT_ASSIGNED,
    EVENT_MESSAGE,
    EVENT_REQUESTED,
    EVENT_RESOLVED,
    EVENT_TRANSFERRED,
)
from rasa_handover.inbox.errors import ConflictError, NotFoundError, ValidationError
from rasa_handover.inbox.models import (
    OUTCOME_NEEDED,
    STATUS_ACTIVE,
    STATUS_RESOLVED,
    STATUS_WAITING,
    Ticket,
)
from rasa_handover.inbox.store import (
    Change,
    InboxStore,
    agents_table,
    hash_token,
    tickets_table,
    to_async_url,
)
from tests.inbox.conftest import FakeClock

CONCURRENT_CALLS = 20


async def ticket_rows(store: InboxStore, conversation_id: str) -> int:
    async with store.engine.connect() as conn:
        query = sa.select(sa.func.count()).where(
            tickets_table.c.conversation_id == conversation_id
        )
        return int((await conn.execute(query)).scalar() or 0)


async def add_agents(store: InboxStore, *names: str) -> None:
    for name in names:
        await store.upsert_agent(name, name.capitalize(), f"token-{name}")


async def test_same_attempt_twice_gives_one_ticket(store: InboxStore) -> None:
    first, first_created = await store.create_ticket("conv-1", 1, {"summary": "a"})
    again, again_created = await store.create_ticket("conv-1", 1, {"summary": "b"})

    assert (first_created, again_created) == (True, False)
    assert again.id == first.id
    assert again.payload == {"summary": "a"}  # The retry does not overwrite.
    assert await ticket_rows(store, "conv-1") == 1


async def test_next_attempt_is_a_new_ticket(store: InboxStore) -> None:
    first, _ = await store.create_ticket("conv-1", 1, {})
    second, created = await store.create_ticket("conv-1", 2, {})

    assert created and second.id != first.id
    assert await store.next_attempt("conv-1") == 3


async def test_concurrent_retries_create_exactly_one_row(store: InboxStore) -> None:
    results = await asyncio.gather(
        *(
            store.create_ticket("conv-race", 1, {"n": n})
            for n in range(CONCURRENT_CALLS)
        )
    )

    assert await ticket_rows(store, "conv-race") == 1
    assert sum(created for _, created in results) == 1
    assert len({ticket.id for ticket, _ in results}) == 1
    requested = [e for e in await store.events() if e.type == EVENT_REQUESTED]
    assert len(requested) == 1


async def test_concurrent_claims_have_exactly_one_winner(store: InboxStore) -> None:
    names = [f"agent{n}" for n in range(5)]
    await add_agents(store, *names)
    ticket, _ = await store.create_ticket("conv-1", 1, {})

    results = await asyncio.gather(
        *(store.claim(ticket.id, name) for name in names), return_exceptions=True
    )

    winners = [r for r in results if isinstance(r, Change)]
    losers = [r for r in results if not isinstance(r, Change)]
    assert len(winners) == 1
    assert all(isinstance(r, ConflictError) for r in losers)
    stored = await store.require_ticket(ticket.id)
    assert stored.status == STATUS_ACTIVE
    assert stored.agent_id == winners[0].ticket.agent_id


async def test_claim_rules(store: InboxStore) -> None:
    await add_agents(store, "ann", "bob")
    ticket, _ = await store.create_ticket("conv-1", 1, {})
    await store.assign(ticket.id, "ann")

    with pytest.raises(ConflictError, match="assigned by agent 'ann'"):
        await store.claim(ticket.id, "bob")
    accepted = await store.claim(ticket.id, "ann")
    again = await store.claim(ticket.id, "ann")
    with pytest.raises(ConflictError, match="active"):
        await store.claim(ticket.id, "bob")
    with pytest.raises(NotFoundError):
        await store.claim(999_999, "ann")

    assert accepted.event is not None and accepted.event.type == EVENT_ACCEPTED
    assert accepted.event.data["agent_name"] == "Ann"
    assert again.event is None  # Claiming your own ticket again changes nothing.


async def test_every_state_change_appends_an_event(store: InboxStore) -> None:
    await add_agents(store, "ann")
    ticket, _ = await store.create_ticket("conv-1", 1, {}, team="billing")
    await store.assign(ticket.id, "ann")
    await store.claim(ticket.id, "ann")
    await store.add_message(ticket.id, "agent", "Hi Dana, Ann here.", "Ann")
    await store.transfer(ticket.id, "general", "ann")
    await store.claim(ticket.id, "ann")
    resolved = await store.resolve(ticket.id, "ann", OUTCOME_NEEDED, "refund done")

    types = [event.type for event in await store.events(ticket_id=ticket.id)]
    assert types == [
        EVENT_REQUESTED,
        EVENT_ASSIGNED,
        EVENT_ACCEPTED,
        EVENT_MESSAGE,
        EVENT_TRANSFERRED,
        EVENT_ACCEPTED,
        EVENT_RESOLVED,
    ]
    assert resolved.ticket.status == STATUS_RESOLVED
    assert resolved.ticket.outcome == OUTCOME_NEEDED


async def test_events_after_cursor_and_by_team(store: InboxStore) -> None:
    billing, _ = await store.create_ticket("conv-1", 1, {}, team="billing")
    general, _ = await store.create_ticket("conv-2", 1, {}, team="general")
    first = (await store.events())[0]

    after = await store.events(after_id=first.id)
    only_billing = await store.events(teams=["billing"])

    assert [e.ticket_id for e in after] == [general.id]
    assert [e.ticket_id for e in only_billing] == [billing.id]
    assert await store.latest_event_id() == after[-1].id


async def test_resolve_validates_the_outcome_label(store: InboxStore) -> None:
    await add_agents(store, "ann")
    ticket, _ = await store.create_ticket("conv-1", 1, {})

    with pytest.raises(ValidationError) as error:
        await store.resolve(ticket.id, "ann", "great_job")

    assert error.value.field == "outcome"
    assert (await store.require_ticket(ticket.id)).status == STATUS_WAITING


async def test_nobody_resolves_a_colleagues_active_ticket(store: InboxStore) -> None:
    await add_agents(store, "ann", "bob")
    ticket, _ = await store.create_ticket("conv-1", 1, {})
    await store.claim(ticket.id, "ann")

    with pytest.raises(ConflictError):
        await store.resolve(ticket.id, "bob", OUTCOME_NEEDED)
    with pytest.raises(ConflictError):
        await store.transfer(ticket.id, "billing", "bob")


async def test_tokens_are_stored_only_as_hashes(store: InboxStore) -> None:
    agent = await store.upsert_agent(
        "maya", "Maya", "maya-secret-token", teams=["billing"], tier="senior"
    )

    async with store.engine.connect() as conn:
        rows = (await conn.execute(sa.select(agents_table))).all()
    assert all("maya-secret-token" not in str(tuple(row)) for row in rows)
    assert agent.token_hash == hash_token("maya-secret-token")
    found = await store.agent_by_token("maya-secret-token")
    assert found is not None and found.id == "maya"
    assert await store.agent_by_token("wrong") is None
    assert await store.agent_by_token("") is None


async def test_reseeding_an_agent_keeps_availability(store: InboxStore) -> None:
    await store.upsert_agent("maya", "Maya", "t1")
    await store.set_availability("maya", True)

    updated = await store.upsert_agent("maya", "Maya L.", "t2", capacity=5)

    assert updated.online and updated.capacity == 5 and updated.name == "Maya L."
    assert await store.agent_by_token("t1") is None


async def test_two_agents_cannot_share_a_token(store: InboxStore) -> None:
    await store.upsert_agent("maya", "Maya", "same")

    with pytest.raises(ValidationError, match="same token"):
        await store.upsert_agent("tom", "Tom", "same")


async def test_active_tickets_count_towards_load(store: InboxStore) -> None:
    await add_agents(store, "ann")
    first, _ = await store.create_ticket("conv-1", 1, {})
    second, _ = await store.create_ticket("conv-2", 1, {})
    await store.assign(first.id, "ann")
    await store.claim(second.id, "ann")
    await store.resolve(second.id, "ann", OUTCOME_NEEDED)

    agent = await store.get_agent("ann")

    assert agent is not None and agent.active_tickets == 1


async def test_queue_positions_per_team_oldest_first(store: InboxStore) -> None:
    await add_agents(store, "ann")
    a, _ = await store.create_ticket("conv-a", 1, {}, team="billing")
    b, _ = await store.create_ticket("conv-b", 1, {}, team="general")
    c, _ = await store.create_ticket("conv-c", 1, {}, team="billing")
    await store.claim(a.id, "ann")

    queue = await store.list_queue(teams=["billing"])

    assert [(t.id, t.queue_position) for t in queue] == [(a.id, None), (c.id, 1)]
    assert (await store.require_ticket(b.id)).queue_position == 1


async def test_pickup_times_come_from_the_clock(
    store: InboxStore, clock: FakeClock
) -> None:
    await add_agents(store, "ann")
    for number, wait in enumerate((30, 90), start=1):
        ticket, _ = await store.create_ticket(f"conv-{number}", 1, {}, team="billing")
        clock.advance(wait)
        await store.claim(ticket.id, "ann")

    assert await store.recent_pickup_seconds("billing") == [30.0, 90.0]
    assert await store.recent_pickup_seconds("billing", limit=1) == [90.0]
    assert await store.recent_pickup_seconds("general") == []


async def test_messages_and_pending_agent_messages(store: InboxStore) -> None:
    ticket, _ = await store.create_ticket("conv-1", 1, {})
    await store.add_message(ticket.id, "customer", "where is my refund?")
    first = await store.add_message(ticket.id, "agent", "Looking now.", "Ann")
    await store.add_message(ticket.id, "agent", "Done!", "Ann")

    assert first.message is not None
    pending = await store.pending_agent_messages("conv-1", after_id=first.message.id)
    everything = await store.messages(ticket.id)

    assert [m.text for m in pending] == ["Done!"]
    assert [m.sender for m in everything] == ["customer", "agent", "agent"]
    with pytest.raises(ValidationError):
        await store.add_message(ticket.id, "bot", "hi")
    with pytest.raises(NotFoundError):
        await store.add_message(999_999, "agent", "hi")


async def test_continuity_and_active_ticket_lookups(
    store: InboxStore, clock: FakeClock
) -> None:
    await add_agents(store, "ann")
    assert await store.last_agent_for_conversation("conv-1") is None
    ticket, _ = await store.create_ticket("conv-1", 1, {})
    assert await store.active_ticket_for_conversation("conv-1") == ticket

    await store.claim(ticket.id, "ann")
    clock.advance(60)
    await store.resolve(ticket.id, "ann", OUTCOME_NEEDED)

    assert await store.active_ticket_for_conversation("conv-1") is None
    assert await store.last_agent_for_conversation("conv-1") == ("ann", clock.now)


async def test_outcomes_feed_tuning(store: InboxStore) -> None:
    await add_agents(store, "ann")
    ticket, _ = await store.create_ticket(
        "conv-1", 1, {"trigger": {"intent": "request_refund"}}, reason="regulated_topic"
    )
    await store.claim(ticket.id, "ann")
    await store.resolve(ticket.id, "ann", OUTCOME_NEEDED, "policy exception")

    (record,) = await store.outcomes()

    assert (record.ticket_id, record.reason, record.outcome, record.note) == (
        ticket.id,
        "regulated_topic",
        OUTCOME_NEEDED,
        "policy exception",
    )
    assert record.payload["trigger"]["intent"] == "request_refund"


async def test_payload_with_non_json_values_is_stored(store: InboxStore) -> None:
    from datetime import date

    ticket, _ = await store.create_ticket("conv-1", 1, {"since": date(2024, 1, 2)})

    assert (await store.require_ticket(ticket.id)).payload == {"since": "2024-01-02"}


@pytest.mark.parametrize(
    "url, expected",
    [
        pytest.param(
            "sqlite:///handover.db", "sqlite+aiosqlite:///handover.db", id="sqlite"
        ),
        pytest.param("handover.db", "sqlite+aiosqlite:///handover.db", id="bare-path"),
        pytest.param(
            "postgresql://u@h/db", "postgresql+asyncpg://u@h/db", id="postgresql"
        ),
        pytest.param("postgres://u@h/db", "postgresql+asyncpg://u@h/db", id="postgres"),
        pytest.param(
            "postgresql+psycopg2://u@h/db", "postgresql+asyncpg://u@h/db", id="psycopg2"
        ),
        pytest.param(
            "sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db", id="already-async"
        ),
    ],
)
def test_urls_are_converted_to_async_drivers(url: str, expected: str) -> None:
    assert to_async_url(url) == expected


def test_unsupported_database_is_refused() -> None:
    with pytest.raises(ValidationError, match="unsupported database 'mysql'"):
        to_async_url("mysql://u@h/db")


async def test_in_memory_sqlite_keeps_its_data() -> None:
    store = InboxStore("sqlite://")
    await store.create_all()
    ticket, _ = await store.create_ticket("conv-1", 1, {})

    assert (await store.require_ticket(ticket.id)).conversation_id == "conv-1"
    await store.close()


async def test_lost_insert_race_returns_the_winners_ticket(
    store: InboxStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    winner, _ = await store.create_ticket("conv-1", 1, {"first": True})
    lookup = store._ticket_by_attempt
    calls = []

    async def miss_once(conversation_id: str, attempt: int) -> Optional[Ticket]:
        calls.append(attempt)
        # The first look-up misses, as if the winner had not committed yet.
        return None if len(calls) == 1 else await lookup(conversation_id, attempt)

    monkeypatch.setattr(store, "_ticket_by_attempt", miss_once)
    ticket, created = await store.create_ticket("conv-1", 1, {"first": False})

    assert len(calls) == 2  # The unique constraint fired and the row was re-read.
    assert (ticket.id, created, ticket.payload) == (winner.id, False, {"first": True})
