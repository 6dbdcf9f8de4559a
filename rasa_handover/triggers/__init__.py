"""The escalation triggers: pure functions over a `ConversationView`.

Each trigger lives in its own module and has the signature
`check_<reason>(view, settings, thresholds=None, high_value=False) ->
Optional[Decision]` (`check_explicit_request(view, settings, thresholds=None)`
does not depend on the customer's value). `evaluate` runs the enabled ones in
the fixed order of `constants.REASON_CODES` and returns the first decision,
with the other reason codes that also fired in its evidence. One exception to
the order: a repeat of a question the bot answered (`answered_before`) outranks
`low_confidence` on its rewording (see `repeat_loop`).
"""

from typing import Callable, Dict, List, Optional

from rasa_handover.constants import (
    REASON_CODES,
    REASON_EXPLICIT_REQUEST,
    REASON_FRUSTRATION,
    REASON_LOW_CONFIDENCE,
    REASON_REGULATED_TOPIC,
    REASON_REPEAT_LOOP,
)
from rasa_handover.conversation import ConversationView
from rasa_handover.settings import HandoverSettings
from rasa_handover.thresholds import Thresholds, table_for
from rasa_handover.triggers.decision import Decision
from rasa_handover.triggers.explicit_request import check_explicit_request
from rasa_handover.triggers.frustration import check_frustration
from rasa_handover.triggers.high_value import is_high_value
from rasa_handover.triggers.low_confidence import check_low_confidence
from rasa_handover.triggers.regulated_topic import check_regulated_topic
from rasa_handover.triggers.repeat_loop import check_repeat_loop

Trigger = Callable[
    [ConversationView, HandoverSettings, Thresholds, bool], Optional[Decision]
]


def _explicit_request(
    view: ConversationView,
    settings: HandoverSettings,
    thresholds: Thresholds,
    high_value: bool,
) -> Optional[Decision]:
    # A request for a person fires whatever the customer (high value or not).
    return check_explicit_request(view, settings, thresholds)


TRIGGERS: Dict[str, Trigger] = {
    REASON_EXPLICIT_REQUEST: _explicit_request,
    REASON_REGULATED_TOPIC: check_regulated_topic,
    REASON_FRUSTRATION: check_frustration,
    REASON_LOW_CONFIDENCE: check_low_confidence,
    REASON_REPEAT_LOOP: check_repeat_loop,
}
assert tuple(TRIGGERS) == REASON_CODES, "TRIGGERS must follow REASON_CODES' order"


def evaluate(
    view: ConversationView,
    settings: HandoverSettings,
    thresholds: Optional[Thresholds] = None,
) -> Optional[Decision]:
    """Runs the enabled triggers on the latest user message.

    High-value accounts get the stricter thresholds. The first trigger that
    fires decides; the evidence also lists (`also_fired`) the other triggers that
    would have fired, which agents and the tuning tools use.

    Args:
        view: The conversation.
        settings: The validated configuration.
        thresholds: The policy's table (domain declarations, per-intent
            thresholds); default: the configuration's thresholds alone.

    Returns:
        The decision, or `None` when no trigger fires.

    """
    table = table_for(settings, thresholds)
    slot = settings.high_value.slot
    high_value = is_high_value(view.slots, settings)
    decisions = [
        decision
        for reason in settings.triggers
        if (decision := TRIGGERS[reason](view, settings, table, high_value)) is not None
    ]
    if not decisions:
        return None
    decisions = _by_precedence(decisions)
    first = decisions[0]
    extra: Dict[str, object] = {
        "also_fired": [d.reason for d in decisions[1:]],
        "high_value": high_value,
    }
    if high_value:
        extra["account_tier"] = str(view.slot(slot))
    return first.with_evidence(**extra)


def _by_precedence(decisions: List[Decision]) -> List[Decision]:
    """The decisions, a repeat of an answered question before low confidence."""
    reasons = [d.reason for d in decisions]
    if REASON_REPEAT_LOOP not in reasons or REASON_LOW_CONFIDENCE not in reasons:
        return decisions
    repeat = decisions[reasons.index(REASON_REPEAT_LOOP)]
    if not repeat.evidence.get("answered_before"):
        return decisions
    rest = [d for d in decisions if d is not repeat]
    at = reasons.index(REASON_LOW_CONFIDENCE)
    return [*rest[:at], repeat, *rest[at:]]


__all__ = [
    "TRIGGERS",
    "Decision",
    "check_explicit_request",
    "check_frustration",
    "check_low_confidence",
    "check_regulated_topic",
    "check_repeat_loop",
    "evaluate",
    "is_high_value",
]
