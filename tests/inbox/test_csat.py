"""The customer's CSAT score after a handback, stored on the ticket.

The store on real SQLite files and (with HANDOVER_TEST_POSTGRES_URL)
PostgreSQL; the channel endpoint through sanic_testing's ASGI client with a
signed body, as a standalone channel calls it.
"""

from pathlib import Path
from typing import Any, Optional

import pytest
import sqlalchemy as sa
from sanic import Sanic

from rasa_handover.inbox.store import InboxStore
from tests.inbox.conftest import POSTGRES_SKIP_REASON, PostgresSchemas, postgres_url
from tests.inbox.test_api import MAYA, PREFIX, signed
from tests.inbox.test_outcomes import PAYLOAD, app_with, claimed_ticket, resolve


async def rate(app: Sanic, score: Any, conversation_id: str = "conv-1") -> Any:
    body, headers = signed(
        {"conversation_id": conversation_id, "score": score},
        path=f"{PREFIX}/api/channel/csat",
    )
    _, response = await app.asgi_client.post(
        f"{PREFIX}/api/channel/csat", content=body, headers=headers
    )
    return response


async def test_the_score_is_stored_on_the_resolved_ticket(tmp_path: Path) -> None:
    app = app_with(tmp_path)
    ticket_id = await claimed_ticket(app)
    assert (await resolve(app, ticket_id, {})).status == 200

    response = await rate(app, 4)

    assert response.status == 200
    assert response.json == {"recorded": True, "ticket_id": ticket_id, "csat": 4}
    _, ticket = await app.asgi_client.get(
        f"{PREFIX}/api/tickets/{ticket_id}", headers=MAYA
    )
    assert ticket.json["ticket"]["csat"] == 4


async def test_a_conversation_without_a_resolved_ticket_gets_a_404(
    tmp_path: Path,
) -> None:
    app = app_with(tmp_path)
    await claimed_ticket(app)  # Open, not resolved: nothing to rate yet.

    response = await rate(app, 5)

    assert response.status == 404
    assert "has no resolved ticket to rate" in response.text


@pytest.mark.parametrize(
    "score",
    [
        pytest.param(0, id="below"),
        pytest.param(6, id="above"),
        pytest.param("4", id="text"),
        pytest.param(True, id="bool"),
    ],
)
async def test_a_score_off_the_scale_gets_a_400_naming_it(
    tmp_path: Path, score: Any
) -> None:
    app = app_with(tmp_path)
    ticket_id = await claimed_ticket(app)
    await resolve(app, ticket_id, {})

    response = await rate(app, score)

    assert response.status == 400
    assert "score" in response.text


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_the_latest_resolved_ticket_gets_it_and_outcomes_read_it(
    tmp_path: Path, database: str
) -> None:
    url, schema = f"sqlite:///{tmp_path / 'inbox.db'}", None
    schemas: Optional[PostgresSchemas] = None
    if database == "postgresql":
        if postgres_url() is None:
            pytest.skip(POSTGRES_SKIP_REASON)
        schemas = PostgresSchemas(str(postgres_url()))
        url, schema = str(postgres_url()), await schemas.new()
    store = InboxStore(url, schema=schema)
    try:
        await store.create_all()
        await store.upsert_agent("ann", "Ann", "token-ann")
        for attempt in (1, 2):
            ticket, _ = await store.create_ticket("conv-1", attempt, PAYLOAD)
            await store.claim(ticket.id, "ann")
            await store.resolve(ticket.id, "ann", None)
        await store.create_ticket("conv-1", 3, PAYLOAD)  # Open: not rated.

        rated = await store.record_csat("conv-1", 2)
        nothing = await store.record_csat("conv-2", 5)
        outcomes = await store.outcomes(labelled_only=False)
    finally:
        await store.close()
        if schemas is not None:
            await schemas.drop_all()

    assert rated is not None and (rated.attempt, rated.csat) == (2, 2)
    assert nothing is None
    assert [(o.attempt, o.csat) for o in outcomes] == [(1, None), (2, 2)]


async def test_a_database_of_an_older_version_gets_the_csat_column(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = InboxStore(url)
    await old.create_all()
    async with old.engine.begin() as conn:
        await conn.execute(sa.text("ALTER TABLE handover_tickets DROP COLUMN csat"))
    await old.close()

    upgraded = InboxStore(url)
    await upgraded.create_all()
    await upgraded.upsert_agent("ann", "Ann", "token-ann")
    ticket, _ = await upgraded.create_ticket("conv-1", 1, PAYLOAD)
    await upgraded.claim(ticket.id, "ann")
    await upgraded.resolve(ticket.id, "ann", None)
    rated = await upgraded.record_csat("conv-1", 5)
    await upgraded.close()

    assert rated is not None and rated.csat == 5
