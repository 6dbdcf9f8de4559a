"""The inbox's business operations, shared by the HTTP API and the embedded channel.

`InboxService` turns a handover request into a routed ticket with an honest wait
estimate, relays messages both ways, and lets agents claim, answer, transfer and
resolve tickets. The embedded channel calls it directly (no HTTP); the standalone
app exposes it through `rasa_handover.inbox.api`.

Subscribers (`subscribe()`) learn about what the customer must hear: an agent's
message, an assignment or acceptance, a transfer, a resolution, a grown wait, a
ticket back in the queue because its agent left.

Presence (`presence.Presence`): with a grace period, an online agent counts as
there only while their page reports in (`heartbeat()`, called by the event
stream); `expire_absent()` marks the silent ones offline and gives their
unaccepted tickets to others.
"""

import dataclasses
import logging
from datetime import datetime, timedelta, timezone
from typing import (
    Any,
    Callable,
    Collection,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
)

from rasa_handover.inbox.access import TicketScope, may_see, reaches, scope_for
from rasa_handover.inbox.config import (
    ALTERNATIVE_EMAIL,
    DEFAULT_ALTERNATIVES,
    InboxConfig,
)
from rasa_handover.inbox.contract import (
    NO_AGENT_ALL_BUSY,
    NO_AGENT_OUTSIDE_HOURS,
    REQUEUE_AGENT_AWAY,
    REQUEUE_AGENT_OFFLINE,
    REQUEUE_WAIT_GREW,
    SENDER_AGENT,
    SENDER_CUSTOMER,
)
from rasa_handover.inbox.email_delivery import (
    REPLY_BY_EMAIL,
    EmailReplies,
    EmailSettings,
)
from rasa_handover.inbox.errors import (
    AtCapacityError,
    ConflictError,
    NotFoundError,
    ValidationError,
)
from rasa_handover.inbox.models import (
    STATUS_ACTIVE,
    STATUS_ASSIGNED,
    STATUS_CALLBACK,
    STATUS_WAITING,
    TIER_SENIOR,
    Agent,
    LifecycleEvent,
    Ticket,
    TicketMessage,
    iso,
)
from rasa_handover.inbox.presence import Presence
from rasa_handover.inbox.publisher import EventListener, EventPublisher
from rasa_handover.inbox.router import (
    DEFAULT_CONTINUITY_WINDOW,
    BusinessHours,
    FallbackChains,
    RoutingDecision,
    RoutingRequest,
    route,
    route_steps,
    works,
)
from rasa_handover.inbox.store import InboxStore
from rasa_handover.inbox.views import HandoverRequestFields, TicketView
from rasa_handover.inbox.wait_estimate import (
    PICKUP_SAMPLE_SIZE,
    WaitEstimate,
    estimate_wait,
    format_wait,
    should_update_customer,
)

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class RelayedMessage:
    """A customer's message on their open ticket (`InboxService.relay_and_view`).

    Attributes:
        view: The ticket's view (the channel's waiting room reads it).
        message: The stored message.
        repeated: It had been stored before, under the same client message id
            (a retry): nothing was stored or announced now.

    """

    view: TicketView
    message: TicketMessage
    repeated: bool


