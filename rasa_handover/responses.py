"""Customer-facing sentences: domain responses, chosen and filled without Rasa.

Every sentence the plugin says to a customer is a response in the bot's domain
(`utter_handover_connecting`, `utter_handover_wait`, ...), so bot authors can
reword and translate it. The action picks the variation that fits the
conversation (its `condition` on slots and its `channel`), and the channel fills
the placeholders from the ticket once the inbox has answered (`{agent_name}`,
`{wait_text}`, `{queue_position}`, ...).
"""

import string
from typing import Any, Dict, Iterable, List, Mapping, Optional

# Response names the plugin uses (defaults in rasa_handover/domain.yml).
UTTER_CONNECTING = "utter_handover_connecting"
UTTER_QUEUED = "utter_handover_queued"
UTTER_WAIT = "utter_handover_wait"
UTTER_WAIT_UPDATE = "utter_handover_wait_update"
UTTER_ALTERNATIVES = "utter_handover_alternatives"
UTTER_OUTSIDE_HOURS = "utter_handover_outside_hours"
UTTER_NOBODY_ONLINE = "utter_handover_nobody_online"
UTTER_FAILED = "utter_handover_failed"
UTTER_DELAYED = "utter_handover_delayed"
UTTER_OFFER = "utter_offer_handover"
UTTER_CLARIFY = "utter_handover_clarify"
UTTER_HANDBACK = "utter_handback"
UTTER_CALLBACK_SCHEDULED = "utter_callback_scheduled"
UTTER_ASK_CALLBACK = "utter_ask_callback_details"
# The waiting room (channels/waiting_room.py).
UTTER_WAITING_ACK = "utter_handover_waiting_ack"
# The alternatives, by what the inbox offers: both, only a callback, only a
# message answered by email (none: nothing is offered).
UTTER_ALTERNATIVES_CALLBACK = "utter_handover_alternatives_callback"
UTTER_ALTERNATIVES_MESSAGE = "utter_handover_alternatives_message"
# The callback and message forms (actions_forms.py).
UTTER_INVALID_CONTACT = "utter_handover_invalid_contact"
UTTER_INVALID_TIME = "utter_handover_invalid_time"
UTTER_INVALID_EMAIL = "utter_handover_invalid_email"
UTTER_MESSAGE_LEFT = "utter_handover_message_left"
UTTER_REPLIED_WHILE_AWAY = "utter_handover_replied_while_away"
# The CSAT question after a handback (action_handback asks it when the domain
# has it), and the answers to a score and to a skip (csat.py).
UTTER_CSAT = "utter_handover_csat"
UTTER_CSAT_THANKS = "utter_handover_csat_thanks"
UTTER_CSAT_SKIPPED = "utter_handover_csat_skipped"

# The responses the channel needs to talk to the customer during a handover.
HANDOVER_RESPONSES = (
    UTTER_CONNECTING,
    UTTER_QUEUED,
    UTTER_WAIT,
    UTTER_WAIT_UPDATE,
    UTTER_ALTERNATIVES,
    UTTER_OUTSIDE_HOURS,
    UTTER_NOBODY_ONLINE,
    UTTER_FAILED,
    UTTER_DELAYED,
    UTTER_WAITING_ACK,
    UTTER_ALTERNATIVES_CALLBACK,
    UTTER_ALTERNATIVES_MESSAGE,
    UTTER_REPLIED_WHILE_AWAY,
)


def _condition_holds(condition: Mapping[str, Any], slots: Mapping[str, Any]) -> bool:
    if condition.get("type", "slot") != "slot":
        return False
    return slots.get(str(condition.get("name"))) == condition.get("value")


def pick_variation(
    variations: Iterable[Mapping[str, Any]],
    slots: Mapping[str, Any],
    channel: Optional[str] = None,
) -> Optional[Mapping[str, Any]]:
    """Chooses the response variation Rasa's NLG would choose, deterministically.

    Variations whose `condition` holds win over unconditioned ones; a variation
    for another `channel` is never used. Among equals, the first one is used (the
    agent-facing sentences must be predictable; they are not small talk).

    Args:
        variations: The response's variations from the domain.
        slots: Current slot values.
        channel: The customer's input channel.

    Returns:
        The chosen variation, or `None` if none fits.

    """
    conditioned: List[Mapping[str, Any]] = []
    plain: List[Mapping[str, Any]] = []
    for variation in variations:
        wanted_channel = variation.get("channel")
        if wanted_channel and wanted_channel != channel:
            continue
        conditions = variation.get("condition") or []
        if conditions:
            if all(_condition_holds(c, slots) for c in conditions):
                conditioned.append(variation)
        else:
            plain.append(variation)
    chosen = conditioned or plain
    return chosen[0] if chosen else None


def pick_templates(
    responses: Mapping[str, Iterable[Mapping[str, Any]]],
    names: Iterable[str],
    slots: Mapping[str, Any],
    channel: Optional[str] = None,
) -> Dict[str, Dict[str, Any]]:
    """Picks one variation per response name that the domain defines."""
    picked: Dict[str, Dict[str, Any]] = {}
    for name in names:
        variation = pick_variation(responses.get(name) or [], slots, channel)
        if variation is not None:
            picked[name] = {
                key: value
                for key, value in variation.items()
                if key in ("text", "buttons", "custom", "image")
            }
    return picked


class _KeepMissing(Dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, values: Mapping[str, Any]) -> str:
    """Fills `{placeholders}` in `template`; unknown ones stay as written.

    Like Rasa's response templating, a placeholder without a value is left
    visible rather than raising, and `None` values become empty strings.
    """
    safe = _KeepMissing({k: ("" if v is None else v) for k, v in values.items()})
    try:
        return string.Formatter().vformat(template, (), safe)
    except (ValueError, IndexError, AttributeError, KeyError):
        # A malformed template ("{" alone, "{0}") is shown as written, never lost.
        return template


# The clarification offers at most this many likely intents as buttons.
MAX_CLARIFY_CHOICES = 2


def clarify_message(
    responses: Mapping[str, Iterable[Mapping[str, Any]]],
    slots: Mapping[str, Any],
    evidence: Any,
    channel: Optional[str] = None,
) -> Dict[str, Any]:
    """The clarification: `utter_handover_clarify`'s text, then the buttons.

    The likely intents that the policy's evidence names with a title (`choices`,
    from `handover_display_name` in the domain) come first, then the
    response's own buttons (by default "Something else").
    """
    variation = pick_variation(responses.get(UTTER_CLARIFY) or [], slots, channel)
    variation = variation or {"text": "Sorry, I'm not sure I understood."}
    choices = evidence.get("choices") if isinstance(evidence, Mapping) else None
    buttons: List[Dict[str, Any]] = [
        {"title": str(choice["title"]), "payload": f"/{choice['intent']}"}
        for choice in (choices or [])
        if isinstance(choice, Mapping) and choice.get("intent") and choice.get("title")
    ][:MAX_CLARIFY_CHOICES]
    buttons += [dict(button) for button in variation.get("buttons") or []]
    message: Dict[str, Any] = {"text": str(variation.get("text") or "")}
    if buttons:
        message["buttons"] = buttons
    return message
