"""What every part of the inbox service shares.

`ServiceBase` holds the service's state (store, business hours, routing,
presence, supervisors, event publisher) and what every operation builds on:
routing waiting tickets to agents with capacity, estimating a waiting ticket's
wait, creating a ticket from a handover payload, and the customer's view of a
ticket.
"""

import dataclasses
from datetime import timedelta
from typing import Any, Collection, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from rasa_handover.inbox.access import reaches
from rasa_handover.inbox.config import ALTERNATIVE_EMAIL, DEFAULT_ALTERNATIVES
from rasa_handover.inbox.contract import NO_AGENT_ALL_BUSY, NO_AGENT_OUTSIDE_HOURS
from rasa_handover.inbox.email_delivery import EmailReplies, EmailSettings
from rasa_handover.inbox.errors import AtCapacityError, ConflictError, NotFoundError
from rasa_handover.inbox.models import (
    STATUS_ACTIVE,
    STATUS_ASSIGNED,
    STATUS_CALLBACK,
    STATUS_WAITING,
    TIER_SENIOR,
    Agent,
    Ticket,
    iso,
)
from rasa_handover.inbox.presence import Presence
from rasa_handover.inbox.publisher import EventPublisher
from rasa_handover.inbox.router import (
    DEFAULT_CONTINUITY_WINDOW,
    BusinessHours,
    FallbackChains,
    RoutingDecision,
    RoutingRequest,
    route,
)
from rasa_handover.inbox.store import InboxStore
from rasa_handover.inbox.views import HandoverRequestFields, TicketView
from rasa_handover.inbox.wait_estimate import (
    PICKUP_SAMPLE_SIZE,
    WaitEstimate,
    estimate_wait,
    format_wait,
)


