"""Which database errors mean "unreachable, retry later" (a 503), and which are bugs."""

import asyncio

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, ProgrammingError

from rasa_handover.inbox.store.engine import is_database_unreachable


def wrapped(error: BaseException, invalidated: bool = False) -> DBAPIError:
    """`error` as SQLAlchemy raises it from the driver."""
    return DBAPIError("SELECT 1", None, error, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(ConnectionRefusedError(111, "refused"), id="connect-refused"),
        pytest.param(asyncio.TimeoutError(), id="connect-timeout"),
        pytest.param(OSError(113, "no route to host"), id="no-route"),
        pytest.param(wrapped(Exception("closed"), True), id="dropped-mid-query"),
        pytest.param(
            wrapped(asyncpg.CannotConnectNowError("starting up")), id="starting-up"
        ),
        pytest.param(
            wrapped(asyncpg.AdminShutdownError("terminating")), id="shut-down"
        ),
        pytest.param(
            wrapped(asyncpg.TooManyConnectionsError("too many")), id="too-many"
        ),
    ],
)
def test_an_unreachable_database_is_recognised(error: BaseException) -> None:
    assert is_database_unreachable(error)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(
            IntegrityError("INSERT", None, Exception("duplicate key")),
            id="constraint",
        ),
        pytest.param(
            ProgrammingError("SELECT", None, Exception("no such table")),
            id="bad-query",
        ),
        pytest.param(ValueError("bug"), id="bug"),
    ],
)
def test_other_errors_are_not_an_outage(error: BaseException) -> None:
    assert not is_database_unreachable(error)
