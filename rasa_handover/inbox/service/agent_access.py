"""What an agent may see: their queue, their event stream's teams, a ticket.

`AgentAccess` decides, through `rasa_handover.inbox.access`, which tickets and
callback requests an agent's queue shows, which teams' events their stream
carries, and whether they may see and act on a ticket (`authorise`);
supervisors see every ticket.
"""

from typing import List, Optional, Tuple

from rasa_handover.inbox.access import TicketScope, may_see, scope_for
from rasa_handover.inbox.errors import NotFoundError
from rasa_handover.inbox.models import (
    STATUS_CALLBACK,
    Agent,
    LifecycleEvent,
    Ticket,
    TicketMessage,
)
from rasa_handover.inbox.router import route_steps, works
from rasa_handover.inbox.service.alternatives import by_due_time
from rasa_handover.inbox.service.base import ServiceBase


class AgentAccess(ServiceBase):
    """The agent's queue and the tickets they may see and act on."""

    # --- Queue and access. ------------------------------------------------------

    async def queue_for(self, agent: Agent) -> Tuple[List[Ticket], List[Ticket]]:
        """The open tickets and callback requests an agent should see.

        Args:
            agent: The agent.

        Returns:
            `(tickets, callbacks)`: tickets the agent may take (their teams, and
            teams whose fallback chain reaches them) plus their own, oldest
            first; callbacks the soonest due first.

        """
        agents = await self.store.list_agents()
        supervisor = self.is_supervisor(agent)
        tickets = [
            ticket
            for ticket in await self.store.list_queue(agent_id=agent.id)
            if may_see(agent, ticket, agents, self.routing, supervisor)
        ]
        callbacks = [
            ticket
            for ticket in await self.store.list_queue(statuses=(STATUS_CALLBACK,))
            if may_see(agent, ticket, agents, self.routing, supervisor)
        ]
        return tickets, sorted(callbacks, key=by_due_time)

    async def event_teams(self, agent: Agent) -> Optional[List[str]]:
        """The teams whose events the agent's stream carries (None: every team).

        Every team when a chain that reaches the agent may apply to teams not
        known here (the default chain), else their teams plus the teams whose
        chain reaches them.
        """
        agents = await self.store.list_agents()
        if self.is_supervisor(agent):
            return None
        if any(works(agent, step) for step in self.routing.default):
            return None
        known = {team for member in agents for team in member.teams}
        known.update(self.routing.by_team)
        return sorted(
            team
            for team in known
            if any(
                works(agent, step)
                for step in route_steps(team, self.routing.chain(team), agents)
            )
        )

    def is_supervisor(self, agent: Agent) -> bool:
        """Whether the agent has `role: supervisor` (sees every ticket)."""
        return agent.id in self.supervisors

    async def authorise(
        self, ticket_id: int, agent: Agent
    ) -> Tuple[Ticket, TicketScope]:
        """The ticket, if the agent may see and act on it (see `access`).

        Returns:
            The ticket and the scope the store's conditional updates repeat.

        Raises:
            NotFoundError: unknown ticket, or one the agent may not see (the
                same answer: ticket ids must not reveal other teams' tickets).

        """
        ticket = await self.store.get_ticket(ticket_id)
        supervisor = self.is_supervisor(agent)
        # The other agents matter only for a ticket the agent does not hold
        # (its team's fallback chain): no read per reply to one's own ticket.
        holds = ticket is not None and ticket.agent_id == agent.id
        agents = [] if holds or supervisor else await self.store.list_agents()
        if ticket is None or not may_see(
            agent, ticket, agents, self.routing, supervisor
        ):
            raise NotFoundError(f"unknown ticket {ticket_id}", "ticket_id")
        return ticket, scope_for(agent, ticket, supervisor)

    async def ticket_details(
        self, ticket_id: int, agent: Optional[Agent] = None
    ) -> Tuple[Ticket, List[TicketMessage], List[LifecycleEvent]]:
        """A ticket with its messages and lifecycle events.

        Args:
            ticket_id: The ticket.
            agent: Who asks (None: the system, e.g. the channel or a test).

        Raises:
            NotFoundError: unknown ticket, or one the agent may not see.

        """
        if agent is not None:
            await self.authorise(ticket_id, agent)
        ticket = await self.store.require_ticket(ticket_id)
        messages = await self.store.messages(ticket_id)
        events = await self.store.events(ticket_id=ticket_id)
        return ticket, messages, events
