"""The contract between the handover channel and the inbox, written once.

The channel (`rasa_handover.channels`) and the inbox (`rasa_handover.inbox`) run
in one process (the embedded inbox) or talk over signed HTTP (a standalone
inbox, `rasa-handover inbox`). Whatever both sides must spell the same way is
spelled here and imported by both: the lifecycle events the channel reacts to,
who said a message, why no agent was assigned, the default team, the payload
key of the channel's webhook, the inbox's channel endpoints and the body the
inbox posts to that webhook. The messages from the actions to the channel
(`MESSAGE_KEY`, `MESSAGE_HANDOVER`, `MESSAGE_CALLBACK`, `MESSAGE_ASYNC`,
`MESSAGE_CSAT`) and the CSAT scale (`CSAT_SCORES`) live in `constants` and are
re-exported here.

This module imports nothing but `constants`, so either side (and the pure
decision code) can use it freely.
"""

from typing import Any, Dict, Mapping, Tuple

from rasa_handover.constants import (
    CSAT_SCORES,
    MESSAGE_ASYNC,
    MESSAGE_CALLBACK,
    MESSAGE_CSAT,
    MESSAGE_HANDOVER,
    MESSAGE_KEY,
)

# --- Lifecycle events (shape modelled on Bot Framework's handoff.status). -------
EVENT_REQUESTED = "requested"
EVENT_QUEUED = "queued"
EVENT_ASSIGNED = "assigned"
EVENT_ACCEPTED = "accepted"
EVENT_MESSAGE = "message"
EVENT_RESOLVED = "resolved"
EVENT_EXPIRED = "expired"
EVENT_FAILED = "failed"
EVENT_TRANSFERRED = "transferred"

EVENT_TYPES: Tuple[str, ...] = (
    EVENT_REQUESTED,
    EVENT_QUEUED,
    EVENT_ASSIGNED,
    EVENT_ACCEPTED,
    EVENT_MESSAGE,
    EVENT_RESOLVED,
    EVENT_EXPIRED,
    EVENT_FAILED,
    EVENT_TRANSFERRED,
)

# --- Who said a message. ------------------------------------------------------------
SENDER_CUSTOMER = "customer"
SENDER_AGENT = "agent"
SENDER_SYSTEM = "system"
SENDERS: Tuple[str, ...] = (SENDER_CUSTOMER, SENDER_AGENT, SENDER_SYSTEM)

# --- Why no agent was assigned (`no_agent_reason` of a ticket). ----------------------
NO_AGENT_OUTSIDE_HOURS = "outside_hours"
# No agent of the team is online.
NO_AGENT_NOBODY_ONLINE = "nobody_online"
# Agents of the team are online but all at capacity: the ticket queues.
NO_AGENT_ALL_BUSY = "all_busy"
NO_AGENT_REASONS: Tuple[str, ...] = (
    NO_AGENT_OUTSIDE_HOURS,
    NO_AGENT_NOBODY_ONLINE,
    NO_AGENT_ALL_BUSY,
)

# The team of a ticket whose intent declares no `handover_team`.
DEFAULT_TEAM = "general"

# --- Why a ticket went back to the queue (`reason` of a `queued` event). -------------
# Such an event also carries `no_agent_reason` and `wait_text` for the customer.
REQUEUE_AGENT_OFFLINE = "agent_offline"
# The agent's page stopped reporting in (closed tab, lost connection).
REQUEUE_AGENT_AWAY = "agent_away"
# The waiting customer's estimate grew: they hear the new one.
REQUEUE_WAIT_GREW = "wait_grew"

# --- Channel -> inbox. --------------------------------------------------------------
# The payload key a standalone channel puts its webhook URL under.
PAYLOAD_CALLBACK_URL = "channel_callback_url"
# The inbox's channel endpoints, relative to the inbox URL (HMAC-signed).
PATH_CHANNEL_TICKETS = "/api/channel/tickets"
PATH_CHANNEL_MESSAGES = "/api/channel/messages"
PATH_CHANNEL_CALLBACKS = "/api/channel/callbacks"
# A message left for the team, answered by e-mail.
PATH_CHANNEL_LEFT_MESSAGES = "/api/channel/left-messages"
# The customer's answer to the CSAT question after a handback:
# `{"conversation_id", "score"}` -> `{"recorded": true, "ticket_id"}`; 404 when
# the conversation has no resolved ticket.
PATH_CHANNEL_CSAT = "/api/channel/csat"
CSAT_RECORDED = "recorded"
# The answer to a relayed customer message: `{"relayed": true}`; a conversation
# without an open handover is answered with 404 instead.
RELAYED = "relayed"
# ... with the ticket's view under this key (status, wait: the waiting room).
RELAYED_TICKET = "ticket"
# ... and the stored message under this one.
RELAYED_MESSAGE = "message"
# The idempotency key of a customer message (a relayed one, a message left for
# the team) and of an agent's reply: the same id with every retry of one
# message, so that the ticket stores it once (a repeat is answered with the
# message stored first, and no second event). Optional; checked by
# `limits.client_message_id`.
CLIENT_MESSAGE_ID = "client_message_id"

