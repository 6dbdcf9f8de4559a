"""Outcome labels on resolving: stored with the ticket, read back for tuning.

The store on real SQLite files and (with HANDOVER_TEST_POSTGRES_URL)
PostgreSQL; the API through sanic_testing's ASGI client.
"""

from pathlib import Path
from typing import Any, Dict, Optional

import pytest
import sqlalchemy as sa
from sanic import Sanic

from rasa_handover.inbox.api import create_app
from rasa_handover.inbox.config import AgentConfig, InboxConfig
from rasa_handover.inbox.models import (
    OUTCOME_NOT_NEEDED,
    OUTCOME_TOO_LATE,
    STATUS_RESOLVED,
)
from rasa_handover.inbox.store import InboxStore
from tests.inbox.conftest import (
    POSTGRES_SKIP_REASON,
    FakeClock,
    PostgresSchemas,
    postgres_url,
)
from tests.inbox.test_api import MAYA, PREFIX, SECRET, request_ticket, unique_name

PAYLOAD: Dict[str, Any] = {
    "trigger": {"reason": "low_confidence", "evidence": {"confidence": 0.31}},
    "intent": {"name": "check_balance", "confidence": 0.31},
    "intent_history": [
        {"turn": 1, "intent": "greet", "confidence": 0.9, "text": "hi"},
        {"turn": 2, "intent": "check_balance", "confidence": 0.31, "text": "money?"},
    ],
}


async def test_the_outcome_is_stored_with_the_ticket_and_its_timings(
    store: InboxStore, clock: FakeClock
) -> None:
    await store.upsert_agent("ann", "Ann", "token-ann")
    ticket, _ = await store.create_ticket(
        "conv-1",
        1,
        PAYLOAD,
        team="billing",
        language="de",
        tier="senior",
        reason="low_confidence",
    )
    clock.advance(30)
    await store.assign(ticket.id, "ann")
    clock.advance(15)
    await store.claim(ticket.id, "ann")
    clock.advance(20)
    await store.add_message(ticket.id, "agent", "Hi, Ann here.", "Ann")
    clock.advance(5)
    await store.add_message(ticket.id, "agent", "One moment.", "Ann")
    clock.advance(60)
    change = await store.resolve(
        ticket.id, "ann", OUTCOME_NOT_NEEDED, "bot knew it", intent="check_refund"
    )

    assert change.ticket.outcome_intent == "check_refund"
    assert change.event is not None and change.event.data["intent"] == "check_refund"
    [record] = await store.outcomes()
    assert (record.outcome, record.note, record.intent) == (
        OUTCOME_NOT_NEEDED,
        "bot knew it",
        "check_refund",
    )
    assert (record.reason, record.team, record.tier, record.language) == (
        "low_confidence",
        "billing",
        "senior",
        "de",
    )
    assert record.payload == PAYLOAD
    assert record.requested_at is not None and record.resolved_at is not None
    seconds = {
        name: (moment - record.requested_at).total_seconds()
        for name, moment in (
            ("assigned", record.assigned_at),
            ("first_reply", record.first_reply_at),
            ("resolved", record.resolved_at),
        )
        if moment is not None
    }
    # The first agent message counts, not the latest.
    assert seconds == {"assigned": 30, "first_reply": 65, "resolved": 130}


async def test_resolving_without_a_label_is_kept_apart_from_labelled_outcomes(
    store: InboxStore,
) -> None:
    await store.upsert_agent("ann", "Ann", "token-ann")
    unlabelled, _ = await store.create_ticket("conv-1", 1, PAYLOAD)
    labelled, _ = await store.create_ticket("conv-2", 1, PAYLOAD)
    for ticket in (unlabelled, labelled):
        await store.claim(ticket.id, "ann")
    done = await store.resolve(unlabelled.id, "ann", None)
    await store.resolve(labelled.id, "ann", OUTCOME_TOO_LATE)

    assert (done.ticket.status, done.ticket.outcome) == (STATUS_RESOLVED, None)
    assert [r.ticket_id for r in await store.outcomes()] == [labelled.id]
    everything = await store.outcomes(labelled_only=False)
    assert [(r.ticket_id, r.outcome) for r in everything] == [
        (unlabelled.id, None),
        (labelled.id, OUTCOME_TOO_LATE),
    ]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_a_database_of_an_older_version_gets_the_new_columns(
    tmp_path: Path, database: str
) -> None:
    url, schema = f"sqlite:///{tmp_path / 'old.db'}", None
    schemas: Optional[PostgresSchemas] = None
    if database == "postgresql":
        if postgres_url() is None:
            pytest.skip(POSTGRES_SKIP_REASON)
        schemas = PostgresSchemas(str(postgres_url()))
        url, schema = str(postgres_url()), await schemas.new()
    try:
        old = InboxStore(url, schema=schema)
        await old.create_all()
        ticket, _ = await old.create_ticket("conv-1", 1, PAYLOAD)
        # As the previous version created it: no outcome_intent column.
        table = f'"{schema}".handover_tickets' if schema else "handover_tickets"
        async with old.engine.begin() as conn:
            await conn.execute(
                sa.text(f"ALTER TABLE {table} DROP COLUMN outcome_intent")
            )
        await old.close()

        upgraded = InboxStore(url, schema=schema)
        await upgraded.create_all()
        await upgraded.upsert_agent("ann", "Ann", "token-ann")
        await upgraded.claim(ticket.id, "ann")
        change = await upgraded.resolve(ticket.id, "ann", OUTCOME_TOO_LATE, intent="x")
        await upgraded.create_all()  # A second start changes nothing.
        await upgraded.close()
    finally:
        if schemas is not None:
            await schemas.drop_all()

    assert change.ticket.outcome_intent == "x"


