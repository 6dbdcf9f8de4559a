"""The example bot's action server: rasa-handover's actions plus an account lookup.

    rasa run actions --actions actions     # from example_bot/

This is how a bot uses the plugin's actions next to its own.
"""

from rasa_handover.actions import (
    ActionHandback,
    ActionHandover,
    ActionHandoverCsat,
    ActionOfferHandover,
    ActionScheduleCallback,
)

from .account_lookup import ActionSessionStart

__all__ = [
    "ActionHandback",
    "ActionHandover",
    "ActionHandoverCsat",
    "ActionOfferHandover",
    "ActionScheduleCallback",
    "ActionSessionStart",
]