class ServiceBase:
    """The state every part of `InboxService` shares, and the routing they all use.

    Holds the store, the routing settings and the event publisher; routes
    waiting tickets to agents (`_dispatch`), estimates waits (`_estimate`),
    creates tickets (`_create_ticket`) and tells the customer where they
    stand (`view`).
    """

    def __init__(
        self,
        store: InboxStore,
        hours: Optional[BusinessHours] = None,
        continuity_window: timedelta = DEFAULT_CONTINUITY_WINDOW,
        alternatives: Sequence[str] = DEFAULT_ALTERNATIVES,
        routing: Optional[FallbackChains] = None,
        presence_grace: Optional[timedelta] = None,
        supervisors: Collection[str] = (),
        expire_idle_after: Optional[timedelta] = None,
        email: Optional[EmailSettings] = None,
    ) -> None:
        """Creates the service.

        Args:
            store: Where tickets live.
            hours: When agents work (default: always).
            continuity_window: How recently an agent must have helped a customer
                to get their next handover first.
            routing: The teams' fallback chains (default: `[general, any]`).
            presence_grace: How long an online agent may go without a
                heartbeat before they are away; None: presence off (agents stay
                online until they go offline).
            supervisors: Ids of the agents who see and act on every ticket.
            expire_idle_after: How long a waiting or assigned ticket may stay
                idle before it expires; None: never.
            alternatives: Offered when no agent is assigned; `email` only
                with `email` settings (nothing else would send the reply).
            email: Sends agents' replies to messages left for them.

        """
        self.store = store
        self.hours = hours or BusinessHours()
        self.continuity_window = continuity_window
        self.alternatives = [
            item for item in alternatives if item != ALTERNATIVE_EMAIL or email
        ]
        self.routing = routing or FallbackChains()
        self.presence = Presence(presence_grace)
        self.supervisors = frozenset(supervisors)
        self.expire_idle_after = expire_idle_after
        self._events = EventPublisher()
        self.email_replies: Optional[EmailReplies] = None
        if email is not None:
            self.email_replies = EmailReplies(email, store)
            self._events.subscribe(self.email_replies)
        self._started = False

    # --- Views. -----------------------------------------------------------------

    async def view(
        self, ticket: Ticket, created: bool, notes: Sequence[str] = ()
    ) -> TicketView:
        """What the customer should hear about `ticket` right now.

        Args:
            ticket: The ticket (with its current queue position).
            created: Whether this call created it.
            notes: Routing notes to pass on.

        Returns:
            The view.

        """
        agent_name = None
        if ticket.agent_id is not None:
            agent_name = await self.store.agent_name(ticket.agent_id)
        base = TicketView(
            ticket_id=ticket.id,
            status=ticket.status,
            created=created,
            team=ticket.team,
            agent_name=agent_name,
            conversation_id=ticket.conversation_id,
            attempt=ticket.attempt,
            notes=list(notes),
        )
        if ticket.status in (STATUS_ASSIGNED, STATUS_ACTIVE):
            return dataclasses.replace(
                base, estimated_wait_seconds=0, wait_text=format_wait(0)
            )
        if ticket.status == STATUS_CALLBACK:
            return dataclasses.replace(base, no_agent_reason=ticket.no_agent_reason)
        if ticket.status != STATUS_WAITING:
            return base
        estimate, opens_at = await self._estimate(ticket)
        return dataclasses.replace(
            base,
            queue_position=ticket.queue_position,
            estimated_wait_seconds=estimate.seconds,
            wait_text=format_wait(estimate.seconds),
            wait_basis=estimate.basis,
            no_agent_reason=ticket.no_agent_reason,
            alternatives=list(self.alternatives),
            opens_at=opens_at,
        )

    # --- Internals. -------------------------------------------------------------

    async def _create_ticket(
        self,
        conversation_id: str,
        attempt: int,
        payload: Mapping[str, Any],
        **extra: Any,
    ) -> Tuple[Ticket, bool]:
        """Creates (idempotently) a ticket in the team the payload names.

        The ticket keeps that team even when nobody works it: the fallback chain
        finds someone else, and a specialist can still take it over.

        Returns:
            The ticket and whether it was created now.

        """
        fields = HandoverRequestFields.from_payload(payload)
        ticket, created = await self.store.create_ticket(
            conversation_id,
            attempt,
            payload,
            team=fields.team,
            language=fields.language,
            tier=fields.tier,
            channel=fields.channel,
            reason=fields.reason,
            customer_name=fields.customer_name,
            **extra,
        )
        return ticket, created

    async def _estimate(self, ticket: Ticket) -> Tuple[WaitEstimate, Optional[str]]:
        """The wait for a waiting ticket, and when the inbox opens if closed."""
        now = self.store.clock()
        samples = await self.store.recent_pickup_seconds(
            ticket.team, PICKUP_SAMPLE_SIZE
        )
        position = ticket.queue_position or 1
        if not self.hours.is_open(now):
            opening = self.hours.next_opening(now)
            estimate = estimate_wait(position, samples, 0)
            if opening is None:
                return estimate, None
            closed_for = int((opening - now).total_seconds())
            return (
                dataclasses.replace(estimate, seconds=estimate.seconds + closed_for),
                iso(opening),
            )
        agents = await self._agents_now()
        free = sum(
            1
            for agent in agents
            if agent.online
            and agent.has_capacity
            and reaches(agent, ticket, agents, self.routing)
        )
        return estimate_wait(position, samples, free), None

    async def _dispatch(
        self, teams: Optional[Set[str]] = None
    ) -> Dict[int, RoutingDecision]:
        """Routes waiting tickets (oldest first) to agents with capacity.

        Args:
            teams: Only tickets of these teams (None: all).

        Returns:
            The routing decision for each waiting ticket that was considered.

        """
        waiting = await self.store.list_queue(teams=teams, statuses=(STATUS_WAITING,))
        if not waiting:
            return {}
        now = self.store.clock()
        if not self.hours.is_open(now):
            # Closed for everyone: no need to look at agents or history.
            return {
                ticket.id: RoutingDecision(None, ticket.team, NO_AGENT_OUTSIDE_HOURS)
                for ticket in waiting
            }
        agents = {agent.id: agent for agent in await self._agents_now()}
        handed_on = await self.store.transferred_by(ticket.id for ticket in waiting)
        decisions: Dict[int, RoutingDecision] = {}
        for ticket in waiting:
            previous_id, previous_at = None, None
            previous = await self.store.last_agent_for_conversation(
                ticket.conversation_id
            )
            if previous is not None:
                previous_id, previous_at = previous
            skip = handed_on.get(ticket.id)
            candidates = [a for a in agents.values() if a.id != skip]
            request = RoutingRequest(
                team=ticket.team,
                language=ticket.language,
                high_value=ticket.tier == TIER_SENIOR,
                previous_contact_at=previous_at,
            )
            decision = route(
                request,
                candidates,
                now,
                self.hours,
                previous_id,
                self.continuity_window,
                # A transfer names the team on purpose: no fallback from it.
                () if skip else self.routing.chain(ticket.team),
            )
            decisions[ticket.id] = decision
            if decision.agent is None:
                continue
            evidence = {
                "rule": decision.rule,
                "routed_via": decision.routed_via,
                "notes": list(decision.notes),
            }
            chosen = agents[decision.agent.id]
            try:
                change = await self.store.assign(ticket.id, chosen.id, evidence)
            except AtCapacityError:
                # Another request filled the agent up meanwhile.
                agents[chosen.id] = dataclasses.replace(
                    chosen, active_tickets=max(chosen.capacity, chosen.active_tickets)
                )
                decisions[ticket.id] = RoutingDecision(
                    None, ticket.team, NO_AGENT_ALL_BUSY, notes=decision.notes
                )
                continue
            except (ConflictError, NotFoundError):
                continue  # Claimed or routed by another replica meanwhile.
            await self._events.publish(change)
            agents[chosen.id] = dataclasses.replace(
                chosen, active_tickets=chosen.active_tickets + 1
            )
        return decisions

    async def _agents_now(self) -> List[Agent]:
        """Every agent; with presence on, the away ones count as offline."""
        return self.presence.apply(await self.store.list_agents(), self.store.clock())