class InboxService:
    """Tickets, routing and messages on top of an `InboxStore`."""

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

    @classmethod
    def from_config(
        cls,
        config: InboxConfig,
        db_url: Optional[str] = None,
        schema: Optional[str] = None,
    ) -> "InboxService":
        """The service an inbox configuration describes (embedded or standalone).

        Args:
            config: Business hours, continuity window, alternatives, database.
            db_url: Database URL instead of `config.db_url`.
            schema: PostgreSQL schema for the tables.

        Returns:
            The service (call `start()` before use).

        """
        return cls(
            InboxStore(db_url or config.db_url, schema=schema),
            hours=config.hours,
            continuity_window=config.continuity_window,
            alternatives=config.alternatives,
            routing=config.routing,
            presence_grace=config.presence_grace,
            supervisors=config.supervisor_ids,
            expire_idle_after=config.expire_idle_after,
            email=config.email,
        )

    # --- Lifecycle and subscriptions. -------------------------------------------

    async def start(
        self, agents: Sequence[Mapping[str, Any]] = (), retire_unlisted: bool = False
    ) -> None:
        """Creates the tables and seeds agents; safe to call more than once.

        Args:
            agents: Agent profiles as keyword arguments of
                `InboxStore.upsert_agent` (id, name, token, teams, ...).
            retire_unlisted: `agents` is the whole configuration: every other
                agent in the database is retired (their token stops working,
                their unaccepted tickets go back to the queue).

        """
        if not self._started:
            await self.store.create_all()
            self._started = True
        retired: List[str] = []
        if retire_unlisted:
            # First: a renamed agent's token is then free for their new id.
            retired = await self.store.retire_agents(
                {str(profile["agent_id"]) for profile in agents}
            )
        for profile in agents:
            await self.store.upsert_agent(**profile)
        for agent_id in retired:
            await self._return_tickets(agent_id, REQUEUE_AGENT_OFFLINE)
        # Online before a restart is not online now: only a page that reports
        # in within the grace period keeps its agent.
        await self.expire_absent()

    async def close(self) -> None:
        """Releases the database connections."""
        await self.store.close()

    def subscribe(self, listener: EventListener) -> Callable[[], None]:
        """Registers `async def listener(event, ticket)` (see `EventPublisher`).

        Returns:
            A function that unsubscribes the listener.

        """
        return self._events.subscribe(listener)

    async def wait_for_change(self, timeout: float) -> bool:
        """Waits until this process records any change, or `timeout` seconds.

        Returns:
            True if something changed.

        """
        return await self._events.wait_for_change(timeout)

    def changed_elsewhere(self) -> None:
        """Wakes the waiting event streams: another replica wrote an event."""
        self._events.signal_change()

    # --- Customer side (called by the channel). ---------------------------------

    async def request_handover(
        self, conversation_id: str, attempt: int, payload: Mapping[str, Any]
    ) -> TicketView:
        """Opens (or, on a retry, returns) the ticket for a handover and routes it.

        Args:
            conversation_id: Rasa's sender id.
            attempt: Counts handovers within the conversation; a retry of the same
                handover must reuse the number.
            payload: The context payload (see `HandoverRequestFields`).

        Returns:
            What to tell the customer: agent name or queue position, wait,
            alternatives.

        Raises:
            ValidationError: empty conversation id or attempt < 1.

        """
        ticket, created = await self._create_ticket(conversation_id, attempt, payload)
        if not created:
            return await self.view(ticket, created=False)
        self._events.signal_change()
        # Dispatch the whole team's queue, not only this ticket: customers who
        # were waiting before get the first free agent.
        decisions = await self._dispatch(teams={ticket.team})
        decision = decisions.get(ticket.id)
        current = await self.store.require_ticket(ticket.id)
        notes = list(decision.notes) if decision is not None else []
        if current.status == STATUS_WAITING:
            reason = decision.no_agent_reason if decision is not None else None
            estimate = await self._estimate(current)
            change = await self.store.mark_queued(
                current.id, reason, estimate[0].seconds, notes
            )
            current = change.ticket
        return await self.view(current, created=True, notes=notes)

    async def relay_customer_message(
        self, conversation_id: str, text: str, client_message_id: Optional[str] = None
    ) -> bool:
        """Adds a customer's message to their open ticket.

        Args:
            conversation_id: Rasa's sender id.
            text: What the customer wrote.
            client_message_id: The channel's idempotency key (`relay_and_view`).

        Returns:
            False if the conversation has no open ticket (the bot should answer).

        Raises:
            ValidationError: empty text.

        """
        relayed = await self.relay_and_view(conversation_id, text, client_message_id)
        return relayed is not None

    async def relay_and_view(
        self, conversation_id: str, text: str, client_message_id: Optional[str] = None
    ) -> Optional[RelayedMessage]:
        """Adds a customer's message to their open ticket, with the ticket's view.

        The channel's waiting room reads the view (status, wait) to decide
        whether the customer hears an acknowledgement.

        Args:
            conversation_id: Rasa's sender id.
            text: What the customer wrote.
            client_message_id: The channel's idempotency key: a message the
                ticket has under this id already is not stored again (and no
                second event is announced); the answer is the one stored first.

        Returns:
            None if the conversation has no open ticket (the bot should answer).

        Raises:
            ValidationError: empty text.

        """
        change = await self.store.add_customer_message(
            conversation_id, text, client_message_id
        )
        if change is None:
            return None
        await self._events.publish(change)
        assert change.message is not None
        view = await self.view(change.ticket, created=False)
        return RelayedMessage(view, change.message, repeated=change.event is None)

    async def record_csat(self, conversation_id: str, score: int) -> Optional[Ticket]:
        """The customer rated the conversation's latest resolved ticket.

        Returns:
            The ticket with its score, or None: nothing resolved to rate.

        Raises:
            ValidationError: the score is not on the scale (`CSAT_SCORES`).

        """
        return await self.store.record_csat(conversation_id, score)

    async def schedule_callback(
        self,
        conversation_id: str,
        when_text: Optional[str],
        contact: Optional[str],
        payload: Mapping[str, Any],
        due_at: Optional[str] = None,
    ) -> TicketView:
        """Records that the customer wants to be called back instead of waiting.

        An open ticket of the conversation becomes the callback request (the
        customer leaves the queue); otherwise a new callback ticket is created
        for the next attempt (or `payload["attempt"]`). Repeating the request
        returns the existing callback ticket.

        Args:
            conversation_id: Rasa's sender id.
            when_text: When the customer wants the call, as they said it.
            contact: Phone number or e-mail address.
            payload: The context payload.
            due_at: When, as an ISO 8601 timestamp (orders the callbacks list).

        Returns:
            The callback ticket's view.

        Raises:
            ValidationError: empty contact.

        """
        if not contact or not contact.strip():
            raise ValidationError("contact must not be empty", "contact")
        callback = {
            "when": when_text,
            "due_at": due_at,
            "contact": contact,
            "requested_at": iso(self.store.clock()),
        }
        tickets = await self.store.tickets_for_conversation(conversation_id)
        latest = tickets[-1] if tickets else None
        if latest is not None and latest.status == STATUS_CALLBACK:
            return await self.view(latest, created=False)
        if latest is not None and latest.is_open:
            change = await self.store.set_callback(latest.id, callback)
            await self._events.publish(change)
            return await self.view(change.ticket, created=True)
        requested = payload.get("attempt")
        attempt = (
            requested
            if isinstance(requested, int) and not isinstance(requested, bool)
            else await self.store.next_attempt(conversation_id)
        )
        ticket, created = await self._create_ticket(
            conversation_id,
            attempt,
            payload,
            status=STATUS_CALLBACK,
            callback=callback,
        )
        if created:
            self._events.signal_change()
        return await self.view(ticket, created=created)

    async def leave_message(
        self,
        conversation_id: str,
        email: str,
        message: Optional[str],
        payload: Mapping[str, Any],
        client_message_id: Optional[str] = None,
    ) -> TicketView:
        """The customer leaves a message: the ticket waits, the reply goes by e-mail.

        The open ticket of the conversation (or a new one) stays in the queue,
        marked async; the message is added to it (once per `client_message_id`:
        a retried call does not store it twice); every agent reply on it is
        e-mailed to `email` (and still reaches the chat).

        Raises:
            ValidationError: e-mail is not configured, or `email` is empty.

        """
        if self.email_replies is None:
            raise ValidationError(
                "this inbox has no email: settings, so it cannot reply by e-mail",
                "email",
            )
        if not email or "@" not in email:
            raise ValidationError("email must be an e-mail address", "email")
        details = {
            "kind": REPLY_BY_EMAIL,
            "contact": email.strip(),
            "requested_at": iso(self.store.clock()),
        }
        ticket = await self.store.active_ticket_for_conversation(conversation_id)
        if ticket is None:
            attempt = await self.store.next_attempt(conversation_id)
            ticket, _ = await self._create_ticket(conversation_id, attempt, payload)
            await self._dispatch(teams={ticket.team})
        change = await self.store.set_reply_by_email(ticket.id, details)
        await self._events.publish(change)
        if message and message.strip():
            change = await self.store.add_message(
                ticket.id,
                SENDER_CUSTOMER,
                message,
                client_message_id=client_message_id,
            )
            await self._events.publish(change)
        return await self.view(await self.store.require_ticket(ticket.id), False)

    async def callbacks(self, teams: Optional[Sequence[str]] = None) -> List[Ticket]:
        """Callback requests, the soonest due first (no time given: last).

        Args:
            teams: Only these teams (None: all).

        """
        tickets = await self.store.list_queue(teams=teams, statuses=(STATUS_CALLBACK,))
        return sorted(tickets, key=_due_key)

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
        return tickets, sorted(callbacks, key=_due_key)

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


def _due_key(ticket: Ticket) -> Tuple[int, str, str]:
    """Sorts callbacks by due time (ISO strings of one zone), undated last."""
    due = (ticket.callback or {}).get("due_at")
    if not due:
        return (1, "", iso(ticket.created_at) or "")
    try:
        text = str(due)
        text = text[:-1] + "+00:00" if text.endswith("Z") else text  # Python 3.10
        moment = datetime.fromisoformat(text).astimezone(timezone.utc)
    except ValueError:
        return (1, "", iso(ticket.created_at) or "")
    return (0, moment.isoformat(), iso(ticket.created_at) or "")
