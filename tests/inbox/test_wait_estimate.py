"""Wait estimates, when to re-announce them, and how they read."""

from typing import Optional, Sequence

import pytest

from rasa_handover.inbox.wait_estimate import (
    BASIS_COLD_START,
    BASIS_OBSERVED,
    COLD_START_PICKUP_SECONDS,
    PICKUP_SAMPLE_SIZE,
    estimate_wait,
    format_wait,
    should_update_customer,
)


@pytest.mark.parametrize(
    "position, pickups, free_agents, seconds, basis, sample_size",
    [
        pytest.param(1, [], 1, 0, BASIS_COLD_START, 0, id="free-agent-first-in-line"),
        pytest.param(2, [60.0], 2, 0, BASIS_OBSERVED, 1, id="enough-free-agents"),
        pytest.param(
            1,
            [],
            0,
            int(COLD_START_PICKUP_SECONDS),
            BASIS_COLD_START,
            0,
            id="cold-start",
        ),
        pytest.param(
            3,
            [],
            0,
            int(3 * COLD_START_PICKUP_SECONDS),
            BASIS_COLD_START,
            0,
            id="cold-start-per-position",
        ),
        pytest.param(2, [30.0, 90.0], 0, 120, BASIS_OBSERVED, 2, id="moving-average"),
        pytest.param(
            3, [60.0], 1, 120, BASIS_OBSERVED, 1, id="free-agents-shorten-the-line"
        ),
        pytest.param(
            1,
            [-5.0, float("nan"), 40.0],
            0,
            40,
            BASIS_OBSERVED,
            1,
            id="bad-samples-ignored",
        ),
        pytest.param(
            1,
            [1000.0] * 5 + [10.0] * PICKUP_SAMPLE_SIZE,
            0,
            10,
            BASIS_OBSERVED,
            PICKUP_SAMPLE_SIZE,
            id="only-latest-samples-count",
        ),
    ],
)
def test_estimate_wait(
    position: int,
    pickups: Sequence[float],
    free_agents: int,
    seconds: int,
    basis: str,
    sample_size: int,
) -> None:
    estimate = estimate_wait(position, pickups, free_agents)

    assert (estimate.seconds, estimate.basis, estimate.sample_size) == (
        seconds,
        basis,
        sample_size,
    )


def test_custom_cold_start_default() -> None:
    assert estimate_wait(2, [], 0, default_pickup_seconds=30).seconds == 60


@pytest.mark.parametrize(
    "previous, new, expected",
    [
        pytest.param(120, 240, True, id="doubled"),
        pytest.param(120, 179, False, id="grew-less-than-a-minute"),
        pytest.param(600, 840, False, id="grew-4-minutes-but-only-40-percent"),
        pytest.param(600, 900, True, id="grew-half"),
        pytest.param(300, 60, False, id="shrinking-is-never-announced"),
        pytest.param(None, 120, True, id="nothing-told-yet"),
        pytest.param(0, 30, False, id="from-zero-small-growth"),
    ],
)
def test_should_update_customer(
    previous: Optional[float], new: float, expected: bool
) -> None:
    assert should_update_customer(previous, new) is expected


@pytest.mark.parametrize(
    "seconds, text",
    [
        pytest.param(0, "less than a minute", id="zero"),
        pytest.param(None, "less than a minute", id="none"),
        pytest.param(59, "less than a minute", id="59s"),
        pytest.param(60, "about a minute", id="60s"),
        pytest.param(120, "about 2 minutes", id="2min"),
        pytest.param(7 * 60 + 20, "about 7 minutes", id="7min"),
        pytest.param(3600, "about an hour", id="1h"),
        pytest.param(3 * 3600, "about 3 hours", id="3h"),
    ],
)
def test_format_wait(seconds: Optional[float], text: str) -> None:
    assert format_wait(seconds) == text
