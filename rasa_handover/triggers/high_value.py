"""High-value accounts: which conversations get the stricter thresholds.

How much stricter each threshold becomes is resolved with all the others in
`rasa_handover.thresholds` (`Thresholds.for_intent(intent, high_value=True)`).
"""

from typing import Any, Mapping

from rasa_handover.settings import HandoverSettings


def is_high_value(slots: Mapping[str, Any], settings: HandoverSettings) -> bool:
    """Whether the account slot marks this conversation as high value."""
    value = slots.get(settings.high_value.slot)
    return (
        value is not None and str(value).strip().lower() in settings.high_value.values
    )
