"""Group commit of relayed messages (`store.group_commit`).

Many callers' writes share one transaction on SQLite; each caller must still
get its own result, its own error, its messages in order, and nothing it was
told is stored may be lost when the process dies. The order test also runs on
PostgreSQL (one transaction per write there), which must keep the same promises.
"""

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import List

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rasa_handover.inbox.errors import NotFoundError
from rasa_handover.inbox.store import InboxStore, messages_table
from rasa_handover.inbox.store.group_commit import GroupCommit
from rasa_handover.inbox.store.messages import MessageStore

REPOSITORY = Path(__file__).resolve().parents[2]


async def test_a_failing_write_fails_only_its_caller(sqlite_store: InboxStore) -> None:
    ticket, _ = await sqlite_store.create_ticket("conv-1", 1, {})
    group_commit = sqlite_store._group_commit
    assert group_commit is not None
    commits: List[int] = []
    sa.event.listen(group_commit._engine, "commit", lambda _conn: commits.append(1))

    def half_written_then_broken(conn: Connection) -> None:
        # Writes a row, then fails: the row must not survive.
        conn.execute(
            messages_table.insert().values(
                ticket_id=ticket.id,
                sender="customer",
                text="half written",
                created_at=sqlite_store.clock(),
            )
        )
        raise RuntimeError("this write is broken")

    texts = [f"message {n}" for n in range(40)]
    calls = [sqlite_store.add_message(ticket.id, "customer", t) for t in texts[:20]]
    calls.append(group_commit.submit(half_written_then_broken))
    calls.append(sqlite_store.add_message(ticket.id + 1000, "customer", "nowhere"))
    calls += [sqlite_store.add_message(ticket.id, "customer", t) for t in texts[20:]]
    outcomes = await asyncio.gather(*calls, return_exceptions=True)

    broken, unknown = outcomes[20], outcomes[21]
    assert isinstance(broken, RuntimeError) and "broken" in str(broken)
    assert isinstance(unknown, NotFoundError)
    others = outcomes[:20] + outcomes[22:]
    assert not [o for o in others if isinstance(o, BaseException)]
    stored = [m.text for m in await sqlite_store.messages(ticket.id)]
    assert stored == texts
    # Shared transactions, not one per write.
    assert len(commits) < len(calls)


async def create_conversations(store: InboxStore, count: int) -> List[str]:
    ids = [f"conv-{i}" for i in range(count)]
    for conversation in ids:
        await store.create_ticket(conversation, 1, {})
    return ids


async def stored_texts(store: InboxStore, conversation: str) -> List[str]:
    ticket = await store.active_ticket_for_conversation(conversation)
    assert ticket is not None
    return [m.text for m in await store.messages(ticket.id)]


async def test_each_conversation_keeps_its_order_under_concurrency(
    store: InboxStore,
) -> None:
    """Customers who each wait for their last message, all at once."""
    ids = await create_conversations(store, 30)

    async def customer(conversation: str) -> None:
        for n in range(15):
            assert await store.add_customer_message(conversation, f"{n}") is not None

    await asyncio.gather(*(customer(c) for c in ids))
    for conversation in ids:
        assert await stored_texts(store, conversation) == [str(n) for n in range(15)], (
            conversation
        )


async def test_overlapping_messages_are_stored_in_the_order_they_came(
    sqlite_store: InboxStore,
) -> None:
    """A customer whose messages overlap (sent before the last was stored).

    SQLite only: the group commit runs writes in the order they were submitted.
    On PostgreSQL overlapping calls are concurrent transactions (docs/inbox.md).
    """
    ids = await create_conversations(sqlite_store, 30)

    async def customer_sends_all_at_once(conversation: str) -> None:
        await asyncio.gather(
            *(
                sqlite_store.add_customer_message(conversation, f"{n}")
                for n in range(15)
            )
        )

    await asyncio.gather(*(customer_sends_all_at_once(c) for c in ids))
    for conversation in ids:
        assert await stored_texts(sqlite_store, conversation) == [
            str(n) for n in range(15)
        ], conversation


