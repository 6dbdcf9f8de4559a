"""What the channel sends the inbox and hears back about a handover.

`HandoverRequestFields`: the routing facts read from the context payload;
`TicketView`: what to tell the customer (agent, queue position, wait).
"""

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from rasa_handover.inbox.contract import DEFAULT_TEAM
from rasa_handover.inbox.models import TIER_SENIOR, TIER_STANDARD
from rasa_handover.limits import clean_text


@dataclass(frozen=True)
class TicketView:
    """What the channel needs to tell the customer about their handover.

    Attributes:
        ticket_id: The ticket.
        status: The ticket's status.
        created: False when the request was a retry of an existing attempt.
        team: The queue the ticket is in.
        agent_name: The assigned or accepted agent's name, if any.
        queue_position: 1-based position in the team's queue (waiting only).
        estimated_wait_seconds: Expected wait (None once an agent has it or the
            ticket is finished).
        wait_text: The wait for humans ("about 4 minutes").
        no_agent_reason: `outside_hours`, `nobody_online` or `all_busy`.
        alternatives: What to offer instead of waiting, e.g. ["callback", "email"].
        conversation_id: Rasa's sender id.
        attempt: The handover attempt within the conversation.
        wait_basis: `observed` or `cold_start` (how the estimate was made).
        opens_at: ISO time the inbox opens next, when it is closed now.
        notes: Routing notes (fallbacks taken), for logs and agents.

    """

    ticket_id: int
    status: str
    created: bool
    team: str
    agent_name: Optional[str] = None
    queue_position: Optional[int] = None
    estimated_wait_seconds: Optional[int] = None
    wait_text: Optional[str] = None
    no_agent_reason: Optional[str] = None
    alternatives: List[str] = field(default_factory=list)
    conversation_id: str = ""
    attempt: int = 1
    wait_basis: Optional[str] = None
    opens_at: Optional[str] = None
    notes: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        """Returns the view as JSON-ready data."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class HandoverRequestFields:
    """The routing-relevant facts read from a context payload.

    Attributes:
        team: From `trigger.team`, then `team`; default `general`.
        language: From `language` (a code, or `{"code": ...}`).
        high_value: `account.high_value` is true, or `tier` is `senior`.
        channel: From `channel` (a name, or `{"name": ...}`).
        reason: From `trigger.reason`, then `reason`.
        customer_name: From `customer_name`, `customer.name` or `account.name`.

    """

    team: str = DEFAULT_TEAM
    language: Optional[str] = None
    high_value: bool = False
    channel: Optional[str] = None
    reason: Optional[str] = None
    customer_name: Optional[str] = None

    @property
    def tier(self) -> str:
        """The agent tier the ticket asks for."""
        return TIER_SENIOR if self.high_value else TIER_STANDARD

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> "HandoverRequestFields":
        """Reads the fields, ignoring keys of the wrong type instead of failing.

        Args:
            payload: The context payload built by `action_handover`.

        Returns:
            The fields.

        """
        trigger = _mapping(payload.get("trigger"))
        account = _mapping(payload.get("account"))
        customer = _mapping(payload.get("customer"))
        tier = _text(payload.get("tier"))
        return cls(
            team=_text(trigger.get("team"))
            or _text(payload.get("team"))
            or DEFAULT_TEAM,
            language=_text(payload.get("language"), "code"),
            high_value=account.get("high_value") is True or tier == TIER_SENIOR,
            channel=_text(payload.get("channel"), "name"),
            reason=_text(trigger.get("reason")) or _text(payload.get("reason")),
            customer_name=_text(payload.get("customer_name"))
            or _text(customer.get("name"))
            or _text(account.get("name")),
        )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any, key: Optional[str] = None) -> Optional[str]:
    """A non-empty string from `value`, or from `value[key]` if it is a mapping."""
    if key is not None and isinstance(value, Mapping):
        value = value.get(key)
    if isinstance(value, str) and value.strip():
        return clean_text(value.strip())  # It is stored in a column of its own.
    return None
