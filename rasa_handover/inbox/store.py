"""Persistence of agents, tickets, messages and lifecycle events.

SQLAlchemy 1.4 Core over an async engine: SQLite through aiosqlite by default
(`handover.db` next to the bot), PostgreSQL through asyncpg when several inbox or
Rasa replicas share one database.

Every state change is a single conditional `UPDATE ... WHERE <expected state>`
plus the `LifecycleEvent` it causes, in one transaction. The condition, not a
prior read, decides who wins a race, so two replicas can never both accept the
same ticket. Ticket creation is idempotent per `(conversation_id, attempt)`
through a unique constraint, which holds across processes.
"""

import asyncio
import contextlib
import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import (
    Any,
    AsyncIterator,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from rasa_handover.inbox.config import DEFAULT_DB_URL
from rasa_handover.inbox.contract import (
    DEFAULT_TEAM,
    EVENT_ACCEPTED,
    EVENT_ASSIGNED,
    EVENT_EXPIRED,
    EVENT_FAILED,
    EVENT_MESSAGE,
    EVENT_QUEUED,
    EVENT_REQUESTED,
    EVENT_RESOLVED,
    EVENT_TRANSFERRED,
    SENDER_AGENT,
    SENDERS,
)
from rasa_handover.inbox.errors import ConflictError, NotFoundError, ValidationError
from rasa_handover.inbox.models import (
    AGENT_TIERS,
    LOAD_STATUSES,
    OPEN_STATUSES,
    OUTCOMES,
    STATUS_ACTIVE,
    STATUS_ASSIGNED,
    STATUS_CALLBACK,
    STATUS_EXPIRED,
    STATUS_FAILED,
    STATUS_RESOLVED,
    STATUS_WAITING,
    TIER_STANDARD,
    Agent,
    LifecycleEvent,
    OutcomeRecord,
    Ticket,
    TicketMessage,
)
from rasa_handover.inbox.wait_estimate import PICKUP_SAMPLE_SIZE

# Seconds a SQLite writer waits for another writer before giving up: concurrent
# handovers in the embedded inbox queue up instead of failing.
SQLITE_BUSY_TIMEOUT_SECONDS = 30
# Upper bound on events returned by one `events()` call (SSE catch-up pages).
EVENTS_PAGE_SIZE = 500

# Column sizes: generous for ids from any channel, bounded for indexes.
_ID_LENGTH = 255
_SHORT_LENGTH = 64
_NAME_LENGTH = 255
_HASH_LENGTH = 64

# Statuses from which an agent may take a ticket (plus "assigned to them").
_CLAIMABLE = (STATUS_WAITING, STATUS_CALLBACK)
# Statuses in which a ticket can still be resolved, transferred or expired.
_UNFINISHED = (*OPEN_STATUSES, STATUS_CALLBACK)

metadata = sa.MetaData()

agents_table = sa.Table(
    "handover_agents",
    metadata,
    sa.Column("id", sa.String(_SHORT_LENGTH), primary_key=True),
    sa.Column("name", sa.String(_NAME_LENGTH), nullable=False),
    sa.Column("token_hash", sa.String(_HASH_LENGTH), nullable=False, unique=True),
    sa.Column("teams", sa.JSON, nullable=False),
    sa.Column("languages", sa.JSON, nullable=False),
    sa.Column("tier", sa.String(_SHORT_LENGTH), nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("online", sa.Boolean, nullable=False, default=False),
    sa.Column("last_seen", sa.DateTime(timezone=True)),
)

tickets_table = sa.Table(
    "handover_tickets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(_ID_LENGTH), nullable=False, index=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("status", sa.String(_SHORT_LENGTH), nullable=False),
    sa.Column("team", sa.String(_SHORT_LENGTH), nullable=False),
    sa.Column("language", sa.String(_SHORT_LENGTH)),
    sa.Column("tier", sa.String(_SHORT_LENGTH), nullable=False),
    sa.Column("channel", sa.String(_SHORT_LENGTH)),
    sa.Column("reason", sa.String(_SHORT_LENGTH)),
    sa.Column("customer_name", sa.String(_NAME_LENGTH)),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("agent_id", sa.String(_SHORT_LENGTH), index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("assigned_at", sa.DateTime(timezone=True)),
    sa.Column("accepted_at", sa.DateTime(timezone=True)),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.Column("estimated_wait_seconds", sa.Integer),
    sa.Column("no_agent_reason", sa.String(_SHORT_LENGTH)),
    sa.Column("callback", sa.JSON),
    sa.Column("outcome", sa.String(_SHORT_LENGTH)),
    sa.Column("outcome_note", sa.Text),
    # The retry key: a channel that retries a handover gets the same ticket.
    sa.UniqueConstraint("conversation_id", "attempt", name="uq_handover_attempt"),
    sa.Index("ix_handover_tickets_queue", "status", "team"),
)

messages_table = sa.Table(
    "handover_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "ticket_id",
        sa.Integer,
        sa.ForeignKey("handover_tickets.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("sender", sa.String(_SHORT_LENGTH), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("agent_name", sa.String(_NAME_LENGTH)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

events_table = sa.Table(
    "handover_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "ticket_id",
        sa.Integer,
        sa.ForeignKey("handover_tickets.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("type", sa.String(_SHORT_LENGTH), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Change:
    """The result of a state change.

    Attributes:
        ticket: The ticket after the change.
        event: The lifecycle event it caused; None when the call changed nothing
            (e.g. an agent claiming a ticket they already hold).
        message: The stored message, for `add_message`.

    """

    ticket: Ticket
    event: Optional[LifecycleEvent]
    message: Optional[TicketMessage] = None


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the store's clock by default)."""
    return datetime.now(timezone.utc)


def hash_token(token: str) -> str:
    """SHA-256 hex digest of an agent token, the only form the store keeps.

    Args:
        token: The agent's bearer token.

    Returns:
        The digest.

    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def to_async_url(url: str) -> str:
    """Turns a plain database URL (or a file path) into its async-driver form.

    Args:
        url: `sqlite:///x.db`, `postgresql://...`, `postgres://...`, a URL that
            already names `aiosqlite`/`asyncpg`, or a bare path like `handover.db`.

    Returns:
        `sqlite+aiosqlite:///...` or `postgresql+asyncpg://...`.

    Raises:
        ValidationError: for any other database.

    """
    if "://" not in url:
        return f"sqlite+aiosqlite:///{url}"
    scheme, rest = url.split("://", 1)
    base = scheme.split("+", 1)[0].lower()
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    if base in ("postgresql", "postgres"):
        return f"postgresql+asyncpg://{rest}"
    raise ValidationError(
        f"unsupported database '{scheme}': use sqlite:///path.db or "
        "postgresql://user@host/db",
        field="db",
    )


class InboxStore:
    """The inbox's database.

    Call `await create_all()` once before use and `await close()` at shutdown.
    """

    def __init__(
        self,
        url: str = DEFAULT_DB_URL,
        schema: Optional[str] = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Creates the store (no connection is made until first use).

        Args:
            url: Database URL; plain `sqlite:`/`postgresql:` URLs are converted to
                their async drivers.
            schema: PostgreSQL schema for the tables (default: the search path).
            clock: Returns the current UTC time; tests pass a fake one.

        """
        self.url = to_async_url(url)
        self.clock = clock
        self._is_sqlite = self.url.startswith("sqlite")
        options: Dict[str, Any] = {
            # Payloads come from other code; never fail a handover on a stray
            # datetime or Decimal in them.
            "json_serializer": functools.partial(json.dumps, default=str),
        }
        if schema:
            options["execution_options"] = {"schema_translate_map": {None: schema}}
        if self._is_sqlite:
            options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
            if ":memory:" in self.url or self.url.rstrip("/").endswith("aiosqlite:"):
                # One shared connection, or every query would see an empty database.
                options["poolclass"] = StaticPool
        self.engine: AsyncEngine = create_async_engine(self.url, **options)
        # SQLite has one writer at a time. Queueing writers here, in the event
        # loop, instead of in SQLite's busy wait keeps a burst of concurrent
        # writes (1000 conversations at once) from failing with "database is
        # locked". PostgreSQL needs no such lock.
        self._write_lock: Optional[asyncio.Lock] = None
        self._serialise_writes = self._is_sqlite
        if self._is_sqlite:
            sa.event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction (serialised per process on SQLite)."""
        if not self._serialise_writes:
            async with self.engine.begin() as conn:
                yield conn
            return
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        async with self._write_lock, self.engine.begin() as conn:
            yield conn

    async def create_all(self) -> None:
        """Creates the tables that do not exist yet (safe to call on every start).

        Several replicas may start at once; the one that loses the race to create
        a table simply finds it there on its second look.
        """
        try:
            async with self._transaction() as conn:
                await conn.run_sync(metadata.create_all)
        except DBAPIError:
            async with self._transaction() as conn:
                await conn.run_sync(metadata.create_all)

    async def close(self) -> None:
        """Closes every pooled connection."""
        await self.engine.dispose()

    # --- Agents. ----------------------------------------------------------------

    async def upsert_agent(
        self,
        agent_id: str,
        name: str,
        token: str,
        teams: Sequence[str] = (DEFAULT_TEAM,),
        languages: Sequence[str] = ("en",),
        tier: str = TIER_STANDARD,
        capacity: int = 1,
    ) -> Agent:
        """Creates an agent or updates its profile, keeping its availability.

        Args:
            agent_id: Stable identifier.
            name: Display name.
            token: The agent's API token (stored hashed).
            teams: Teams the agent works.
            languages: Languages the agent speaks.
            tier: `standard` or `senior`.
            capacity: Tickets the agent handles at once (>= 0).

        Returns:
            The stored agent.

        Raises:
            ValidationError: for an unknown tier, negative capacity or empty token.

        """
        if tier not in AGENT_TIERS:
            raise ValidationError(
                f"tier must be one of {', '.join(AGENT_TIERS)}, got '{tier}'", "tier"
            )
        if capacity < 0:
            raise ValidationError("capacity must be 0 or more", "capacity")
        if not token:
            raise ValidationError(f"agent '{name}' has no token", "token")
        values = {
            "name": name,
            "token_hash": hash_token(token),
            "teams": list(teams),
            "languages": list(languages),
            "tier": tier,
            "capacity": capacity,
        }
        owner = await self.agent_by_token(token)
        if owner is not None and owner.id != agent_id:
            raise ValidationError(
                f"agent '{name}' has the same token as agent '{owner.id}'", "token"
            )
        table = agents_table
        async with self._transaction() as conn:
            updated = await conn.execute(
                table.update().where(table.c.id == agent_id).values(**values)
            )
        if not updated.rowcount:
            try:
                async with self._transaction() as conn:
                    await conn.execute(
                        table.insert().values(id=agent_id, online=False, **values)
                    )
            except IntegrityError:
                # Another replica seeded the same agent a moment ago.
                async with self._transaction() as conn:
                    await conn.execute(
                        table.update().where(table.c.id == agent_id).values(**values)
                    )
        agent = await self.get_agent(agent_id)
        assert agent is not None
        return agent

    async def get_agent(self, agent_id: str) -> Optional[Agent]:
        """The agent with this id, or None."""
        agents = await self._agents(agents_table.c.id == agent_id)
        return agents[0] if agents else None

    async def agent_by_token(self, token: str) -> Optional[Agent]:
        """The agent a bearer token belongs to, or None.

        Args:
            token: The token as sent by the client.

        Returns:
            The agent, or None for an unknown or empty token.

        """
        if not token:
            return None
        agents = await self._agents(agents_table.c.token_hash == hash_token(token))
        return agents[0] if agents else None

    async def list_agents(self) -> List[Agent]:
        """Every agent with current load, ordered by name."""
        return await self._agents(None)

    async def set_availability(self, agent_id: str, online: bool) -> Agent:
        """Marks an agent online or offline.

        Args:
            agent_id: The agent.
            online: The new availability.

        Returns:
            The updated agent.

        Raises:
            NotFoundError: if the agent does not exist.

        """
        table = agents_table
        async with self._transaction() as conn:
            result = await conn.execute(
                table.update()
                .where(table.c.id == agent_id)
                .values(online=online, last_seen=self.clock())
            )
        if not result.rowcount:
            raise NotFoundError(f"unknown agent '{agent_id}'", "agent_id")
        agent = await self.get_agent(agent_id)
        assert agent is not None
        return agent

    # --- Tickets. ---------------------------------------------------------------

    async def create_ticket(
        self,
        conversation_id: str,
        attempt: int,
        payload: Mapping[str, Any],
        team: str = DEFAULT_TEAM,
        language: Optional[str] = None,
        tier: str = TIER_STANDARD,
        channel: Optional[str] = None,
        reason: Optional[str] = None,
        customer_name: Optional[str] = None,
        status: str = STATUS_WAITING,
        callback: Optional[Mapping[str, Any]] = None,
    ) -> Tuple[Ticket, bool]:
        """Creates the ticket for a handover attempt, or returns the existing one.

        Args:
            conversation_id: Rasa's sender id.
            attempt: The handover attempt within the conversation (>= 1).
            payload: The context payload.
            team: The queue.
            language: The customer's language.
            tier: The agent tier wanted.
            channel: The customer's channel.
            reason: The trigger's reason code.
            customer_name: For the agent's greeting.
            status: `waiting`, or `callback` for callback requests.
            callback: The callback request (`when`, `contact`).

        Returns:
            `(ticket, created)`; `created` is False when the attempt already had
            a ticket (a retry), even when the retry raced the first call.

        Raises:
            ValidationError: for an empty conversation id or attempt < 1.

        """
        if not conversation_id:
            raise ValidationError(
                "conversation_id must not be empty", "conversation_id"
            )
        if attempt < 1:
            raise ValidationError("attempt must be 1 or more", "attempt")
        existing = await self._ticket_by_attempt(conversation_id, attempt)
        if existing is not None:
            return existing, False
        now = self.clock()
        try:
            async with self._transaction() as conn:
                result = await conn.execute(
                    tickets_table.insert().values(
                        conversation_id=conversation_id,
                        attempt=attempt,
                        status=status,
                        team=team or DEFAULT_TEAM,
                        language=language,
                        tier=tier,
                        channel=channel,
                        reason=reason,
                        customer_name=customer_name,
                        payload=dict(payload),
                        callback=dict(callback) if callback is not None else None,
                        created_at=now,
                    )
                )
                ticket_id = int(result.inserted_primary_key[0])
                data: Dict[str, Any] = {
                    "conversation_id": conversation_id,
                    "attempt": attempt,
                    "team": team or DEFAULT_TEAM,
                    "reason": reason,
                }
                if callback is not None:
                    data["callback"] = dict(callback)
                await self._append_event(conn, ticket_id, EVENT_REQUESTED, data)
        except IntegrityError:
            # Lost the race against a concurrent retry: the winner's ticket stands.
            existing = await self._ticket_by_attempt(conversation_id, attempt)
            if existing is None:
                raise
            return existing, False
        ticket = await self.get_ticket(ticket_id)
        assert ticket is not None
        return ticket, True

    async def get_ticket(self, ticket_id: int) -> Optional[Ticket]:
        """The ticket (with its current queue position), or None."""
        tickets = await self._tickets(tickets_table.c.id == ticket_id)
        return tickets[0] if tickets else None

    async def require_ticket(self, ticket_id: int) -> Ticket:
        """Like `get_ticket`, but raises `NotFoundError` for an unknown id."""
        ticket = await self.get_ticket(ticket_id)
        if ticket is None:
            raise NotFoundError(f"unknown ticket {ticket_id}", "ticket_id")
        return ticket

    async def list_queue(
        self,
        teams: Optional[Iterable[str]] = None,
        statuses: Sequence[str] = OPEN_STATUSES,
        agent_id: Optional[str] = None,
    ) -> List[Ticket]:
        """Open tickets, oldest first, waiting ones with their queue position.

        Args:
            teams: Only these teams (None: all teams).
            statuses: Which statuses to list (default: waiting, assigned, active).
            agent_id: Also include this agent's tickets from other teams.

        Returns:
            The tickets.

        """
        table = tickets_table
        condition = table.c.status.in_(list(statuses))
        if teams is not None:
            scope = table.c.team.in_(list(teams))
            if agent_id is not None:
                scope = sa.or_(scope, table.c.agent_id == agent_id)
            condition = sa.and_(condition, scope)
        return await self._tickets(condition)

    async def active_ticket_for_conversation(
        self, conversation_id: str
    ) -> Optional[Ticket]:
        """The conversation's open (waiting, assigned or active) ticket, or None."""
        tickets = await self._tickets(
            sa.and_(
                tickets_table.c.conversation_id == conversation_id,
                tickets_table.c.status.in_(OPEN_STATUSES),
            )
        )
        return tickets[-1] if tickets else None

    async def tickets_for_conversation(self, conversation_id: str) -> List[Ticket]:
        """Every ticket of a conversation, oldest first."""
        return await self._tickets(tickets_table.c.conversation_id == conversation_id)

    async def last_agent_for_conversation(
        self, conversation_id: str
    ) -> Optional[Tuple[str, datetime]]:
        """Who last helped this customer, and when, for routing continuity.

        Args:
            conversation_id: Rasa's sender id.

        Returns:
            `(agent_id, last contact time)` of the latest ticket an agent
            accepted, or None. The contact time is when that ticket was resolved
            (or accepted, if it is still open).

        """
        table = tickets_table
        query = (
            sa.select(table.c.agent_id, table.c.accepted_at, table.c.resolved_at)
            .where(
                table.c.conversation_id == conversation_id,
                table.c.accepted_at.isnot(None),
                table.c.agent_id.isnot(None),
            )
            .order_by(table.c.accepted_at.desc(), table.c.id.desc())
            .limit(1)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        contact = _utc(row.resolved_at) or _utc(row.accepted_at)
        assert contact is not None
        return str(row.agent_id), contact

    async def next_attempt(self, conversation_id: str) -> int:
        """The attempt number a new handover of this conversation should use."""
        query = sa.select(sa.func.max(tickets_table.c.attempt)).where(
            tickets_table.c.conversation_id == conversation_id
        )
        async with self.engine.connect() as conn:
            latest = (await conn.execute(query)).scalar()
        return int(latest or 0) + 1

    async def assign(self, ticket_id: int, agent_id: str) -> Change:
        """Routes a waiting ticket to an agent (who still has to accept it).

        Args:
            ticket_id: The ticket.
            agent_id: The agent.

        Returns:
            The change.

        Raises:
            NotFoundError: unknown ticket.
            ConflictError: the ticket is no longer waiting.

        """
        table = tickets_table
        async with self._transaction() as conn:
            result = await conn.execute(
                table.update()
                .where(table.c.id == ticket_id, table.c.status == STATUS_WAITING)
                .values(
                    status=STATUS_ASSIGNED,
                    agent_id=agent_id,
                    assigned_at=self.clock(),
                    no_agent_reason=None,
                )
            )
            if not result.rowcount:
                raise await self._refusal(conn, ticket_id, "assign")
            event = await self._append_event(
                conn,
                ticket_id,
                EVENT_ASSIGNED,
                {"agent_id": agent_id, "agent_name": await self._name(conn, agent_id)},
            )
        return Change(await self.require_ticket(ticket_id), event)

    async def claim(self, ticket_id: int, agent_id: str) -> Change:
        """An agent takes a ticket: waiting, a callback, or assigned to them.

        Args:
            ticket_id: The ticket.
            agent_id: The agent.

        Returns:
            The change (`event` is None if the agent already held the ticket).

        Raises:
            NotFoundError: unknown ticket.
            ConflictError: another agent holds it, or it is finished.

        """
        table = tickets_table
        now = self.clock()
        async with self._transaction() as conn:
            result = await conn.execute(
                table.update()
                .where(
                    table.c.id == ticket_id,
                    sa.or_(
                        table.c.status.in_(_CLAIMABLE),
                        sa.and_(
                            table.c.status == STATUS_ASSIGNED,
                            table.c.agent_id == agent_id,
                        ),
                    ),
                )
                .values(
                    status=STATUS_ACTIVE,
                    agent_id=agent_id,
                    assigned_at=sa.func.coalesce(table.c.assigned_at, now),
                    accepted_at=now,
                    no_agent_reason=None,
                )
            )
            if not result.rowcount:
                return await self._repeated_or_refused(
                    conn, ticket_id, agent_id, STATUS_ACTIVE, "claim"
                )
            event = await self._append_event(
                conn,
                ticket_id,
                EVENT_ACCEPTED,
                {"agent_id": agent_id, "agent_name": await self._name(conn, agent_id)},
            )
        return Change(await self.require_ticket(ticket_id), event)

    async def resolve(
        self,
        ticket_id: int,
        agent_id: str,
        outcome: str,
        note: Optional[str] = None,
    ) -> Change:
        """Closes a ticket with the agent's verdict on the escalation.

        Args:
            ticket_id: The ticket.
            agent_id: The resolving agent.
            outcome: One of `OUTCOMES`.
            note: Free text for tuning and reports.

        Returns:
            The change (`event` is None if this agent had already resolved it).

        Raises:
            ValidationError: unknown outcome label.
            NotFoundError: unknown ticket.
            ConflictError: another agent is handling it, or it is finished.

        """
        if outcome not in OUTCOMES:
            raise ValidationError(
                f"outcome must be one of {', '.join(OUTCOMES)}, got '{outcome}'",
                "outcome",
            )
        table = tickets_table
        async with self._transaction() as conn:
            result = await conn.execute(
                table.update()
                .where(
                    table.c.id == ticket_id,
                    table.c.status.in_(_UNFINISHED),
                    # Nobody closes a conversation a colleague is in the middle of.
                    sa.or_(
                        table.c.status != STATUS_ACTIVE,
                        table.c.agent_id == agent_id,
                    ),
                )
                .values(
                    status=STATUS_RESOLVED,
                    agent_id=agent_id,
                    resolved_at=self.clock(),
                    outcome=outcome,
                    outcome_note=note,
                )
            )
            if not result.rowcount:
                return await self._repeated_or_refused(
                    conn, ticket_id, agent_id, STATUS_RESOLVED, "resolve"
                )
            event = await self._append_event(
                conn,
                ticket_id,
                EVENT_RESOLVED,
                {
                    "agent_id": agent_id,
                    "agent_name": await self._name(conn, agent_id),
                    "outcome": outcome,
                    "note": note,
                },
            )
        return Change(await self.require_ticket(ticket_id), event)

    async def transfer(
        self, ticket_id: int, team: str, agent_id: Optional[str] = None
    ) -> Change:
        """Moves a ticket to another team's queue (it waits there again).

        Args:
            ticket_id: The ticket.
            team: The new team.
            agent_id: Who transfers it (None: the system).

        Returns:
            The change.

        Raises:
            ValidationError: empty team.
            NotFoundError: unknown ticket.
            ConflictError: finished, or another agent is handling it.

        """
        if not team:
            raise ValidationError("team must not be empty", "team")
        table = tickets_table
        async with self._transaction() as conn:
            before = await self._ticket_in(conn, ticket_id)
            condition = [table.c.id == ticket_id, table.c.status.in_(_UNFINISHED)]
            if agent_id is not None:
                condition.append(
                    sa.or_(
                        table.c.status != STATUS_ACTIVE, table.c.agent_id == agent_id
                    )
                )
            result = await conn.execute(
                table.update()
                .where(*condition)
                .values(
                    status=STATUS_WAITING,
                    team=team,
                    agent_id=None,
                    assigned_at=None,
                    accepted_at=None,
                )
            )
            if not result.rowcount or before is None:
                raise await self._refusal(conn, ticket_id, "transfer")
            event = await self._append_event(
                conn,
                ticket_id,
                EVENT_TRANSFERRED,
                {
                    "from_team": before.team,
                    "to_team": team,
                    "agent_id": agent_id,
                    "agent_name": await self._name(conn, agent_id),
                },
            )
        return Change(await self.require_ticket(ticket_id), event)

    async def requeue(self, ticket_id: int, reason: str) -> Change:
        """Puts an assigned (not yet accepted) ticket back into its queue.

        Args:
            ticket_id: The ticket.
            reason: Why, e.g. "agent_offline" (stored in the `queued` event).

        Returns:
            The change.

        Raises:
            NotFoundError: unknown ticket.
            ConflictError: the ticket is not assigned.

        """
        table = tickets_table
        async with self._transaction() as conn:
            result = await conn.execute(
                table.update()
                .where(table.c.id == ticket_id, table.c.status == STATUS_ASSIGNED)
                .values(status=STATUS_WAITING, agent_id=None, assigned_at=None)
            )
            if not result.rowcount:
                raise await self._refusal(conn, ticket_id, "requeue")
            event = await self._append_event(
                conn, ticket_id, EVENT_QUEUED, {"reason": reason}
            )
        return Change(await self.require_ticket(ticket_id), event)

    async def mark_queued(
        self,
        ticket_id: int,
        no_agent_reason: Optional[str],
        estimated_wait_seconds: Optional[int],
        notes: Sequence[str] = (),
    ) -> Change:
        """Records that a new ticket waits in its queue, and why.

        Args:
            ticket_id: The ticket.
            no_agent_reason: Why no agent was assigned.
            estimated_wait_seconds: The wait told to the customer.
            notes: Routing notes for the agents.

        Returns:
            The change.

        """
        table = tickets_table
        async with self._transaction() as conn:
            await conn.execute(
                table.update()
                .where(table.c.id == ticket_id)
                .values(
                    no_agent_reason=no_agent_reason,
                    estimated_wait_seconds=estimated_wait_seconds,
                )
            )
            event = await self._append_event(
                conn,
                ticket_id,
                EVENT_QUEUED,
                {
                    "no_agent_reason": no_agent_reason,
                    "estimated_wait_seconds": estimated_wait_seconds,
                    "notes": list(notes),
                },
            )
        return Change(await self.require_ticket(ticket_id), event)

    async def set_estimate(self, ticket_id: int, seconds: Optional[int]) -> None:
        """Remembers the wait estimate last told to the customer (no event)."""
        async with self._transaction() as conn:
            await conn.execute(
                tickets_table.update()
                .where(tickets_table.c.id == ticket_id)
                .values(estimated_wait_seconds=seconds)
            )

    async def set_callback(self, ticket_id: int, callback: Mapping[str, Any]) -> Change:
        """Turns an open ticket into a callback request.

        Args:
            ticket_id: The ticket.
            callback: `{"when": ..., "contact": ...}`.

        Returns:
            The change (a `queued` event carrying the callback).

        Raises:
            NotFoundError: unknown ticket.
            ConflictError: the ticket is finished.

        """
        table = tickets_table
        async with self._transaction() as conn:
            result = await conn.execute(
                table.update()
                .where(table.c.id == ticket_id, table.c.status.in_(_UNFINISHED))
                .values(
                    status=STATUS_CALLBACK,
                    callback=dict(callback),
                    agent_id=None,
                    assigned_at=None,
                    accepted_at=None,
                )
            )
            if not result.rowcount:
                raise await self._refusal(conn, ticket_id, "schedule a callback for")
            event = await self._append_event(
                conn, ticket_id, EVENT_QUEUED, {"callback": dict(callback)}
            )
        return Change(await self.require_ticket(ticket_id), event)

    async def finish(self, ticket_id: int, status: str, reason: str) -> Change:
        """Ends an unfinished ticket as `expired` or `failed`.

        Args:
            ticket_id: The ticket.
            status: `STATUS_EXPIRED` or `STATUS_FAILED`.
            reason: Why (stored in the event).

        Returns:
            The change.

        Raises:
            ValidationError: another status.
            NotFoundError: unknown ticket.
            ConflictError: already finished.

        """
        events = {STATUS_EXPIRED: EVENT_EXPIRED, STATUS_FAILED: EVENT_FAILED}
        if status not in events:
            raise ValidationError("status must be expired or failed", "status")
        table = tickets_table
        async with self._transaction() as conn:
            result = await conn.execute(
                table.update()
                .where(table.c.id == ticket_id, table.c.status.in_(_UNFINISHED))
                .values(status=status, resolved_at=self.clock())
            )
            if not result.rowcount:
                raise await self._refusal(conn, ticket_id, f"mark {status}")
            event = await self._append_event(
                conn, ticket_id, events[status], {"reason": reason}
            )
        return Change(await self.require_ticket(ticket_id), event)

    # --- Messages. --------------------------------------------------------------

    async def add_message(
        self,
        ticket_id: int,
        sender: str,
        text: str,
        agent_name: Optional[str] = None,
    ) -> Change:
        """Appends a message to a ticket's conversation.

        Args:
            ticket_id: The ticket.
            sender: `customer`, `agent` or `system`.
            text: The message.
            agent_name: The agent's name, for agent messages.

        Returns:
            The change, with `message` set.

        Raises:
            ValidationError: unknown sender or empty text.
            NotFoundError: unknown ticket.

        """
        if sender not in SENDERS:
            raise ValidationError(
                f"sender must be one of {', '.join(SENDERS)}", "sender"
            )
        if not text or not text.strip():
            raise ValidationError("text must not be empty", "text")
        now = self.clock()
        async with self._transaction() as conn:
            if await self._ticket_in(conn, ticket_id) is None:
                raise NotFoundError(f"unknown ticket {ticket_id}", "ticket_id")
            result = await conn.execute(
                messages_table.insert().values(
                    ticket_id=ticket_id,
                    sender=sender,
                    text=text,
                    agent_name=agent_name,
                    created_at=now,
                )
            )
            message = TicketMessage(
                id=int(result.inserted_primary_key[0]),
                ticket_id=ticket_id,
                sender=sender,
                text=text,
                created_at=now,
                agent_name=agent_name,
            )
            event = await self._append_event(
                conn,
                ticket_id,
                EVENT_MESSAGE,
                {
                    "message_id": message.id,
                    "sender": sender,
                    "text": text,
                    "agent_name": agent_name,
                },
            )
        return Change(await self.require_ticket(ticket_id), event, message)

    async def messages(self, ticket_id: int, after_id: int = 0) -> List[TicketMessage]:
        """A ticket's messages with an id above `after_id`, oldest first."""
        table = messages_table
        query = (
            sa.select(table)
            .where(table.c.ticket_id == ticket_id, table.c.id > after_id)
            .order_by(table.c.id)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_message(row) for row in rows]

    async def pending_agent_messages(
        self, conversation_id: str, after_id: int = 0
    ) -> List[TicketMessage]:
        """Agent messages for a conversation (any of its tickets) after a cursor.

        A polling channel passes the last message id it delivered.

        Args:
            conversation_id: Rasa's sender id.
            after_id: The last delivered message id.

        Returns:
            The messages, oldest first.

        """
        messages, tickets = messages_table, tickets_table
        query = (
            sa.select(messages)
            .join(tickets, tickets.c.id == messages.c.ticket_id)
            .where(
                tickets.c.conversation_id == conversation_id,
                messages.c.sender == SENDER_AGENT,
                messages.c.id > after_id,
            )
            .order_by(messages.c.id)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_message(row) for row in rows]

    # --- Events, statistics, outcomes. ------------------------------------------

    async def events(
        self,
        after_id: int = 0,
        ticket_id: Optional[int] = None,
        teams: Optional[Iterable[str]] = None,
        agent_id: Optional[str] = None,
        limit: int = EVENTS_PAGE_SIZE,
    ) -> List[LifecycleEvent]:
        """Lifecycle events after a cursor, oldest first.

        Args:
            after_id: The last event id already seen.
            ticket_id: Only this ticket's events.
            teams: Only events of tickets now in these teams (plus, with
                `agent_id`, of tickets that agent holds).
            agent_id: See `teams`.
            limit: At most this many.

        Returns:
            The events.

        """
        events, tickets = events_table, tickets_table
        query = sa.select(events).where(events.c.id > after_id)
        if ticket_id is not None:
            query = query.where(events.c.ticket_id == ticket_id)
        if teams is not None:
            scope = tickets.c.team.in_(list(teams))
            if agent_id is not None:
                scope = sa.or_(scope, tickets.c.agent_id == agent_id)
            query = query.join(tickets, tickets.c.id == events.c.ticket_id).where(scope)
        query = query.order_by(events.c.id).limit(limit)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_event(row) for row in rows]

    async def transferred_by(self, ticket_ids: Iterable[int]) -> Dict[int, str]:
        """Who last transferred each of these tickets away.

        Tickets never transferred by an agent are left out.
        """
        wanted = list(ticket_ids)
        if not wanted:
            return {}
        table = events_table
        query = (
            sa.select(table.c.ticket_id, table.c.data)
            .where(table.c.type == EVENT_TRANSFERRED, table.c.ticket_id.in_(wanted))
            .order_by(table.c.id)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        found: Dict[int, str] = {}
        for row in rows:
            agent_id = (row.data or {}).get("agent_id")
            if agent_id:
                found[int(row.ticket_id)] = str(agent_id)
        return found

    async def latest_event_id(self) -> int:
        """The id of the newest event (0 when there is none)."""
        async with self.engine.connect() as conn:
            latest = (
                await conn.execute(sa.select(sa.func.max(events_table.c.id)))
            ).scalar()
        return int(latest or 0)

    async def recent_pickup_seconds(
        self, team: str, limit: int = PICKUP_SAMPLE_SIZE
    ) -> List[float]:
        """How long the team's latest accepted tickets waited, oldest first.

        Args:
            team: The team.
            limit: How many of the latest pickups.

        Returns:
            Seconds from request to acceptance.

        """
        table = tickets_table
        query = (
            sa.select(table.c.created_at, table.c.accepted_at)
            .where(table.c.team == team, table.c.accepted_at.isnot(None))
            .order_by(table.c.accepted_at.desc(), table.c.id.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        waits = []
        for row in reversed(rows):
            created, accepted = _utc(row.created_at), _utc(row.accepted_at)
            if created is not None and accepted is not None:
                waits.append((accepted - created).total_seconds())
        return waits

    async def outcomes(self, since: Optional[datetime] = None) -> List[OutcomeRecord]:
        """Resolved tickets with their outcome labels, oldest first.

        Args:
            since: Only tickets resolved at or after this time.

        Returns:
            The outcome records (the input of `rasa-handover tune`).

        """
        table = tickets_table
        query = sa.select(table).where(
            table.c.status == STATUS_RESOLVED, table.c.outcome.isnot(None)
        )
        if since is not None:
            query = query.where(table.c.resolved_at >= since)
        query = query.order_by(table.c.resolved_at, table.c.id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            OutcomeRecord(
                ticket_id=row.id,
                conversation_id=row.conversation_id,
                attempt=row.attempt,
                reason=row.reason,
                team=row.team,
                outcome=row.outcome,
                note=row.outcome_note,
                agent_id=row.agent_id,
                resolved_at=_utc(row.resolved_at),
                payload=dict(row.payload or {}),
            )
            for row in rows
        ]

    # --- Internals. -------------------------------------------------------------

    async def _agents(self, condition: Any) -> List[Agent]:
        tickets = tickets_table
        load = (
            sa.select(tickets.c.agent_id, sa.func.count().label("active"))
            .where(tickets.c.status.in_(LOAD_STATUSES))
            .group_by(tickets.c.agent_id)
            .subquery()
        )
        query = sa.select(agents_table, load.c.active).outerjoin(
            load, load.c.agent_id == agents_table.c.id
        )
        if condition is not None:
            query = query.where(condition)
        query = query.order_by(agents_table.c.name, agents_table.c.id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_agent(row) for row in rows]

    async def _tickets(self, condition: Any) -> List[Ticket]:
        query = sa.select(tickets_table).where(condition).order_by(tickets_table.c.id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            positions = await self._queue_positions(conn, rows)
        return [_ticket(row, positions.get(row.id)) for row in rows]

    async def _ticket_in(
        self, conn: AsyncConnection, ticket_id: int
    ) -> Optional[Ticket]:
        row = (
            await conn.execute(
                sa.select(tickets_table).where(tickets_table.c.id == ticket_id)
            )
        ).first()
        return _ticket(row, None) if row is not None else None

    async def _ticket_by_attempt(
        self, conversation_id: str, attempt: int
    ) -> Optional[Ticket]:
        tickets = await self._tickets(
            sa.and_(
                tickets_table.c.conversation_id == conversation_id,
                tickets_table.c.attempt == attempt,
            )
        )
        return tickets[0] if tickets else None

    async def _queue_positions(
        self, conn: AsyncConnection, rows: Sequence[Row]
    ) -> Dict[int, int]:
        """1-based positions of the waiting tickets among `rows` in their teams."""
        teams = {row.team for row in rows if row.status == STATUS_WAITING}
        if not teams:
            return {}
        table = tickets_table
        waiting = (
            await conn.execute(
                sa.select(table.c.id, table.c.team)
                .where(table.c.status == STATUS_WAITING, table.c.team.in_(teams))
                .order_by(table.c.id)
            )
        ).all()
        positions: Dict[int, int] = {}
        counters: Dict[str, int] = {}
        for row in waiting:
            counters[row.team] = counters.get(row.team, 0) + 1
            positions[row.id] = counters[row.team]
        return positions

    async def _append_event(
        self,
        conn: AsyncConnection,
        ticket_id: int,
        event_type: str,
        data: Dict[str, Any],
    ) -> LifecycleEvent:
        now = self.clock()
        result = await conn.execute(
            events_table.insert().values(
                ticket_id=ticket_id, type=event_type, data=data, created_at=now
            )
        )
        return LifecycleEvent(
            id=int(result.inserted_primary_key[0]),
            ticket_id=ticket_id,
            type=event_type,
            data=data,
            created_at=now,
        )

    async def _name(
        self, conn: AsyncConnection, agent_id: Optional[str]
    ) -> Optional[str]:
        if agent_id is None:
            return None
        name = (
            await conn.execute(
                sa.select(agents_table.c.name).where(agents_table.c.id == agent_id)
            )
        ).scalar()
        return str(name) if name is not None else None

    async def _repeated_or_refused(
        self,
        conn: AsyncConnection,
        ticket_id: int,
        agent_id: str,
        status: str,
        action: str,
    ) -> Change:
        """A repeated request by the same agent is a no-op; anything else refused."""
        current = await self._ticket_in(conn, ticket_id)
        if (
            current is not None
            and current.status == status
            and current.agent_id == agent_id
        ):
            return Change(current, None)
        raise await self._refusal(conn, ticket_id, action)

    async def _refusal(
        self, conn: AsyncConnection, ticket_id: int, operation: str
    ) -> Exception:
        """The error explaining why a conditional update changed nothing."""
        current = await self._ticket_in(conn, ticket_id)
        if current is None:
            return NotFoundError(f"unknown ticket {ticket_id}", "ticket_id")
        holder = f" by agent '{current.agent_id}'" if current.agent_id else ""
        return ConflictError(
            f"cannot {operation} ticket {ticket_id}: it is {current.status}{holder}",
            "ticket_id",
        )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the agents' page read while a handover is being written.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.execute("PRAGMA foreign_keys=ON")
    # In WAL mode NORMAL is safe against a crashed process (only a power cut
    # can lose the latest commits) and saves an fsync per commit: 1.8x more
    # relayed messages per second in benchmarks/bench_inbox_throughput.py.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _utc(moment: Optional[datetime]) -> Optional[datetime]:
    # SQLite hands back naive datetimes; everything the store writes is UTC.
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _agent(row: Row) -> Agent:
    return Agent(
        id=row.id,
        name=row.name,
        token_hash=row.token_hash,
        teams=tuple(row.teams or ()),
        languages=tuple(row.languages or ()),
        tier=row.tier,
        capacity=int(row.capacity),
        online=bool(row.online),
        active_tickets=int(row.active or 0),
        last_seen=_utc(row.last_seen),
    )


def _ticket(row: Row, queue_position: Optional[int]) -> Ticket:
    return Ticket(
        id=int(row.id),
        conversation_id=row.conversation_id,
        attempt=int(row.attempt),
        status=row.status,
        team=row.team,
        language=row.language,
        tier=row.tier,
        channel=row.channel,
        reason=row.reason,
        customer_name=row.customer_name,
        payload=dict(row.payload or {}),
        agent_id=row.agent_id,
        created_at=_utc(row.created_at),
        assigned_at=_utc(row.assigned_at),
        accepted_at=_utc(row.accepted_at),
        resolved_at=_utc(row.resolved_at),
        queue_position=queue_position,
        estimated_wait_seconds=row.estimated_wait_seconds,
        callback=dict(row.callback) if row.callback is not None else None,
        outcome=row.outcome,
        outcome_note=row.outcome_note,
        no_agent_reason=row.no_agent_reason,
    )


def _message(row: Row) -> TicketMessage:
    return TicketMessage(
        id=int(row.id),
        ticket_id=int(row.ticket_id),
        sender=row.sender,
        text=row.text,
        created_at=_utc(row.created_at),
        agent_name=row.agent_name,
    )


def _event(row: Row) -> LifecycleEvent:
    return LifecycleEvent(
        id=int(row.id),
        ticket_id=int(row.ticket_id),
        type=row.type,
        data=dict(row.data or {}),
        created_at=_utc(row.created_at),
    )
