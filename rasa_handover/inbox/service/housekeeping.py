"""The periodic work: grown waits, idle tickets, absent agents.

`Housekeeping` re-estimates waiting tickets and tells customers whose wait grew
(`refresh_waits`) and expires tickets nobody picked up (`expire_idle`);
`housekeeping` runs the whole round (absent agents, idle tickets, a dispatch,
grown waits), as the API does every `api.HOUSEKEEPING_INTERVAL_SECONDS`.
"""

import logging
from typing import List

from rasa_handover.inbox.contract import REQUEUE_WAIT_GREW
from rasa_handover.inbox.models import STATUS_WAITING, Ticket
from rasa_handover.inbox.service.agent_presence import AgentPresence
from rasa_handover.inbox.views import TicketView
from rasa_handover.inbox.wait_estimate import should_update_customer

logger = logging.getLogger(__name__)


class Housekeeping(AgentPresence):
    """Background work on the queue: waits, idle tickets, absent agents."""

    # --- Housekeeping. ----------------------------------------------------------

    async def refresh_waits(self) -> List[TicketView]:
        """Re-estimates every waiting ticket; publishes the ones that grew.

        Call it periodically (the API does, every
        `api.HOUSEKEEPING_INTERVAL_SECONDS`). A grown estimate is stored and
        published as a `queued` event so the channel can tell the customer.

        Returns:
            The views of tickets whose customers should hear a new estimate.

        """
        grown: List[TicketView] = []
        for ticket in await self.store.list_queue(statuses=(STATUS_WAITING,)):
            estimate, _ = await self._estimate(ticket)
            if not should_update_customer(
                ticket.estimated_wait_seconds, estimate.seconds
            ):
                continue
            change = await self.store.mark_queued(
                ticket.id,
                ticket.no_agent_reason,
                estimate.seconds,
                [REQUEUE_WAIT_GREW],
                reason=REQUEUE_WAIT_GREW,
            )
            await self._events.publish(change)
            grown.append(await self.view(change.ticket, created=False))
        return grown

    async def expire_idle(self) -> List[Ticket]:
        """Ends the tickets nobody picked up and nothing happened to for a while.

        Waiting and assigned (not accepted) tickets without a message, an
        assignment or a pickup for `expire_idle_after` expire (not messages
        left for a reply by e-mail: they wait for it); their `expired`
        events tell the customers (through the channel) and the agents' pages,
        and the agents they were assigned to get the capacity back.

        Returns:
            The tickets this call expired.

        """
        if self.expire_idle_after is None:
            return []
        cutoff = self.store.clock() - self.expire_idle_after
        changes = await self.store.expire_idle(
            cutoff, self.expire_idle_after.total_seconds()
        )
        for change in changes:
            logger.info("Ticket %s expired: idle since %s", change.ticket.id, cutoff)
            await self._events.publish(change)
        return [change.ticket for change in changes]

    async def housekeeping(self) -> None:
        """Background work: absent agents, idle tickets, dispatch, waits."""
        await self.expire_absent()
        await self.expire_idle()
        await self._dispatch()
        await self.refresh_waits()
