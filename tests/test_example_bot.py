"""The example bot's own action: the account lookup at session start."""

from typing import Any, Dict, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from example_bot.actions.account_lookup import ActionSessionStart


def tracker(slots: Dict[str, Any]) -> Tracker:
    return Tracker("c1", slots, {}, [], False, None, {}, "action_listen")


@pytest.mark.parametrize(
    "metadata, tier, name",
    [
        pytest.param({"customer_id": "alex"}, "vip", "Alex", id="vip"),
        pytest.param({"customer_id": "dana"}, "standard", "Dana", id="standard"),
        pytest.param({"customer_id": "nobody"}, None, None, id="unknown-customer"),
        pytest.param(None, None, None, id="no-metadata"),
    ],
)
async def test_session_start_looks_up_the_account(
    metadata: Optional[Dict[str, Any]], tier: Optional[str], name: Optional[str]
) -> None:
    events = await ActionSessionStart().run(
        CollectingDispatcher(),
        tracker({"session_started_metadata": metadata, "order_id": "1182"}),
        {},
    )
    assert events[0] == SessionStarted()
    assert events[-1] == ActionExecuted("action_listen")
    assert SlotSet("order_id", "1182") in events  # carried over, as Rasa does
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots.get("account_tier") == tier
    assert slots.get("customer_name") == name


def test_demo_customers_differ_and_are_not_high_value() -> None:
    """Each demo tab picks one of these: different people, ordinary triggers."""
    from example_bot.actions.account_lookup import lookup
    from example_bot.demo import demo_customers

    customers = demo_customers()
    names = {lookup(customer)["name"] for customer in customers}
    assert len(customers) >= 5 and len(names) == len(customers)
    assert {lookup(customer)["tier"] for customer in customers} <= {"free", "standard"}
