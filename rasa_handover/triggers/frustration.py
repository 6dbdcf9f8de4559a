"""`frustration`: the user is getting angry or exasperated.

Fires when at least `frustration_signals` *distinct* signals (shouting,
profanity, exasperation, repeated negation, punctuation bursts, strongly negative
sentiment; see `rasa_handover.signals`) appear in the last `frustration_window`
user turns, and the latest message carries at least one of them: a calm "ok,
that worked, thanks" never escalates because of what came before it.
"""

from typing import Dict, Optional

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
    """Counts distinct frustration signals over the recent user turns.

    Args:
        view: The conversation.
        settings: `frustration_signal_types`, `negative_sentiment_threshold`.
        thresholds: `frustration_signals` and `frustration_window` (default:
            the settings' own).
        high_value: Whether the account is high value (fewer signals needed).

    Returns:
        A decision whose evidence lists each signal once, with the turn it was
        seen on (the latest occurrence) and the matched text; or `None`.

    """
    turn = view.latest_turn
    if turn is None:
        return None
    limits = table_for(settings, thresholds).for_intent(turn.intent, high_value)
    # Latest occurrence of each signal, newest turns first.
    seen: Dict[str, Dict[str, object]] = {}
    latest_has_signal = False
    for recent in reversed(view.recent_turns(limits.frustration_window)):
        signals = detect_signals(
            recent.text,
            settings.frustration_signal_types,
            settings.negative_sentiment_threshold,
        )
        if recent is turn and signals:
            latest_has_signal = True
        for signal in signals:
            seen.setdefault(signal.name, _evidence(signal, recent.index))
    if not latest_has_signal or len(seen) < limits.frustration_signals:
        return None
    ordered = [seen[name] for name in settings.frustration_signal_types if name in seen]
    return Decision(
        REASON_FRUSTRATION,
        settings.handover_action,
        {
            "signals": ordered,
            "signal_count": len(ordered),
            "required": limits.frustration_signals,
            "required_source": limits.sources["frustration_signals"],
            "window": limits.frustration_window,
            "window_source": limits.sources["frustration_window"],
            "text": turn.text,
        },
        turn.index,
    )


def _evidence(signal: Signal, turn_index: int) -> Dict[str, object]:
    return {"signal": signal.name, "turn": turn_index, "text": signal.text}
