"""Presence: whether an online agent's page is still there (pure decisions).

An agent is *online* while they say so (the availability switch) **and** their
page keeps reporting in: its event stream (or `POST api/agents/me/heartbeat`)
refreshes the agent's `last_seen` every `heartbeat_seconds`. One who has not
reported in for the grace period is *away*: routing skips them at once, and the
presence check (every `check_seconds`) marks them offline and returns their
unaccepted tickets (`InboxService.expire_absent`).

`last_seen` lives in the database, so replicas sharing PostgreSQL agree on who
is there, and nobody is online after a restart unless their page reconnects.

Nothing here imports Sanic, SQLAlchemy or Rasa.
"""

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import List, Optional, Sequence

from rasa_handover.inbox.models import Agent

# A page reports in this often at most (a third of the grace when that is
# shorter), so one lost heartbeat never makes its agent away.
MAX_HEARTBEAT_SECONDS = 15.0
# Absent agents are looked for this often at most (a quarter of the grace).
MAX_CHECK_SECONDS = 5.0


@dataclass(frozen=True)
class Presence:
    """The presence rules for one grace period.

    Attributes:
        grace: How long an online agent may go without reporting in; None
            switches presence off (agents stay online until they go offline).

    """

    grace: Optional[timedelta] = None

    @property
    def heartbeat_seconds(self) -> float:
        """How often an agent's page should report in."""
        if self.grace is None:
            return MAX_HEARTBEAT_SECONDS
        return min(MAX_HEARTBEAT_SECONDS, self.grace.total_seconds() / 3)

    @property
    def check_seconds(self) -> float:
        """How often to look for absent agents (0: presence is off)."""
        if self.grace is None:
            return 0.0
        return min(MAX_CHECK_SECONDS, self.grace.total_seconds() / 4)

    def away_before(self, now: datetime) -> Optional[datetime]:
        """Agents last heard from before this moment are away (None: never)."""
        return None if self.grace is None else now - self.grace

    def is_present(self, agent: Agent, now: datetime) -> bool:
        """Whether `agent` is online and heard from within the grace period."""
        cutoff = self.away_before(now)
        if not agent.online or cutoff is None:
            return agent.online
        return agent.last_seen is not None and agent.last_seen >= cutoff

    def apply(self, agents: Sequence[Agent], now: datetime) -> List[Agent]:
        """The agents as routing must see them: the away ones offline."""
        return [
            agent
            if self.is_present(agent, now) or not agent.online
            else dataclasses.replace(agent, online=False)
            for agent in agents
        ]