# `callback["kind"]` of a ticket whose replies go out by e-mail (a message the
# customer left); a callback request has no kind or `call`.
REPLY_BY_EMAIL = "email"

# --- Inbox -> channel. --------------------------------------------------------------
# The channel's webhook for lifecycle events, relative to `/webhooks/<channel>`.
CHANNEL_EVENTS_PATH = "/events"
# The keys of the body posted there.
NOTIFICATION_EVENT = "event"
NOTIFICATION_TICKET = "ticket"


def notification(event: Any, ticket: Any) -> Dict[str, Any]:
    """The body that tells a channel about a lifecycle event of its customer.

    Posted to the channel's webhook by a standalone inbox, handed over in
    process by the embedded one.

    Args:
        event: The `LifecycleEvent`.
        ticket: The `Ticket` it belongs to.

    Returns:
        `{"conversation_id": ..., "event": {...}, "ticket": {...}}`.

    """
    return {
        "conversation_id": ticket.conversation_id,
        NOTIFICATION_EVENT: event.to_dict(),
        NOTIFICATION_TICKET: ticket.to_dict(),
    }


def csat_answer(ticket: Any) -> Dict[str, Any]:
    """The answer to `PATH_CHANNEL_CSAT`: whether and on which ticket it is stored.

    Args:
        ticket: The rated `Ticket`, or None (nothing resolved to rate).

    """
    if ticket is None:
        return {CSAT_RECORDED: False}
    return {CSAT_RECORDED: True, "ticket_id": ticket.id, "csat": ticket.csat}


# The values the channel reads as text, in the event's `data` and the ticket.
_NOTIFICATION_TEXT_KEYS = ("agent_name", "outcome", "wait_text", "text", "sender")


def read_notification(body: Any) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The `(event, ticket)` of a notification body, checked for what is read.

    Raises:
        KeyError: a key is missing.
        TypeError: a part has the wrong type (the message names it).

    """
    if not isinstance(body, Mapping):
        raise TypeError("the body must be an object")
    event, ticket = body[NOTIFICATION_EVENT], body[NOTIFICATION_TICKET]
    if not isinstance(event, Mapping) or not isinstance(ticket, Mapping):
        raise TypeError("'event' and 'ticket' must be objects")
    if not isinstance(event.get("type"), str):
        raise TypeError("'event.type' must be a string")
    data = event.get("data")
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise TypeError("'event.data' must be an object")
    conversation_id = ticket.get("conversation_id")
    if not isinstance(conversation_id, str) or not conversation_id:
        raise TypeError("'ticket.conversation_id' must be a non-empty string")
    for where, part in (("event.data", data), ("ticket", ticket)):
        for key in _NOTIFICATION_TEXT_KEYS:
            if part.get(key) is not None and not isinstance(part[key], str):
                raise TypeError(f"'{where}.{key}' must be a string")
    return {**event, "data": dict(data)}, dict(ticket)


__all__ = [
    "CHANNEL_EVENTS_PATH",
    "CLIENT_MESSAGE_ID",
    "CSAT_RECORDED",
    "CSAT_SCORES",
    "DEFAULT_TEAM",
    "EVENT_ACCEPTED",
    "EVENT_ASSIGNED",
    "EVENT_EXPIRED",
    "EVENT_FAILED",
    "EVENT_MESSAGE",
    "EVENT_QUEUED",
    "EVENT_REQUESTED",
    "EVENT_RESOLVED",
    "EVENT_TRANSFERRED",
    "EVENT_TYPES",
    "MESSAGE_ASYNC",
    "MESSAGE_CALLBACK",
    "MESSAGE_CSAT",
    "MESSAGE_HANDOVER",
    "MESSAGE_KEY",
    "NOTIFICATION_EVENT",
    "NOTIFICATION_TICKET",
    "NO_AGENT_ALL_BUSY",
    "NO_AGENT_NOBODY_ONLINE",
    "NO_AGENT_OUTSIDE_HOURS",
    "NO_AGENT_REASONS",
    "PATH_CHANNEL_CALLBACKS",
    "PATH_CHANNEL_CSAT",
    "PATH_CHANNEL_LEFT_MESSAGES",
    "PATH_CHANNEL_MESSAGES",
    "PATH_CHANNEL_TICKETS",
    "PAYLOAD_CALLBACK_URL",
    "RELAYED",
    "RELAYED_MESSAGE",
    "RELAYED_TICKET",
    "REPLY_BY_EMAIL",
    "REQUEUE_AGENT_AWAY",
    "REQUEUE_AGENT_OFFLINE",
    "REQUEUE_WAIT_GREW",
    "SENDERS",
    "SENDER_AGENT",
    "SENDER_CUSTOMER",
    "SENDER_SYSTEM",
    "csat_answer",
]
