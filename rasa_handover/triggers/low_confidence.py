"""`low_confidence`: NLU is unsure what the user means.

Fires when the top intent's confidence is below the floor, when the top two
intents are too close to tell apart, or when Rasa's `FallbackClassifier` already
replaced the intent with `nlu_fallback`.
"""

from typing import Optional

from rasa_handover.constants import (
    INTENT_NLU_FALLBACK,
    LOW_CONFIDENCE_AMBIGUOUS,
    LOW_CONFIDENCE_BELOW_FLOOR,
    LOW_CONFIDENCE_NLU_FALLBACK,
    RASA_CONTROL_INTENTS,
    REASON_LOW_CONFIDENCE,
)
from rasa_handover.conversation import ConversationView
from rasa_handover.settings import HandoverSettings
from rasa_handover.thresholds import Thresholds, table_for
from rasa_handover.triggers.decision import Decision

# Confidences in evidence are rounded so that it stays readable for agents.
EVIDENCE_DIGITS = 4


def check_low_confidence(
    view: ConversationView,
    settings: HandoverSettings,
    thresholds: Optional[Thresholds] = None,
    high_value: bool = False,
) -> Optional[Decision]:
    """Checks the latest user message's NLU confidence.

    Args:
        view: The conversation.
        settings: The handover action.
        thresholds: The floor and ambiguity threshold of the top intent
            (default: the settings' own).
        high_value: Whether the account is high value (stricter thresholds).

    Returns:
        A decision with evidence `kind`, `intent`, `confidence`, `confidence_floor`
        (and `confidence_floor_source`: where it was set) and, for ambiguity, the
        runner-up, the margin and the threshold (with its source); or `None`.

    """
    turn = view.latest_turn
    if turn is None or turn.intent in RASA_CONTROL_INTENTS:
        return None
    handover = settings.handover_action
    ranking = turn.ranking
    top_name = ranking[0].name if ranking else turn.intent
    top_confidence = ranking[0].confidence if ranking else turn.confidence
    evidence = {
        "intent": top_name,
        "confidence": _rounded(top_confidence),
        "text": turn.text,
    }
    limits = table_for(settings, thresholds).for_intent(top_name, high_value)
    floor = {
        "confidence_floor": limits.confidence_floor,
        "confidence_floor_source": limits.sources["confidence_floor"],
    }
    if turn.intent == INTENT_NLU_FALLBACK:
        return Decision(
            REASON_LOW_CONFIDENCE,
            handover,
            {"kind": LOW_CONFIDENCE_NLU_FALLBACK, **evidence, **floor},
            turn.index,
        )
    if top_confidence is None or top_name is None:
        return None
    if top_confidence < limits.confidence_floor:
        return Decision(
            REASON_LOW_CONFIDENCE,
            handover,
            {"kind": LOW_CONFIDENCE_BELOW_FLOOR, **evidence, **floor},
            turn.index,
        )
    threshold = limits.ambiguity_threshold
    if threshold > 0 and len(ranking) >= 2:
        # Rounded so that 0.7 - 0.6 counts as the 0.1 it reads as.
        margin = round(ranking[0].confidence - ranking[1].confidence, EVIDENCE_DIGITS)
        if margin < threshold:
            return Decision(
                REASON_LOW_CONFIDENCE,
                handover,
                {
                    "kind": LOW_CONFIDENCE_AMBIGUOUS,
                    **evidence,
                    **floor,
                    "runner_up": ranking[1].name,
                    "runner_up_confidence": _rounded(ranking[1].confidence),
                    "margin": margin,
                    "ambiguity_threshold": threshold,
                    "ambiguity_threshold_source": limits.sources["ambiguity_threshold"],
                },
                turn.index,
            )
    return None


def _rounded(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, EVIDENCE_DIGITS)
