"""The sentiment signal: VADER's compound score, its lexicon inside its wheel."""

from __future__ import annotations

import functools
import math
from typing import Any, Mapping

from rasa_handover.signals.common import (
    MESSAGE_EVIDENCE_MAX_CHARS,
    Span,
    message_span,
)

__all__ = [
    "DEFAULT_NEGATIVE_SENTIMENT_THRESHOLD",
    "SENTIMENT_CACHE_SIZE",
    "SENTIMENT_EVIDENCE_MAX_CHARS",
    "negative_sentiment",
    "sentiment_score",
    "vader_lexicon",
    "validate_threshold",
]

# VADER's compound score runs from -1 to 1. Its authors call anything below
# -0.05 negative, which would flag every complaint ("I can't log in" is 0.0,
# "I want to cancel my account" is -0.18); -0.6 needs clearly hostile or
# distressed wording ("Worst service ever" is -0.63).
DEFAULT_NEGATIVE_SENTIMENT_THRESHOLD = -0.6
# The message excerpt reported as evidence for negative sentiment.
SENTIMENT_EVIDENCE_MAX_CHARS = MESSAGE_EVIDENCE_MAX_CHARS
# The policy asks about the same handful of recent messages on every
# prediction; a few thousand entries cover many concurrent conversations.
SENTIMENT_CACHE_SIZE = 4096


@functools.lru_cache(maxsize=None)
def _analyzer() -> Any:
    """Build VADER's analyser once; it loads its lexicon from its own wheel."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_lexicon() -> Mapping[str, float]:
    """VADER's lexicon: lower-case word -> valence (-4 to 4)."""
    return _analyzer().lexicon


@functools.lru_cache(maxsize=SENTIMENT_CACHE_SIZE)
def sentiment_score(text: str) -> float:
    """Score how negative or positive a message sounds.

    Args:
        text: One user message.

    Returns:
        VADER's compound score in [-1, 1]: below about -0.05 reads negative,
        above about 0.05 positive. An empty message scores 0.0.

    """
    if not text or not text.strip():
        return 0.0
    return float(_analyzer().polarity_scores(text)["compound"])


def negative_sentiment(text: str, threshold: float) -> Span | None:
    """The whole message (trimmed, capped) when VADER scores it at or below."""
    if sentiment_score(text) > threshold:
        return None
    return message_span(text)


def validate_threshold(threshold: float) -> float:
    """Check a negative-sentiment threshold (VADER's range, not NaN)."""
    value = float(threshold)
    # Written so that NaN fails too.
    if not (-1.0 <= value <= 1.0) or math.isnan(value):
        raise ValueError(
            f"negative_sentiment_threshold must be between -1 and 1 (VADER's "
            f"compound score range), got {threshold!r}."
        )
    return value
