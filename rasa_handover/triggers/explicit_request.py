"""`explicit_request`: the user asks for a person. Always, immediately.

The configured intents (default `human_handoff`) fire as soon as NLU is sure
enough of them: at or above the intent's confidence floor (`thresholds.py`;
0.55 by default). Below it, NLU is only guessing (DIETClassifier puts
"the Tuesday thing again" on `human_handoff` at 0.25): the phrase grammar below
still hands over if the words ask for a person, and otherwise the turn is
unclear like any other, so `low_confidence` asks, with "talk to a person" among
the choices when the domain gives the intent a display name.
The phrase grammar (`rasa_handover.person_requests`, docs/explicit-request.md)
finds requests for a person in the words when NLU misses them.
"""

from typing import Optional

from rasa_handover.constants import REASON_EXPLICIT_REQUEST
from rasa_handover.conversation import ConversationView
from rasa_handover.message_kinds import is_content_free
from rasa_handover.person_requests import (
    RequestMatch,
    declines_a_person,
    find_explicit_request,
    match_explicit_request,
)
from rasa_handover.settings import HandoverSettings
from rasa_handover.thresholds import Thresholds, table_for
from rasa_handover.triggers.decision import Decision

# The grammar's entry points, importable from here as before.
__all__ = [
    "RequestMatch",
    "check_explicit_request",
    "declines_a_person",
    "find_explicit_request",
    "match_explicit_request",
]


def check_explicit_request(
    view: ConversationView,
    settings: HandoverSettings,
    thresholds: Optional[Thresholds] = None,
) -> Optional[Decision]:
    """Checks whether the latest user message asks for a person.

    Args:
        view: The conversation.
        settings: `explicit_request_intents` and `explicit_request_phrases`.
        thresholds: The intent's confidence floor (default: the settings' own).

    Returns:
        A decision whose evidence names the intent (and confidence) or the
        matched phrase and the grammar `rule` that found it; or `None`.

    """
    turn = view.latest_turn
    if turn is None:
        return None
    evidence = {
        "intent": turn.intent,
        "confidence": turn.confidence,
        "text": turn.text,
    }
    # "that's super helpful" read as `human_handoff`: a content-free turn has
    # no request in it (and never a word for a person: `is_content_free`);
    # "I don't need an agent, just tell me ..." declines one.
    if (
        turn.intent in settings.explicit_request_intents
        and not is_content_free(turn.text or "")
        and not declines_a_person(turn.text or "")
        and _sure_enough(turn.intent, turn.confidence, settings, thresholds)
    ):
        return Decision(
            REASON_EXPLICIT_REQUEST,
            settings.handover_action,
            {**evidence, "matched": "intent"},
            turn.index,
        )
    if settings.explicit_request_phrases:
        found = find_explicit_request(turn.text)
        if found is not None:
            return Decision(
                REASON_EXPLICIT_REQUEST,
                settings.handover_action,
                {
                    **evidence,
                    "matched": "phrase",
                    "phrase": found.phrase,
                    "rule": found.rule,
                },
                turn.index,
            )
    return None


def _sure_enough(
    intent: str,
    confidence: Optional[float],
    settings: HandoverSettings,
    thresholds: Optional[Thresholds],
) -> bool:
    """Whether NLU's confidence reaches the intent's floor (no score: trusted)."""
    if confidence is None:
        return True
    floor = table_for(settings, thresholds).for_intent(intent, False).confidence_floor
    return confidence >= floor
