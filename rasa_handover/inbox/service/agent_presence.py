"""Whether agents are there: availability, heartbeats, absent agents.

`AgentPresence` marks agents online or offline, records their pages'
heartbeats and, with a presence grace period (`presence.Presence`), marks the
silent ones away. A departing agent's unaccepted tickets go back to the queue
and are routed again (`_return_tickets`).
"""

import logging
from typing import List

from rasa_handover.inbox.contract import REQUEUE_AGENT_AWAY, REQUEUE_AGENT_OFFLINE
from rasa_handover.inbox.errors import ConflictError
from rasa_handover.inbox.models import STATUS_ASSIGNED, STATUS_WAITING, Agent
from rasa_handover.inbox.service.base import ServiceBase

logger = logging.getLogger(__name__)


class AgentPresence(ServiceBase):
    """Agents' availability and presence, and the tickets they leave behind."""

    # --- Availability. ----------------------------------------------------------

    async def set_availability(self, agent: Agent, online: bool) -> Agent:
        """Marks an agent online or offline and rebalances the queue.

        Going offline returns the agent's not-yet-accepted tickets to the queue
        (they would otherwise wait for someone who left); coming online gives
        them waiting tickets at once.

        Args:
            agent: The agent.
            online: The new availability.

        Returns:
            The updated agent.

        """
        updated = await self.store.set_availability(agent.id, online)
        self._events.signal_change()
        if online:
            await self._dispatch()
        else:
            await self._return_tickets(agent.id, REQUEUE_AGENT_OFFLINE)
        refreshed = await self.store.get_agent(agent.id)
        return refreshed or updated

    # --- Presence. --------------------------------------------------------------

    async def heartbeat(self, agent: Agent) -> bool:
        """The agent's page is still there (called by their event stream).

        Returns:
            Whether the agent is online.

        """
        return await self.store.touch_agent(agent.id)

    async def expire_absent(self) -> List[str]:
        """Marks agents whose page went silent for the grace period as away.

        Their unaccepted tickets go back to the queue, to another online agent
        if there is one; the customers who still wait are told.

        Returns:
            The ids of the agents marked away by this call.

        """
        cutoff = self.presence.away_before(self.store.clock())
        if cutoff is None:
            return []
        gone = await self.store.expire_presence(cutoff)
        for agent_id in gone:
            logger.info("Agent %s is away: their page stopped reporting in", agent_id)
            self._events.signal_change()
            await self._return_tickets(agent_id, REQUEUE_AGENT_AWAY)
        return gone

    async def _return_tickets(self, agent_id: str, reason: str) -> None:
        """Puts a departed agent's unaccepted tickets back and routes them again.

        A ticket another agent gets is announced by its `assigned` event; the
        customers still waiting hear the new wait (a `queued` event with
        the reason and why no agent was found).
        """
        returned: List[int] = []
        for ticket in await self.store.list_queue(statuses=(STATUS_ASSIGNED,)):
            if ticket.agent_id != agent_id:
                continue
            try:
                change = await self.store.requeue(ticket.id, reason)
            except ConflictError:
                continue  # Accepted in the meantime: it stays with the agent.
            await self._events.publish(change)
            returned.append(ticket.id)
        decisions = await self._dispatch()
        for ticket_id in returned:
            current = await self.store.require_ticket(ticket_id)
            if current.status != STATUS_WAITING:
                continue
            decision = decisions.get(ticket_id)
            estimate, _ = await self._estimate(current)
            change = await self.store.mark_queued(
                ticket_id,
                decision.no_agent_reason if decision is not None else None,
                estimate.seconds,
                decision.notes if decision is not None else (),
                reason=reason,
            )
            # With its reason: the customer was told an agent is coming and
            # must hear otherwise (`publisher.customer_facing`).
            await self._events.publish(change)
