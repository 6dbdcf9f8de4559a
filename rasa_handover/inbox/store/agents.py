"""Agents: profiles (seeded from the config), tokens, availability, presence, load.

Presence lives in the database (`last_seen`, refreshed by the agent's page), not
in a process, so replicas sharing PostgreSQL agree on who is there.
"""

import hashlib
import secrets
from datetime import datetime
from typing import Any, Collection, List, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from rasa_handover.inbox.contract import DEFAULT_TEAM
from rasa_handover.inbox.errors import NotFoundError, ValidationError
from rasa_handover.inbox.models import AGENT_TIERS, LOAD_STATUSES, TIER_STANDARD, Agent
from rasa_handover.inbox.store.base import StoreBase
from rasa_handover.inbox.store.rows import agent_from_row
from rasa_handover.inbox.store.schema import agents_table, tickets_table


def hash_token(token: str) -> str:
    """SHA-256 hex digest of an agent token, the only form the store keeps.

    Args:
        token: The agent's bearer token.

    Returns:
        The digest.

    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# Built once: read for every message relayed to an assigned ticket.
_AGENT_NAME = sa.select(agents_table.c.name).where(
    agents_table.c.id == sa.bindparam("agent_id")
)


class AgentStore(StoreBase):
    """The agents' part of `InboxStore`."""

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

    async def retire_agents(self, keep: Collection[str]) -> List[str]:
        """Disables every agent whose id is not in `keep` (removed from the config).

        A retired agent keeps their row (tickets and events name them) but
        their token stops working: the stored hash is replaced by the hash of
        a random secret nobody knows. They are marked offline. Their old
        token is free again, so an agent renamed in the config (a new id) keeps
        the token.

        Args:
            keep: The ids of the configured agents.

        Returns:
            The ids of the agents this call retired.

        """
        table = agents_table
        async with self.engine.connect() as conn:
            ids = [str(row.id) for row in (await conn.execute(sa.select(table.c.id)))]
        retired: List[str] = []
        for agent_id in ids:
            if agent_id in keep:
                continue
            async with self._transaction() as conn:
                await conn.execute(
                    table.update()
                    .where(table.c.id == agent_id)
                    .values(token_hash=hash_token(secrets.token_hex(32)), online=False)
                )
            retired.append(agent_id)
        return retired

    async def get_agent(self, agent_id: str) -> Optional[Agent]:
        """The agent with this id, or None."""
        agents = await self._agents(agents_table.c.id == agent_id)
        return agents[0] if agents else None

    async def agent_name(self, agent_id: str) -> Optional[str]:
        """The agent's display name, or None for an unknown id.

        One indexed read: `get_agent` also counts the agent's open tickets.
        """
        name = await self._read(
            lambda conn: conn.execute(_AGENT_NAME, {"agent_id": agent_id}).scalar()
        )
        return None if name is None else str(name)

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

    async def token_hash(self, agent_id: str) -> Optional[str]:
        """The stored hash of the agent's token, or None for an unknown agent.

        The key their event-stream tickets are signed with
        (`inbox.stream_tickets`): every replica reads the same hash, and a new
        or retired token voids the tickets made with the old one.
        """
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(agents_table.c.token_hash).where(
                        agents_table.c.id == agent_id
                    )
                )
            ).first()
        return None if row is None else str(row.token_hash)

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

    async def touch_agent(self, agent_id: str) -> bool:
        """Records that an online agent's page is still there (a heartbeat).

        Args:
            agent_id: The agent.

        Returns:
            Whether the agent is online (an offline agent stays offline: going
            online is the agent's decision, not their page's).

        """
        table = agents_table
        async with self._transaction() as conn:
            result = await conn.execute(
                table.update()
                .where(table.c.id == agent_id, table.c.online.is_(True))
                .values(last_seen=self.clock())
            )
        return bool(result.rowcount)

    async def expire_presence(self, seen_before: datetime) -> List[str]:
        """Marks online agents not seen since `seen_before` offline.

        Each agent is switched by one conditional `UPDATE`, so when several
        replicas sweep at once exactly one of them reports the agent.

        Args:
            seen_before: Agents whose last heartbeat is older are away.

        Returns:
            The ids of the agents this call marked offline.

        """
        table = agents_table
        stale = sa.and_(
            table.c.online.is_(True),
            sa.or_(table.c.last_seen.is_(None), table.c.last_seen < seen_before),
        )
        async with self.engine.connect() as conn:
            candidates = (await conn.execute(sa.select(table.c.id).where(stale))).all()
        expired: List[str] = []
        for (agent_id,) in candidates:
            async with self._transaction() as conn:
                result = await conn.execute(
                    table.update()
                    .where(table.c.id == agent_id, stale)
                    .values(online=False)
                )
            if result.rowcount:
                expired.append(str(agent_id))
        return expired

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
        return [agent_from_row(row) for row in rows]
