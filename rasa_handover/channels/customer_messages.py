"""What the customer is told when the conversation goes to a human (pure).

The wait etiquette: acknowledge with the agent's name, give an honest wait
estimate, offer email or a callback when the wait is long or nobody is there, and
never leave the customer waiting silently. The sentences are the domain's
responses (picked by the action), filled here from the inbox's ticket.
"""

from typing import Any, Dict, Iterable, List, Mapping, Optional

from rasa_handover.inbox.contract import (
    DEFAULT_TEAM,
    NO_AGENT_NOBODY_ONLINE,
    NO_AGENT_OUTSIDE_HOURS,
)
from rasa_handover.responses import (
    UTTER_ALTERNATIVES,
    UTTER_ALTERNATIVES_CALLBACK,
    UTTER_ALTERNATIVES_MESSAGE,
    UTTER_CONNECTING,
    UTTER_DELAYED,
    UTTER_FAILED,
    UTTER_NOBODY_ONLINE,
    UTTER_OUTSIDE_HOURS,
    UTTER_QUEUED,
    UTTER_WAIT,
    UTTER_WAIT_UPDATE,
    UTTER_WAITING_ACK,
    fill,
)

# Offer email / callback when the estimated wait is at least this long.
ALTERNATIVES_AFTER_SECONDS = 180
# The inbox's names of the alternatives (`alternatives` of a ticket).
ALTERNATIVE_CALLBACK = "callback"
ALTERNATIVE_EMAIL = "email"

Message = Dict[str, Any]


def _message(
    templates: Mapping[str, Mapping[str, Any]], name: str, values: Mapping[str, Any]
) -> Optional[Message]:
    template = templates.get(name)
    if not template or not template.get("text"):
        return None
    message: Message = {"text": fill(str(template["text"]), values)}
    if template.get("buttons"):
        message["buttons"] = template["buttons"]
    return message


def ticket_values(
    ticket: Mapping[str, Any], extra: Optional[Mapping[str, Any]] = None
) -> Dict[str, Any]:
    """The placeholder values a ticket provides (`{agent_name}`, `{wait_text}`...)."""
    values: Dict[str, Any] = dict(extra or {})
    values.update(
        {
            "agent_name": ticket.get("agent_name") or "",
            "team": ticket.get("team") or DEFAULT_TEAM,
            "queue_position": ticket.get("queue_position") or 1,
            "wait_text": ticket.get("wait_text") or "",
            "ticket_id": ticket.get("ticket_id") or "",
        }
    )
    return values


def acknowledgement(
    ticket: Mapping[str, Any],
    templates: Mapping[str, Mapping[str, Any]],
    extra: Optional[Mapping[str, Any]] = None,
) -> List[Message]:
    """The messages that tell the customer what happens next.

    Args:
        ticket: The inbox's answer (`TicketView` as a dict): `agent_name`,
            `team`, `queue_position`, `estimated_wait_seconds`, `wait_text`,
            `no_agent_reason`.
        templates: The response variations the action picked, by name.
        extra: More placeholder values (e.g. `support_email`).

    Returns:
        The messages, in order, to send to the customer.

    """
    values = ticket_values(ticket, extra)
    reason = ticket.get("no_agent_reason")
    names: List[str]
    offer = False
    if reason == NO_AGENT_OUTSIDE_HOURS:
        names, offer = [UTTER_OUTSIDE_HOURS], True
    elif reason == NO_AGENT_NOBODY_ONLINE:
        names, offer = [UTTER_NOBODY_ONLINE], True
    else:
        names = [UTTER_CONNECTING if ticket.get("agent_name") else UTTER_QUEUED]
        wait = int(ticket.get("estimated_wait_seconds") or 0)
        if wait > 0 and values["wait_text"]:
            names.append(UTTER_WAIT)
        offer = wait >= ALTERNATIVES_AFTER_SECONDS
    messages = [m for name in names if (m := _message(templates, name, values))]
    if offer:
        messages += alternatives(ticket.get("alternatives") or (), templates, extra)
    return messages