async def test_a_message_for_a_conversation_without_a_ticket_is_not_stored(
    store: InboxStore,
) -> None:
    assert await store.add_customer_message("nobody-handed-over", "hello") is None
    ticket, _ = await store.create_ticket("conv-1", 1, {})
    change = await store.add_customer_message("conv-1", "hello")
    assert change is not None and change.message is not None
    assert change.ticket.id == ticket.id
    assert change.event is not None and change.event.data["text"] == "hello"


# Adds messages from many concurrent callers and prints each one the moment
# its caller is told it is stored.
WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from rasa_handover.inbox.store import InboxStore

    async def main(path):
        store = InboxStore(f"sqlite:///{path}")
        await store.create_all()
        ticket, _ = await store.create_ticket("conv-1", 1, {})
        print("ready", flush=True)

        async def writer(w):
            n = 0
            while True:
                text = f"{w}-{n}"
                await store.add_message(ticket.id, "customer", text)
                print(text, flush=True)
                n += 1

        await asyncio.gather(*(writer(w) for w in range(20)))

    asyncio.run(main(sys.argv[1]))
    """
)


async def test_a_killed_process_loses_no_acknowledged_message(tmp_path: Path) -> None:
    path = tmp_path / "handover.db"
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    acknowledged: List[str] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if line.strip() != "ready":
                acknowledged.append(line.strip())
            if len(acknowledged) >= 500:
                break
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert len(acknowledged) >= 500, child.stderr.read() if child.stderr else ""

    store = InboxStore(f"sqlite:///{path}")
    try:
        ticket = await store.active_ticket_for_conversation("conv-1")
        assert ticket is not None
        stored = {m.text for m in await store.messages(ticket.id)}
    finally:
        await store.close()
    assert set(acknowledged) <= stored
    assert len(stored) == len(set(stored))


async def test_closing_commits_what_is_queued_and_a_write_reopens(
    tmp_path: Path,
) -> None:
    store = InboxStore(f"sqlite:///{tmp_path / 'handover.db'}")
    await store.create_all()
    ticket, _ = await store.create_ticket("conv-1", 1, {})
    pending = [
        asyncio.ensure_future(store.add_message(ticket.id, "customer", f"{n}"))
        for n in range(10)
    ]
    await asyncio.sleep(0)  # submitted, not yet committed
    await store.close()
    assert all(task.done() and task.exception() is None for task in pending)
    reopened = InboxStore(f"sqlite:///{tmp_path / 'handover.db'}")
    try:
        assert len(await reopened.messages(ticket.id)) == 10
        # A closed store starts again on its next write, as its engine does.
        await store.add_message(ticket.id, "customer", "after a restart")
        assert len(await reopened.messages(ticket.id)) == 11
    finally:
        await reopened.close()
        await store.close()


def test_only_sqlite_files_group_commit() -> None:
    assert isinstance(InboxStore("sqlite:///x.db")._group_commit, GroupCommit)
    assert InboxStore("sqlite://")._group_commit is None
    assert InboxStore("sqlite:///:memory:")._group_commit is None
    assert MessageStore("postgresql://u@h/db")._group_commit is None


async def test_a_read_inside_a_write_does_not_wait_for_the_next_batch(
    sqlite_store: InboxStore,
) -> None:
    """Reads join the group commit, which waits for the write turn: not this one."""
    ticket, _ = await sqlite_store.create_ticket("conv-1", 1, {})
    async with sqlite_store._transaction():
        found = await asyncio.wait_for(sqlite_store.get_ticket(ticket.id), 60)
    assert found is not None and found.id == ticket.id


async def test_reads_go_on_while_another_process_writes(
    sqlite_store: InboxStore, tmp_path: Path
) -> None:
    """A batch of reads alone does not wait for SQLite's write lock."""
    ticket, _ = await sqlite_store.create_ticket("conv-1", 1, {})
    other_process = sqlite3.connect(tmp_path / "handover.db", isolation_level=None)
    try:
        other_process.execute("BEGIN IMMEDIATE")  # holds the write lock
        found = await asyncio.wait_for(sqlite_store.get_ticket(ticket.id), 20)
        assert found is not None and found.id == ticket.id
        other_process.execute("COMMIT")
    finally:
        other_process.close()
