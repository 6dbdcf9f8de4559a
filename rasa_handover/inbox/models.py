"""The inbox's vocabulary: agents, tickets, messages, lifecycle events, outcomes.

The names the channel shares (event types, senders, the default team) are in
`contract`.

Plain dataclasses and string constants, importing nothing from Sanic, SQLAlchemy
or Rasa, so that the pure decision code (router, wait estimates) and the channel
can share them without pulling in the web server or the database layer.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, Optional, Tuple

from rasa_handover.inbox.contract import DEFAULT_TEAM

# --- Ticket status. -------------------------------------------------------------
# In the queue, no agent yet.
STATUS_WAITING = "waiting"
# Routed to an agent who has not picked it up yet.
STATUS_ASSIGNED = "assigned"
# An agent accepted it and talks to the customer.
STATUS_ACTIVE = "active"
STATUS_RESOLVED = "resolved"
# Nobody picked it up in time.
STATUS_EXPIRED = "expired"
# The handover could not be delivered (e.g. the channel went away).
STATUS_FAILED = "failed"
# The customer asked to be called back instead of waiting.
STATUS_CALLBACK = "callback"

STATUSES: Tuple[str, ...] = (
    STATUS_WAITING,
    STATUS_ASSIGNED,
    STATUS_ACTIVE,
    STATUS_RESOLVED,
    STATUS_EXPIRED,
    STATUS_FAILED,
    STATUS_CALLBACK,
)
# A conversation with a ticket in one of these is "with a human": the bot is silent.
OPEN_STATUSES: Tuple[str, ...] = (STATUS_WAITING, STATUS_ASSIGNED, STATUS_ACTIVE)
# Tickets that count against an agent's capacity.
LOAD_STATUSES: Tuple[str, ...] = (STATUS_ASSIGNED, STATUS_ACTIVE)
FINAL_STATUSES: Tuple[str, ...] = (STATUS_RESOLVED, STATUS_EXPIRED, STATUS_FAILED)

# --- Agent tiers and teams. -------------------------------------------------------
TIER_STANDARD = "standard"
# High-value accounts go to senior agents first.
TIER_SENIOR = "senior"
AGENT_TIERS: Tuple[str, ...] = (TIER_STANDARD, TIER_SENIOR)

# --- Outcomes: what the agent says about the escalation when resolving. -----------
# The bot was right to hand over.
OUTCOME_NEEDED = "escalation_needed"
# The bot could have handled it: the trigger was too eager.
OUTCOME_NOT_NEEDED = "escalation_not_needed"
# The handover was right but late: the trigger was too lax.
OUTCOME_TOO_LATE = "should_have_come_earlier"
OUTCOMES: Tuple[str, ...] = (OUTCOME_NEEDED, OUTCOME_NOT_NEEDED, OUTCOME_TOO_LATE)


@dataclass(frozen=True)
class Agent:
    """A human agent who works the inbox.

    Attributes:
        id: Stable identifier (from the config file, or derived from the name).
        name: Shown to the customer ("Maya will be with you shortly").
        token_hash: SHA-256 hex digest of the agent's API token; the token itself
            is never stored.
        teams: Teams (skills) the agent works, e.g. ("billing", "general").
        languages: Language codes the agent speaks, e.g. ("en", "de").
        tier: `TIER_STANDARD` or `TIER_SENIOR`.
        capacity: How many tickets the agent handles at once.
        online: Whether the agent is available for new tickets.
        active_tickets: Tickets currently assigned to or accepted by the agent.
        last_seen: When the agent last changed availability or their page last
            reported in (a heartbeat), UTC.

    """

    id: str
    name: str
    token_hash: str = ""
    teams: Tuple[str, ...] = (DEFAULT_TEAM,)
    languages: Tuple[str, ...] = ("en",)
    tier: str = TIER_STANDARD
    capacity: int = 1
    online: bool = False
    active_tickets: int = 0
    last_seen: Optional[datetime] = None

    @property
    def has_capacity(self) -> bool:
        """Whether the agent can take one more ticket right now."""
        return self.active_tickets < self.capacity

    @property
    def load(self) -> float:
        """Share of the capacity in use; an agent with no capacity is full."""
        if self.capacity <= 0:
            return 1.0
        return self.active_tickets / self.capacity

    def to_dict(self) -> Dict[str, Any]:
        """Returns the agent as JSON-ready data, without the token hash."""
        return {
            "id": self.id,
            "name": self.name,
            "teams": list(self.teams),
            "languages": list(self.languages),
            "tier": self.tier,
            "capacity": self.capacity,
            "online": self.online,
            "active_tickets": self.active_tickets,
            "last_seen": iso(self.last_seen),
        }


@dataclass(frozen=True)
class Ticket:
    """One handover of one conversation to the humans.

    `(conversation_id, attempt)` is unique: the channel retries a handover with
    the same attempt number and gets the same ticket back.

    Attributes:
        id: Database identifier.
        conversation_id: Rasa's sender id.
        attempt: Counts the handovers within the conversation (1, 2, ...).
        status: One of `STATUSES`.
        team: The queue the ticket waits in.
        language: The customer's detected language, if known.
        tier: The agent tier wanted (`TIER_SENIOR` for high-value accounts).
        channel: The customer's input channel (e.g. "socketio", "rest").
        reason: The reason code of the trigger that fired.
        customer_name: For the agent's greeting.
        payload: The full context payload the bot gathered.
        agent_id: The agent it is assigned to or accepted by.
        created_at: When the handover was requested (UTC).
        assigned_at: When the router assigned it.
        accepted_at: When an agent accepted it.
        resolved_at: When it reached a final status.
        queue_position: 1-based position among waiting tickets of its team
            (None unless waiting).
        estimated_wait_seconds: The wait estimate last told to the customer.
        callback: `{"when": ..., "contact": ...}` for callback requests.
        outcome: The agent's verdict on the escalation (`OUTCOMES`); None
            while open and for a ticket resolved without a label.
        outcome_note: The agent's free-text note on the outcome.
        no_agent_reason: Why no agent was assigned at request time.
        outcome_intent: The intent the customer really had, as the agent
            said when resolving (None: not given).
        csat: The customer's satisfaction score after the handback
            (`CSAT_SCORES`; None: not asked, skipped or not answered yet).

    """

    id: int
    conversation_id: str
    attempt: int
    status: str
    team: str = DEFAULT_TEAM
    language: Optional[str] = None
    tier: str = TIER_STANDARD
    channel: Optional[str] = None
    reason: Optional[str] = None
    customer_name: Optional[str] = None
    payload: Dict[str, Any] = field(default_factory=dict)
    agent_id: Optional[str] = None
    created_at: Optional[datetime] = None
    assigned_at: Optional[datetime] = None
    accepted_at: Optional[datetime] = None
    resolved_at: Optional[datetime] = None
    queue_position: Optional[int] = None
    estimated_wait_seconds: Optional[int] = None
    callback: Optional[Dict[str, Any]] = None
    outcome: Optional[str] = None
    outcome_note: Optional[str] = None
    no_agent_reason: Optional[str] = None
    outcome_intent: Optional[str] = None
    csat: Optional[int] = None

    @property
    def is_open(self) -> bool:
        """Whether a human owns (or is about to own) the conversation."""
        return self.status in OPEN_STATUSES

    def to_dict(self, with_payload: bool = False) -> Dict[str, Any]:
        """Returns the ticket as JSON-ready data.

        Args:
            with_payload: Include the (possibly large) context payload.

        """
        data: Dict[str, Any] = {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "attempt": self.attempt,
            "status": self.status,
            "team": self.team,
            "language": self.language,
            "tier": self.tier,
            "channel": self.channel,
            "reason": self.reason,
            "customer_name": self.customer_name,
            "agent_id": self.agent_id,
            "created_at": iso(self.created_at),
            "assigned_at": iso(self.assigned_at),
            "accepted_at": iso(self.accepted_at),
            "resolved_at": iso(self.resolved_at),
            "queue_position": self.queue_position,
            "estimated_wait_seconds": self.estimated_wait_seconds,
            "callback": self.callback,
            "outcome": self.outcome,
            "outcome_note": self.outcome_note,
            "outcome_intent": self.outcome_intent,
            "csat": self.csat,
            "no_agent_reason": self.no_agent_reason,
        }
        if with_payload:
            data["payload"] = self.payload
        return data


@dataclass(frozen=True)
class TicketMessage:
    """A line of the human part of the conversation.

    Attributes:
        id: Increasing database identifier (use it as a cursor).
        ticket_id: The ticket it belongs to.
        sender: One of `SENDERS`.
        text: What was said.
        created_at: When (UTC).
        agent_name: The agent's name for agent messages.
        client_message_id: The sender's idempotency key, if it sent one.

    """

    id: int
    ticket_id: int
    sender: str
    text: str
    created_at: Optional[datetime] = None
    agent_name: Optional[str] = None
    client_message_id: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        """Returns the message as JSON-ready data."""
        return {
            "id": self.id,
            "ticket_id": self.ticket_id,
            "sender": self.sender,
            "text": self.text,
            "created_at": iso(self.created_at),
            "agent_name": self.agent_name,
            "client_message_id": self.client_message_id,
        }


@dataclass(frozen=True)
class LifecycleEvent:
    """A state change of a ticket, stored and streamed to agents and channels.

    Attributes:
        id: Increasing database identifier (the SSE event id).
        ticket_id: The ticket that changed.
        type: One of `EVENT_TYPES`.
        data: Details (agent, team, message text, outcome, ...).
        created_at: When (UTC).

    """

    id: int
    ticket_id: int
    type: str
    data: Dict[str, Any] = field(default_factory=dict)
    created_at: Optional[datetime] = None

    def to_dict(self) -> Dict[str, Any]:
        """Returns the event as JSON-ready data."""
        return {
            "id": self.id,
            "ticket_id": self.ticket_id,
            "type": self.type,
            "data": self.data,
            "created_at": iso(self.created_at),
        }


@dataclass(frozen=True)
class OutcomeRecord:
    """A resolved ticket's verdict, the raw material of `rasa-handover tune`.

    Reason code, team, tier and language are the ticket's columns; the
    trigger's evidence, the intent and its confidence and the conversation are
    in the context payload stored with it (read them with `rasa_handover.
    feedback.outcomes`, not here: one reader of the payload).

    Attributes:
        ticket_id: The resolved ticket.
        conversation_id: Rasa's sender id.
        attempt: The handover attempt within the conversation.
        reason: The reason code of the trigger that fired.
        team: The team that handled it.
        outcome: One of `OUTCOMES`; None when resolved without a label.
        note: The agent's note.
        agent_id: Who resolved it.
        resolved_at: When (UTC).
        payload: The context payload (trigger, evidence, intents, ...).
        intent: The intent the agent says the customer really had.
        tier: The agent tier the ticket wanted.
        language: The customer's language.
        requested_at: When the handover was requested.
        assigned_at: When the router assigned it.
        first_reply_at: When an agent first wrote to the customer.
        csat: The customer's satisfaction score after the handback, if given.
        status: The ticket's status (`resolved`, unless asked for open ones).
        accepted_at: When an agent took it (the pickup).

    """

    ticket_id: int
    conversation_id: str
    attempt: int
    reason: Optional[str]
    team: str
    outcome: Optional[str]
    note: Optional[str]
    agent_id: Optional[str]
    resolved_at: Optional[datetime]
    payload: Dict[str, Any] = field(default_factory=dict)
    intent: Optional[str] = None
    tier: str = TIER_STANDARD
    language: Optional[str] = None
    requested_at: Optional[datetime] = None
    assigned_at: Optional[datetime] = None
    first_reply_at: Optional[datetime] = None
    csat: Optional[int] = None
    status: str = STATUS_RESOLVED
    accepted_at: Optional[datetime] = None


def iso(moment: Optional[datetime]) -> Optional[str]:
    """Formats a timestamp for JSON (ISO 8601), passing None through."""
    return moment.isoformat() if moment is not None else None