def offers_alternatives(ticket: Mapping[str, Any]) -> bool:
    """Whether `acknowledgement(ticket, ...)` offers the alternatives."""
    if tells_nobody_available(ticket.get("no_agent_reason")):
        return bool(ticket.get("alternatives"))
    wait = int(ticket.get("estimated_wait_seconds") or 0)
    return wait >= ALTERNATIVES_AFTER_SECONDS and bool(ticket.get("alternatives"))


def alternatives(
    offered: Iterable[str],
    templates: Mapping[str, Mapping[str, Any]],
    extra: Optional[Mapping[str, Any]] = None,
) -> List[Message]:
    """The offer of what the inbox provides instead of waiting, if anything.

    `utter_handover_alternatives` offers both a callback and a message answered
    by email, `..._callback` / `..._message` one of them; an inbox that offers
    neither (no `callback` in its `alternatives`, no `email:` settings) makes
    the bot offer nothing.
    """
    available = set(offered)
    callback = ALTERNATIVE_CALLBACK in available
    email = ALTERNATIVE_EMAIL in available
    if callback and email:
        name = UTTER_ALTERNATIVES
    elif callback:
        name = UTTER_ALTERNATIVES_CALLBACK
    elif email:
        name = UTTER_ALTERNATIVES_MESSAGE
    else:
        return []
    message = _message(templates, name, dict(extra or {}))
    return [message] if message else []


def waiting_ack(
    ticket: Mapping[str, Any],
    templates: Mapping[str, Mapping[str, Any]],
    extra: Optional[Mapping[str, Any]] = None,
) -> List[Message]:
    """The waiting room's acknowledgement of a customer's message."""
    message = _message(templates, UTTER_WAITING_ACK, ticket_values(ticket, extra))
    return [message] if message else []


def delayed(
    templates: Mapping[str, Mapping[str, Any]],
    extra: Optional[Mapping[str, Any]] = None,
) -> List[Message]:
    """The message while the inbox cannot be reached yet (delivery is retried)."""
    return [m for m in [_message(templates, UTTER_DELAYED, dict(extra or {}))] if m]


def failed(
    templates: Mapping[str, Mapping[str, Any]],
    extra: Optional[Mapping[str, Any]] = None,
    offered: Iterable[str] = (),
) -> List[Message]:
    """The honest fallback when delivery keeps failing.

    `utter_handover_failed` (the support address), then the alternatives the
    inbox offers (`offered`; none known: nothing more is promised).
    """
    said = [m for m in [_message(templates, UTTER_FAILED, dict(extra or {}))] if m]
    return said + alternatives(offered, templates, extra)


def expired(
    templates: Mapping[str, Mapping[str, Any]],
    extra: Optional[Mapping[str, Any]] = None,
    offered: Iterable[str] = (),
) -> List[Message]:
    """Nobody picked the ticket up in time: the same honest fallback as `failed`."""
    return failed(templates, extra, offered)


def nobody_available(
    ticket: Mapping[str, Any],
    templates: Mapping[str, Mapping[str, Any]],
    extra: Optional[Mapping[str, Any]] = None,
    offered: Iterable[str] = (),
) -> List[Message]:
    """Back in the queue with nobody who may take it (the agent left).

    What a new handover hears in the same case: nobody online (or outside
    business hours), and the alternatives the inbox offers; never a wait.
    """
    told = {**ticket, "estimated_wait_seconds": 0, "alternatives": list(offered)}
    return acknowledgement(told, templates, extra)


def tells_nobody_available(no_agent_reason: Optional[str]) -> bool:
    """Whether the customer must hear `nobody_available` rather than a wait."""
    return no_agent_reason in (NO_AGENT_OUTSIDE_HOURS, NO_AGENT_NOBODY_ONLINE)


def wait_update(
    ticket: Mapping[str, Any],
    templates: Mapping[str, Mapping[str, Any]],
    extra: Optional[Mapping[str, Any]] = None,
) -> List[Message]:
    """The message when the estimated wait has grown noticeably."""
    message = _message(templates, UTTER_WAIT_UPDATE, ticket_values(ticket, extra))
    return [message] if message else []
