"""What an agent does with a ticket: claim, reply, resolve, transfer.

`AgentActions` checks each action against what the agent may see
(`AgentAccess.authorise`), records it in the store, announces it, and routes
the queue again where the action freed an agent or moved a ticket.
"""

from typing import Optional

from rasa_handover.inbox.access import TicketScope
from rasa_handover.inbox.contract import SENDER_AGENT
from rasa_handover.inbox.errors import ValidationError
from rasa_handover.inbox.models import (
    STATUS_ACTIVE,
    STATUS_WAITING,
    Agent,
    Ticket,
    TicketMessage,
)
from rasa_handover.inbox.service.agent_access import AgentAccess
from rasa_handover.inbox.views import TicketView


class AgentActions(AgentAccess):
    """Claiming, answering, resolving and transferring tickets."""

    # --- Agent side. ------------------------------------------------------------

    async def claim(self, ticket_id: int, agent: Agent) -> Ticket:
        """The agent takes the ticket (see `InboxStore.claim`).

        Raises:
            NotFoundError: unknown ticket, or one the agent may not see.
            ConflictError: someone else holds it, or it is finished.

        """
        _, scope = await self.authorise(ticket_id, agent)
        return await self._claim(ticket_id, agent, scope)

    async def _claim(self, ticket_id: int, agent: Agent, scope: TicketScope) -> Ticket:
        change = await self.store.claim(ticket_id, agent.id, scope)
        await self._events.publish(change)
        return change.ticket

    async def agent_reply(
        self,
        ticket_id: int,
        agent: Agent,
        text: str,
        client_message_id: Optional[str] = None,
    ) -> TicketMessage:
        """Sends an agent's message to the customer.

        Replying to a ticket that is waiting, a callback, or assigned to this
        agent accepts it first: typing the first line is picking it up.

        Args:
            ticket_id: The ticket.
            agent: The replying agent.
            text: The message.
            client_message_id: The agent client's idempotency key: a retried
                reply is stored (and sent to the customer) once.

        Returns:
            The stored message (on a repeat, the one stored first).

        Raises:
            ValidationError: empty text.
            NotFoundError: unknown ticket.
            ConflictError: another agent holds it, or it is finished.

        """
        if not text or not text.strip():
            raise ValidationError("text must not be empty", "text")
        ticket, scope = await self.authorise(ticket_id, agent)
        if not (ticket.status == STATUS_ACTIVE and ticket.agent_id == agent.id):
            await self._claim(ticket_id, agent, scope)
        change = await self.store.add_message(
            ticket_id, SENDER_AGENT, text, agent.name, client_message_id
        )
        await self._events.publish(change)
        assert change.message is not None
        return change.message

    async def resolve(
        self,
        ticket_id: int,
        agent: Agent,
        outcome: Optional[str],
        note: Optional[str] = None,
        intent: Optional[str] = None,
    ) -> Ticket:
        """Closes a ticket with its outcome and gives the agent the next one.

        Args:
            ticket_id: The ticket.
            agent: The resolving agent.
            outcome: `escalation_needed`, `escalation_not_needed`,
                `should_have_come_earlier`, or None (no label).
            note: Optional free text.
            intent: The intent the customer really had (checked by the
                caller, `outcome_intents.check_outcome_intent`).

        Returns:
            The resolved ticket.

        Raises:
            ValidationError: unknown outcome.
            NotFoundError: unknown ticket, or one the agent may not see.
            ConflictError: another agent holds it, or it is finished.

        """
        _, scope = await self.authorise(ticket_id, agent)
        change = await self.store.resolve(
            ticket_id, agent.id, outcome, note, scope, intent=intent
        )
        await self._events.publish(change)
        await self._dispatch()
        return change.ticket

    async def transfer(
        self, ticket_id: int, team: str, agent: Optional[Agent] = None
    ) -> TicketView:
        """Moves a ticket to another team and routes it there.

        The ticket never goes back to the agent who transferred it (they handed
        it on on purpose), also not in later dispatch rounds.

        Args:
            ticket_id: The ticket.
            team: The new team.
            agent: Who transfers it (None: the system).

        Returns:
            The ticket's view after routing in the new team.

        Raises:
            ValidationError: empty team, or a team no agent works.
            NotFoundError: unknown ticket.
            ConflictError: finished, or another agent holds it.

        """
        teams = sorted(
            {t for member in await self.store.list_agents() for t in member.teams}
        )
        if team not in teams:
            # A typo here would park the customer in a queue nobody watches.
            raise ValidationError(
                f"no agent works team '{team}'; teams: {', '.join(teams)}", "team"
            )
        scope = None
        if agent is not None:
            _, scope = await self.authorise(ticket_id, agent)
        change = await self.store.transfer(
            ticket_id, team, agent.id if agent is not None else None, scope
        )
        await self._events.publish(change)
        decisions = await self._dispatch(teams={team})
        decision = decisions.get(ticket_id)
        current = await self.store.require_ticket(ticket_id)
        if current.status == STATUS_WAITING:
            estimate = await self._estimate(current)
            change = await self.store.mark_queued(
                ticket_id,
                decision.no_agent_reason if decision is not None else None,
                estimate[0].seconds,
                decision.notes if decision is not None else (),
            )
            current = change.ticket
        await self._dispatch()  # The transferring agent can take someone else.
        return await self.view(await self.store.require_ticket(current.id), False)