# --- The API. ----------------------------------------------------------------------


def app_with(tmp_path: Path, intents: tuple = ()) -> Sanic:
    config = InboxConfig(
        agents=(AgentConfig("Maya", "token-maya", teams=("billing",), capacity=2),),
        shared_secret=SECRET,
        housekeeping_seconds=0,
        intents=intents,
    )
    return create_app(
        f"sqlite:///{tmp_path / 'handover.db'}", config, name=unique_name()
    )


async def claimed_ticket(app: Sanic) -> int:
    ticket_id = int((await request_ticket(app)).json["ticket_id"])
    _, claimed = await app.asgi_client.post(
        f"{PREFIX}/api/tickets/{ticket_id}/claim", headers=MAYA
    )
    assert claimed.status == 200
    return ticket_id


async def resolve(app: Sanic, ticket_id: int, body: Dict[str, Any]) -> Any:
    _, response = await app.asgi_client.post(
        f"{PREFIX}/api/tickets/{ticket_id}/resolve", json=body, headers=MAYA
    )
    return response


@pytest.mark.parametrize(
    "body, outcome, intent",
    [
        pytest.param({}, None, None, id="unlabelled"),
        pytest.param(
            {"outcome": "escalation_not_needed", "intent": " check_balance "},
            "escalation_not_needed",
            "check_balance",
            id="label-and-intent",
        ),
        pytest.param(
            {"outcome": "should_have_come_earlier", "intent": ""},
            "should_have_come_earlier",
            None,
            id="blank-intent-is-none",
        ),
    ],
)
async def test_the_api_resolves_with_or_without_a_label(
    tmp_path: Path, body: Dict[str, Any], outcome: Optional[str], intent: Optional[str]
) -> None:
    app = app_with(tmp_path)
    ticket_id = await claimed_ticket(app)

    response = await resolve(app, ticket_id, body)

    assert response.status == 200, response.json
    ticket = response.json["ticket"]
    assert (ticket["status"], ticket["outcome"], ticket["outcome_intent"]) == (
        "resolved",
        outcome,
        intent,
    )


@pytest.mark.parametrize(
    "intents, body, message",
    [
        pytest.param((), {"intent": "check balance"}, "not an intent name", id="space"),
        pytest.param((), {"intent": "/greet"}, "not an intent name", id="slash"),
        pytest.param((), {"intent": 3}, "must be", id="not-a-string"),
        pytest.param(
            ("greet", "check_balance"),
            {"intent": "astrology"},
            "not one of the domain's intents",
            id="not-in-inbox-yml",
        ),
        pytest.param(
            (), {"outcome": "late"}, "escalation_needed", id="unknown-outcome"
        ),
    ],
)
async def test_bad_labels_get_a_400_that_says_how_to_fix_them(
    tmp_path: Path, intents: tuple, body: Dict[str, Any], message: str
) -> None:
    app = app_with(tmp_path, intents)
    ticket_id = await claimed_ticket(app)

    response = await resolve(app, ticket_id, body)

    assert response.status == 400
    assert response.json["field"] in ("intent", "outcome")
    assert message in response.json["error"]
    # Nothing was resolved: the agent can correct it and try again.
    _, details = await app.asgi_client.get(
        f"{PREFIX}/api/tickets/{ticket_id}", headers=MAYA
    )
    assert details.json["ticket"]["status"] == "active"


async def test_the_ticket_offers_the_configured_and_the_conversations_intents(
    tmp_path: Path,
) -> None:
    app = app_with(tmp_path, ("request_refund", "greet"))
    ticket_id = await claimed_ticket(app)

    _, details = await app.asgi_client.get(
        f"{PREFIX}/api/tickets/{ticket_id}", headers=MAYA
    )

    assert details.json["intent_choices"] == ["greet", "request_refund"]
    # An intent from the list is taken.
    response = await resolve(app, ticket_id, {"intent": "request_refund"})
    assert response.json["ticket"]["outcome_intent"] == "request_refund"


def test_the_choices_include_every_intent_nlu_saw_in_the_conversation() -> None:
    from rasa_handover.inbox.outcome_intents import intent_choices

    assert intent_choices(PAYLOAD, ("request_refund",)) == [
        "check_balance",
        "greet",
        "request_refund",
    ]
    assert intent_choices({"intent_history": "garbage", "intent": 3}) == []
