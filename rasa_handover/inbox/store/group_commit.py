"""Group commit: many callers' SQLite writes in one transaction.

SQLite takes one writer at a time. With a transaction per relayed message, each
write waited for the ones before it, and each of its statements was a round trip
between the event loop and aiosqlite's thread: the embedded inbox topped out at
about 130 messages per second, and 1,000 live conversations queued for seconds.

`GroupCommit` has one writer task. It takes every write queued meanwhile and
runs them, in order, in one transaction on its own thread (pysqlite, synchronous
SQLAlchemy Core): one thread hop and one commit for the whole batch.

* Each write runs in its own savepoint: a write that fails is rolled back alone,
  its error goes to its caller, and the others still commit.
* Writes run in the order they were submitted, so the messages of a
  conversation keep their order.
* A caller gets its result only once the batch is committed: nothing is
  acknowledged that a crash could lose (in WAL mode a killed process loses no
  commit; `engine` sets the pragmas).
* Reads may join the batches too (`StoreBase._read`): a share of one thread
  hop instead of several per statement through aiosqlite.

Figures: docs/benchmarks.md, "Issue 14: speed".
"""

import asyncio
import concurrent.futures
import contextlib
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple, TypeVar

from sqlalchemy.engine import Connection, Engine

from rasa_handover.inbox.store.engine import create_sync_sqlite_engine

T = TypeVar("T")
# A write: statements on a connection that is inside a transaction.
Write = Callable[[Connection], T]

# Writes per transaction at most. Enough to take a burst of 1,000 conversations
# in a handful of commits; bounded so that one batch cannot hold the database
# (and the agents' writes queued behind it) for long.
MAX_BATCH_SIZE = 256


@dataclass
class _Queued:
    """A submitted write and the future its caller awaits."""

    write: Write
    result: "asyncio.Future[Any]"
    reads_only: bool


class GroupCommit:
    """Runs SQLite writes submitted from the event loop in shared transactions.

    Call `close()` at shutdown; a write submitted afterwards starts it again
    (as the store's engine reconnects after `dispose`).
    """

    def __init__(
        self,
        sync_url: str,
        exclusive: Callable[[], "contextlib.AbstractAsyncContextManager[Any]"],
        max_batch_size: int = MAX_BATCH_SIZE,
    ) -> None:
        """Creates the writer (the thread and the connection start on first use).

        Args:
            sync_url: The database as a pysqlite URL (`sqlite:///path.db`).
            exclusive: Held around each batch, so that the store's other
                writers in this process (`StoreBase._transaction`) take turns
                with the batches instead of waiting in SQLite's busy loop.
            max_batch_size: Writes per transaction at most.

        """
        self._engine = create_sync_sqlite_engine(sync_url)
        self._exclusive = exclusive
        self._max_batch_size = max_batch_size
        self._queue: List[_Queued] = []
        self._wake: Optional[asyncio.Event] = None
        self._writer: Optional[asyncio.Task[None]] = None
        self._thread: Optional[concurrent.futures.ThreadPoolExecutor] = None
        self._closing = False

    async def submit(self, write: Write[T], reads_only: bool = False) -> T:
        """Runs `write` in the next batch; returns its result once committed.

        Args:
            write: Runs on the writer's thread with a connection in a
                transaction; it must not touch the event loop.
            reads_only: `write` only reads. A batch of reads alone does not
                take SQLite's write lock (a read-only file can be read).

        Returns:
            What `write` returned.

        Raises:
            Whatever `write` raised (only this write is rolled back), or the
            commit's error (the whole batch is rolled back).

        """
        loop = asyncio.get_running_loop()
        queued = _Queued(write, loop.create_future(), reads_only)
        self._queue.append(queued)
        self._wake_writer()
        return await queued.result

    async def close(self) -> None:
        """Commits what is queued, then stops the writer and closes the file."""
        writer = self._writer
        self._closing = True
        try:
            if writer is not None and not writer.done():
                assert self._wake is not None
                self._wake.set()
                await writer
        finally:
            self._closing = False
            self._writer = self._wake = None
            if self._thread is not None:
                self._thread.shutdown(wait=True)
                self._thread = None
            self._engine.dispose()

    def _wake_writer(self) -> None:
        if self._wake is None:
            self._wake = asyncio.Event()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._run(self._wake))
        self._wake.set()

    async def _run(self, wake: asyncio.Event) -> None:
        while self._queue or not self._closing:
            if not self._queue:
                wake.clear()
                await wake.wait()
                continue
            batch = self._queue[: self._max_batch_size]
            del self._queue[: len(batch)]
            await self._commit(batch)

    async def _commit(self, batch: List[_Queued]) -> None:
        """Runs a batch on the thread, then tells each caller its outcome."""
        loop = asyncio.get_running_loop()
        writes = [queued.write for queued in batch]
        if self._thread is None:
            # One thread: the connection is only ever used from it.
            self._thread = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="handover-group-commit"
            )
        try:
            async with self._exclusive():
                outcomes = await loop.run_in_executor(
                    self._thread,
                    _run_batch,
                    self._engine,
                    writes,
                    not all(queued.reads_only for queued in batch),
                )
        except asyncio.CancelledError:
            # Shutting down: the batch may still commit, but nobody is told so.
            for queued in batch:
                queued.result.cancel()
            raise
        except Exception as failed:  # the commit (or the thread) failed
            for queued in batch:
                _settle(queued.result, error=failed)
            return
        for queued, (value, error) in zip(batch, outcomes):
            _settle(queued.result, value, error)


def _run_batch(
    engine: Engine, writes: List[Write], takes_writes: bool
) -> List[Tuple[Any, Optional[BaseException]]]:
    """One transaction: each write in a savepoint; commits what succeeded.

    Runs on the writer's thread. A commit that fails raises, and every write
    of the batch fails with it. The transaction statements go straight to the
    driver (the engine leaves them to us, `create_sync_sqlite_engine`):
    SQLAlchemy's own savepoints cost as much Python as a statement each.

    Args:
        engine: The writer's engine.
        writes: The batch, in order.
        takes_writes: `BEGIN IMMEDIATE` (the write lock up front, waiting out
            other processes' writers) rather than `BEGIN`.

    """
    outcomes: List[Tuple[Any, Optional[BaseException]]] = []
    with engine.connect() as conn:
        driver = conn.connection.dbapi_connection
        driver.execute("BEGIN IMMEDIATE" if takes_writes else "BEGIN")
        try:
            for write in writes:
                driver.execute("SAVEPOINT group_write")
                try:
                    value = write(conn)
                except Exception as error:
                    driver.execute("ROLLBACK TO group_write")
                    outcomes.append((None, error))
                else:
                    outcomes.append((value, None))
                driver.execute("RELEASE group_write")
            driver.execute("COMMIT")
        except BaseException:
            if driver.in_transaction:
                driver.execute("ROLLBACK")
            raise
    return outcomes


def _settle(
    future: "asyncio.Future[Any]",
    value: Any = None,
    error: Optional[BaseException] = None,
) -> None:
    if future.done():  # the caller was cancelled; the write stands
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
