"""How long a customer will wait, and when to tell them again, as pure functions.

The estimate is deliberately simple so agents and customers can reason about it:
each position ahead of the customer costs one *pickup time*, the moving average
of how long recent tickets of the team waited between request and acceptance.
Until a team has picked up any ticket, a documented cold-start default stands in.

Nothing here imports Sanic, SQLAlchemy or Rasa.
"""

import math
from dataclasses import dataclass
from typing import Optional, Sequence

# How many of the latest pickups the moving average covers: enough to smooth
# one slow pickup out, few enough to follow a lunch-time slowdown within the hour.
PICKUP_SAMPLE_SIZE = 20
# Seconds per queue position before a team has any observed pickup: two minutes
# is a cautious first answer; promising less and then being late is worse.
COLD_START_PICKUP_SECONDS = 120.0

# Re-announce the wait only when it grew by at least half *and* by at least a
# minute: customers notice "it will take longer", not 20-second jitter.
UPDATE_GROWTH_RATIO = 0.5
UPDATE_MIN_GROWTH_SECONDS = 60

BASIS_OBSERVED = "observed"
BASIS_COLD_START = "cold_start"

SECONDS_PER_MINUTE = 60
SECONDS_PER_HOUR = 3600
# Up to 1.5 minutes reads better as "about a minute" than "about 2 minutes".
_ABOUT_A_MINUTE_LIMIT = 90
# From 59.5 minutes on, minutes would round to 60: talk in hours instead.
_MINUTES_LIMIT = SECONDS_PER_HOUR - SECONDS_PER_MINUTE // 2
_ABOUT_AN_HOUR_LIMIT = 90 * SECONDS_PER_MINUTE


@dataclass(frozen=True)
class WaitEstimate:
    """An estimated wait.

    Attributes:
        seconds: Expected seconds until an agent picks the ticket up.
        basis: `observed` (moving average of real pickups) or `cold_start`.
        sample_size: How many observed pickups the average used.

    """

    seconds: int
    basis: str
    sample_size: int


def estimate_wait(
    queue_position: int,
    recent_pickup_seconds: Sequence[float],
    agents_with_capacity: int,
    default_pickup_seconds: float = COLD_START_PICKUP_SECONDS,
) -> WaitEstimate:
    """Estimates the wait for a ticket in a queue.

    Args:
        queue_position: 1-based position among the team's waiting tickets.
        recent_pickup_seconds: Observed request-to-acceptance times, oldest
            first; only the last `PICKUP_SAMPLE_SIZE` count. Negative or
            non-finite values (clock skew, bad rows) are ignored.
        agents_with_capacity: Online agents of the team who could take a ticket
            right now.
        default_pickup_seconds: Seconds per position when nothing was observed.

    Returns:
        The estimate. Zero when a free agent is there for this position (the
        first `agents_with_capacity` positions are served at once).

    """
    samples = [
        float(value)
        for value in recent_pickup_seconds
        if math.isfinite(value) and value >= 0
    ][-PICKUP_SAMPLE_SIZE:]
    if samples:
        per_position, basis = sum(samples) / len(samples), BASIS_OBSERVED
    else:
        per_position, basis = default_pickup_seconds, BASIS_COLD_START
    positions_to_wait = max(0, queue_position - max(0, agents_with_capacity))
    return WaitEstimate(
        seconds=round(per_position * positions_to_wait),
        basis=basis,
        sample_size=len(samples),
    )


def should_update_customer(
    previous_seconds: Optional[float], new_seconds: float
) -> bool:
    """Whether a grown estimate is worth telling the customer again.

    Args:
        previous_seconds: The estimate last told (None if none was told).
        new_seconds: The current estimate.

    Returns:
        True when it grew by at least `UPDATE_GROWTH_RATIO` and at least
        `UPDATE_MIN_GROWTH_SECONDS`. Shrinking estimates are never announced:
        the agent simply arrives early.

    """
    previous = previous_seconds or 0.0
    growth = new_seconds - previous
    return (
        growth >= UPDATE_MIN_GROWTH_SECONDS and growth >= previous * UPDATE_GROWTH_RATIO
    )


def format_wait(seconds: Optional[float]) -> str:
    """Renders a wait for humans, rounded the way people speak.

    Args:
        seconds: The wait in seconds (None or negative read as no wait).

    Returns:
        "less than a minute", "about a minute", "about 7 minutes",
        "about an hour" or "about 3 hours".

    """
    value = max(0.0, float(seconds or 0))
    if value < SECONDS_PER_MINUTE:
        return "less than a minute"
    if value < _ABOUT_A_MINUTE_LIMIT:
        return "about a minute"
    if value < _MINUTES_LIMIT:
        return f"about {round(value / SECONDS_PER_MINUTE)} minutes"
    if value < _ABOUT_AN_HOUR_LIMIT:
        return "about an hour"
    return f"about {round(value / SECONDS_PER_HOUR)} hours"
