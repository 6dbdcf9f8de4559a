"""Fallback chains through the service: a person is found, the ticket keeps its team."""

from typing import Any, Dict

from rasa_handover.inbox.contract import EVENT_ASSIGNED
from rasa_handover.inbox.models import STATUS_ASSIGNED, STATUS_WAITING
from rasa_handover.inbox.router import FallbackChains
from rasa_handover.inbox.service import InboxService
from rasa_handover.inbox.store import InboxStore
from tests.inbox.test_service import agent, listen, seed

TECHNICAL: Dict[str, Any] = {
    "trigger": {"reason": "explicit_request", "team": "technical"}
}


async def test_only_a_billing_agent_online_gets_the_technical_ticket(
    store: InboxStore,
) -> None:
    await seed(store, maya={"teams": ["general", "billing"]})
    await seed(store, online=False, jonas={"teams": ["technical"]})
    service = InboxService(store)
    received = listen(service)

    view = await service.request_handover("conv-1", 1, TECHNICAL)

    assert (view.status, view.agent_name, view.team) == (
        STATUS_ASSIGNED,
        "Maya",
        "technical",
    )
    assert view.no_agent_reason is None
    assigned = [event for event, _ in received if event.type == EVENT_ASSIGNED]
    assert assigned[0].data["routed_via"] == "general"
    events = await store.events(ticket_id=view.ticket_id)
    stored = [event for event in events if event.type == EVENT_ASSIGNED]
    assert stored[0].data["routed_via"] == "general"
    assert any("fallback step 'general'" in note for note in stored[0].data["notes"])


async def test_the_specialist_can_take_over_and_the_agent_can_transfer(
    store: InboxStore,
) -> None:
    await seed(store, maya={"teams": ["general", "billing"]})
    await seed(store, online=False, jonas={"teams": ["technical"]})
    service = InboxService(store)
    view = await service.request_handover("conv-1", 1, TECHNICAL)
    jonas = await agent(store, "jonas")

    tickets, _ = await service.queue_for(jonas)

    assert [ticket.id for ticket in tickets] == [view.ticket_id]
    await service.set_availability(jonas, True)
    maya = await agent(store, "maya")
    await service.agent_reply(view.ticket_id, maya, "Let me get a specialist.")
    routed = await service.transfer(view.ticket_id, "technical", maya)
    assert (routed.team, routed.agent_name) == ("technical", "Jonas")


async def test_an_empty_chain_keeps_regulated_tickets_with_their_team(
    store: InboxStore,
) -> None:
    await seed(store, maya={"teams": ["general"]})
    await seed(store, online=False, sam={"teams": ["compliance"]})
    service = InboxService(store, routing=FallbackChains(by_team={"compliance": ()}))

    view = await service.request_handover(
        "conv-1", 1, {"trigger": {"team": "compliance"}}
    )

    assert (view.status, view.no_agent_reason) == (STATUS_WAITING, "nobody_online")
    maya_sees, _ = await service.queue_for(await agent(store, "maya"))
    assert maya_sees == []


async def test_all_busy_not_nobody_online_while_a_fallback_agent_is_online(
    store: InboxStore,
) -> None:
    await seed(store, maya={"teams": ["general"], "capacity": 1})
    service = InboxService(store)
    await service.request_handover("conv-1", 1, TECHNICAL)

    second = await service.request_handover("conv-2", 1, TECHNICAL)

    assert second.no_agent_reason == "all_busy"
    maya_sees, _ = await service.queue_for(await agent(store, "maya"))
    assert [ticket.conversation_id for ticket in maya_sees] == ["conv-1", "conv-2"]


async def test_a_waiting_ticket_goes_to_the_first_fallback_agent_who_comes_online(
    store: InboxStore,
) -> None:
    await seed(store, online=False, maya={"teams": ["billing"]})
    service = InboxService(store)
    view = await service.request_handover("conv-1", 1, TECHNICAL)
    assert view.no_agent_reason == "nobody_online"

    await service.set_availability(await agent(store, "maya"), True)

    ticket = await store.require_ticket(view.ticket_id)
    assert (ticket.status, ticket.agent_id, ticket.team) == (
        STATUS_ASSIGNED,
        "maya",
        "technical",
    )
