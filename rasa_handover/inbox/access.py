"""Who may see and act on a ticket: one rule for every ticket operation.

An agent may see and act on a ticket (read it with its messages and events,
reply, claim, resolve, transfer) when

* they hold it (it is assigned to them or they accepted it), or
* its team is one of theirs, or its fallback chain reaches them (the same
  tickets their queue shows), or
* they are a supervisor (`role: supervisor` in inbox.yml): every ticket.

Anything else is answered as if the ticket did not exist (404, never 403:
ticket ids are sequential, existence must not leak). The store repeats the
team condition inside its conditional `UPDATE`s (`TicketScope`), so a ticket
transferred away between the check and the write is refused too.

Pure: imports nothing from Sanic or SQLAlchemy.
"""

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

from rasa_handover.inbox.models import Agent, Ticket
from rasa_handover.inbox.router import FallbackChains, route_steps, works

ROLE_AGENT = "agent"
# Sees and acts on every ticket; may take over a ticket assigned to a colleague.
ROLE_SUPERVISOR = "supervisor"
ROLES: Tuple[str, ...] = (ROLE_AGENT, ROLE_SUPERVISOR)


@dataclass(frozen=True)
class TicketScope:
    """What one authorised agent operation may touch, checked inside the UPDATE.

    Attributes:
        agent_id: The acting agent.
        teams: The ticket must (still) be in one of these teams unless the agent
            holds it; None: any team (a supervisor).
        supervisor: Whether the agent may act on tickets a colleague holds.

    """

    agent_id: str
    teams: Optional[Tuple[str, ...]]
    supervisor: bool = False


def reaches(
    agent: Agent, ticket: Ticket, agents: Sequence[Agent], chains: FallbackChains
) -> bool:
    """Whether routing could give `ticket` to `agent` (its team or its chain)."""
    steps = route_steps(ticket.team, chains.chain(ticket.team), agents)
    return any(works(agent, step) for step in steps)


def may_see(
    agent: Agent,
    ticket: Ticket,
    agents: Sequence[Agent],
    chains: FallbackChains,
    supervisor: bool = False,
) -> bool:
    """The one authorisation rule (see the module docstring)."""
    return (
        supervisor
        or ticket.agent_id == agent.id
        or reaches(agent, ticket, agents, chains)
    )


def scope_for(agent: Agent, ticket: Ticket, supervisor: bool) -> TicketScope:
    """The scope an authorised operation on `ticket` runs in."""
    return TicketScope(
        agent_id=agent.id,
        teams=None if supervisor else (ticket.team,),
        supervisor=supervisor,
    )
