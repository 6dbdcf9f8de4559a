"""High-value accounts: every trigger becomes more sensitive for them."""

from dataclasses import replace
from typing import Any, Mapping

from rasa_handover.settings import HandoverSettings, IntentOverride


def is_high_value(slots: Mapping[str, Any], settings: HandoverSettings) -> bool:
    """Whether the account slot marks this conversation as high value."""
    value = slots.get(settings.high_value.slot)
    return (
        value is not None and str(value).strip().lower() in settings.high_value.values
    )


def tighten(settings: HandoverSettings) -> HandoverSettings:
    """Returns the settings that apply to a high-value account.

    Floors and thresholds only ever become stricter: a per-intent floor that is
    already higher than the high-value floor stays.
    """
    high = settings.high_value
    overrides = {
        intent: IntentOverride(
            confidence_floor=None
            if o.confidence_floor is None
            else max(o.confidence_floor, high.confidence_floor),
            ambiguity_threshold=None
            if o.ambiguity_threshold is None
            else max(o.ambiguity_threshold, high.ambiguity_threshold),
        )
        for intent, o in settings.intent_overrides.items()
    }
    return replace(
        settings,
        confidence_floor=max(settings.confidence_floor, high.confidence_floor),
        ambiguity_threshold=max(settings.ambiguity_threshold, high.ambiguity_threshold),
        frustration_signals=min(settings.frustration_signals, high.frustration_signals),
        intent_overrides=overrides,
        is_high_value=True,
    )
