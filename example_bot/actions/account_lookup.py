"""Starts each session with the customer's account looked up.

The webchat page (or a REST client) sends a `customer_id` in the message
metadata; Rasa keeps the first message's metadata in the
`session_started_metadata` slot. The lookup fills `account_tier` (which makes
HandoverPolicy's triggers more sensitive for enterprise and VIP accounts) and
`customer_name` (which the agent's prefilled opening line uses).
"""

from pathlib import Path
from typing import Any, Dict, List

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

ACCOUNTS_FILE = Path(__file__).resolve().parent.parent / "accounts.yml"
SLOT_METADATA = "session_started_metadata"
METADATA_CUSTOMER_ID = "customer_id"


def lookup(customer_id: Any) -> Dict[str, Any]:
    """The demo account of `customer_id`, or an empty dict for unknown ids."""
    accounts = yaml.safe_load(ACCOUNTS_FILE.read_text(encoding="utf-8")) or {}
    return dict(accounts.get(str(customer_id), {})) if customer_id else {}


class ActionSessionStart(Action):
    """Rasa's session start, plus the account lookup."""

    def name(self) -> str:
        """Replaces Rasa's default `action_session_start`."""
        return "action_session_start"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> List[EventType]:
        """Starts the session with `account_tier`, `customer_name` (and email) filled."""
        # Like Rasa's own action: start the session, carry the slots over
        # (session_config: carry_over_slots_to_new_session), then listen.
        events: List[EventType] = [SessionStarted()]
        events += [
            SlotSet(name, value)
            for name, value in tracker.slots.items()
            if value is not None and name != SLOT_METADATA
        ]
        metadata = tracker.get_slot(SLOT_METADATA) or {}
        account = lookup(metadata.get(METADATA_CUSTOMER_ID))
        if account:
            events += [
                SlotSet("account_tier", account.get("tier")),
                SlotSet("customer_name", account.get("name")),
            ]
            if account.get("email"):
                events.append(SlotSet("customer_email", account.get("email")))
        events.append(ActionExecuted("action_listen"))
        return events
