"""`frustration`: the user is getting angry or exasperated.

Counts signs of frustration as a person would: each signal (shouting,
profanity, exasperation, repeated negation, punctuation bursts, strongly
negative sentiment, the learned `angry_tone`; see `rasa_handover.signals`) on
each of the last `frustration_window` user turns is one sign, so the same kind
of sign on two turns is two ("this is ridiculous" twice). `angry_tone` counts
as two signs when the model is confident (its `strong_threshold`), so a
clearly angry message is enough on its own. Fires when the signs reach
`frustration_signals` and the latest message carries at least one: a calm "ok,
that worked, thanks" never escalates because of what came before it. Messages
the bot took back with a rewind (`action_default_fallback`) count with the turn
that followed them: the customer said them, and the bot did not understand. The
rule and the thresholds were chosen on GoEmotions dev and the support dev set
(docs/frustration.md).
"""

from typing import Any, Dict, List, Optional

from rasa_handover.constants import REASON_FRUSTRATION
from rasa_handover.conversation import ConversationView
from rasa_handover.settings import HandoverSettings
from rasa_handover.signals import Signal, detect_signals
from rasa_handover.thresholds import Thresholds, table_for
from rasa_handover.triggers.decision import Decision


def check_frustration(
    view: ConversationView,
    settings: HandoverSettings,
    thresholds: Optional[Thresholds] = None,
    high_value: bool = False,
) -> Optional[Decision]:
    """Counts signs of frustration over the recent user turns.

    Args:
        view: The conversation.
        settings: `frustration_signal_types`, `negative_sentiment_threshold`.
        thresholds: `frustration_signals` and `frustration_window` (default:
            the settings' own).
        high_value: Whether the account is high value (fewer signals needed).

    Returns:
        A decision whose evidence lists each signal once, with the latest turn
        it was seen on and its text there, every turn it was seen on
        (`turns`) and, for `angry_tone`, the model's `probability` and the
        `weight` it counted with; `signal_count` is the number of signs; or
        `None`.

    """
    turn = view.latest_turn
    if turn is None:
        return None
    limits = table_for(settings, thresholds).for_intent(turn.intent, high_value)
    found: Dict[str, Dict[str, Any]] = {}
    signs = 0
    latest_has_signal = False
    # Oldest turn first, so that each entry ends with its latest occurrence.
    for recent in view.recent_turns(limits.frustration_window):
        signals = _signals(recent.text, settings)
        latest_has_signal = latest_has_signal or (recent is turn and bool(signals))
        # What the bot took back ("Sorry, I didn't get that") was still said.
        for unanswered in recent.unanswered_before:
            signals = [*_signals(unanswered, settings), *signals]
        for signal in signals:
            signs += signal.weight
            turns = found[signal.name]["turns"] if signal.name in found else []
            found[signal.name] = {
                **_evidence(signal, recent.index),
                "turns": [*turns, recent.index],
            }
    if not latest_has_signal or signs < limits.frustration_signals:
        return None
    ordered = [
        found[name] for name in settings.frustration_signal_types if name in found
    ]
    return Decision(
        REASON_FRUSTRATION,
        settings.handover_action,
        {
            "signals": ordered,
            "signal_count": signs,
            "required": limits.frustration_signals,
            "required_source": limits.sources["frustration_signals"],
            "window": limits.frustration_window,
            "window_source": limits.sources["frustration_window"],
            "text": turn.text,
        },
        turn.index,
    )


def _signals(text: str, settings: HandoverSettings) -> List[Signal]:
    return list(
        detect_signals(
            text,
            settings.frustration_signal_types,
            settings.negative_sentiment_threshold,
        )
    )


def _evidence(signal: Signal, turn_index: int) -> Dict[str, Any]:
    """One signal's evidence: its latest turn and text (+ the model's probability)."""
    evidence: Dict[str, Any] = {
        "signal": signal.name,
        "turn": turn_index,
        "text": signal.text,
    }
    if signal.score is not None:
        evidence["probability"] = signal.score
        evidence["weight"] = signal.weight
    return evidence
