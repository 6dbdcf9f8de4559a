"""Card numbers in linear time: the same answers as the exhaustive search, fast."""

import random
import re
import time
from typing import List, Optional, Sequence, Tuple

import pytest

from rasa_handover.card_numbers import CARD_MAX_DIGITS, CARD_MIN_DIGITS, card_spans
from rasa_handover.redaction import luhn_is_valid, redact_text

Span = Tuple[int, int]


def exhaustive(text: str, groups: Sequence[Span]) -> List[Span]:
    """The previous, quadratic search (the reference for small runs)."""
    best: Optional[Tuple[int, int]] = None
    best_length = 0
    for first in range(len(groups)):
        digits = 0
        for last in range(first, len(groups)):
            digits += groups[last][1] - groups[last][0]
            if digits > CARD_MAX_DIGITS:
                break
            if digits < CARD_MIN_DIGITS or digits <= best_length:
                continue
            number = re.sub(r"\D", "", text[groups[first][0] : groups[last][1]])
            if luhn_is_valid(number):
                best, best_length = (first, last), digits
    if best is None:
        return []
    first, last = best
    return [
        *exhaustive(text, groups[:first]),
        (groups[first][0], groups[last][1]),
        *exhaustive(text, groups[last + 1 :]),
    ]


def test_same_cards_as_the_exhaustive_search() -> None:
    rng = random.Random(11)
    for _ in range(3000):
        groups = [
            "".join(rng.choice("0123456789") for _ in range(rng.choice((1, 2, 4, 6))))
            for _ in range(rng.randint(1, 12))
        ]
        if rng.random() < 0.5:  # plant a real card somewhere
            groups.insert(rng.randint(0, len(groups)), "4242 4242 4242 4242")
        text = " ".join(groups)
        spans = [(m.start(), m.end()) for m in re.finditer(r"\d+", text)]
        assert list(card_spans(text)) == exhaustive(text, spans), text


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("4 " * 5000, id="10kb-of-single-digits-took-10s"),
        pytest.param(
            " ".join(["4242 4242 4242 4242"] * 1200), id="1200-cards-recursion-error"
        ),
    ],
)
def test_many_digit_groups_are_fast_and_never_recurse(text: str) -> None:
    started = time.perf_counter()
    redacted = redact_text(text)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0  # was 10 s, and RecursionError for the cards
    if "4242" in text:
        assert redacted.count("**** **** **** 4242") == 1200


def test_time_grows_linearly() -> None:
    def timed(size: int) -> float:
        text = "4 " * size
        started = time.perf_counter()
        redact_text(text)
        return time.perf_counter() - started

    # The fastest of a few runs: other processes share this machine.
    small = min(timed(10_000) for _ in range(5))
    large = min(timed(40_000) for _ in range(5))
    # 4x the text: about 4x the time (quadratic would be 16x).
    assert large < 10 * small


def test_longer_number_is_never_masked_in_part() -> None:
    number = "42424242424242424242"  # 20 digits with a valid 16-digit head
    assert redact_text(f"ref {number}") == f"ref {number}"
