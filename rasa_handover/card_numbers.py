"""Payment card numbers in free text, found in linear time (used by `redaction`).

A card number is 13-19 digits that pass the Luhn check, typed in one piece or in
groups: "4242 4242 4242 4242", "4242-4242-4242-4242", "4242.4242.4242.4242",
"4242/4242/...", groups on separate lines, separated by tabs, non-breaking or
double spaces, or " - ".

A *run* is a stretch of digit groups joined by such separators. One run may glue
an unrelated number to a card ("order 12 4242 4242 4242 4242") or hold several
cards typed one after the other, so every window of whole groups with 13-19
digits is a candidate, and the longest valid windows win, the earliest first,
each taking its groups away from the others. A group of more than 19 digits is
never part of a card (a longer number is never masked in part).

Within one card the separator is the same throughout: "delivered 12/05/2024
20231182" is a date and an order number (and "05 2024 20231182" happens to
pass the Luhn check), not a card.

The cost is linear in the text: a window has at most 19 digits, so at most 19
windows per group are checked, each in constant time from prefix
sums of the Luhn terms; nothing recurses. (The previous search was quadratic
and recursive: 10 KB of "4 " took 10 s and 1,200 cards raised RecursionError.)

This module is pure: it imports nothing from Rasa.
"""

import re
from bisect import bisect_left, bisect_right
from itertools import accumulate
from typing import Dict, Iterator, List, Sequence, Tuple

CARD_MIN_DIGITS = 13
CARD_MAX_DIGITS = 19

# Between two groups: up to three spaces of any kind (tab, newline, NBSP, double
# space), or one of - . / with an optional space on each side.
_SEPARATOR = r"(?:\s{1,3}|\s?[-./]\s?)"
_RUN_RE = re.compile(rf"[0-9]+(?:{_SEPARATOR}[0-9]+)*")
_GROUP_RE = re.compile(r"[0-9]+")
# Luhn terms of a digit in a doubled position (2d, minus 9 above 9).
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)

Span = Tuple[int, int]


def card_spans(text: str) -> Iterator[Span]:
    """The (start, end) of every card number in `text`, in text order."""
    for run in _RUN_RE.finditer(text):
        groups = [
            (run.start() + m.start(), run.start() + m.end())
            for m in _GROUP_RE.finditer(run.group())
        ]
        if sum(end - start for start, end in groups) >= CARD_MIN_DIGITS:
            yield from _spans_in_run(text, groups)


def _spans_in_run(text: str, groups: Sequence[Span]) -> Iterator[Span]:
    """The cards in one run of digit groups (see the module docstring)."""
    digits = "".join(text[start:end] for start, end in groups)
    # ends[i]: how many digits the groups before i and group i hold.
    ends = list(accumulate(end - start for start, end in groups))
    luhn = _LuhnSums(digits)
    uniform = _uniform_until(text, groups)
    by_length: Dict[int, List[Span]] = {}
    for first in range(len(groups)):
        before = ends[first - 1] if first else 0
        # The windows that start at `first`, hold 13-19 digits and have one
        # separator throughout.
        lowest = bisect_left(ends, before + CARD_MIN_DIGITS, first)
        highest = bisect_right(ends, before + CARD_MAX_DIGITS, lowest)
        highest = min(highest, uniform[first] + 1)
        for last in range(lowest, highest):
            if luhn.valid(before, ends[last]):
                by_length.setdefault(ends[last] - before, []).append((first, last))
    taken = [False] * len(groups)
    chosen: List[Span] = []
    for length in sorted(by_length, reverse=True):
        for first, last in by_length[length]:
            if any(taken[first : last + 1]):
                continue
            taken[first : last + 1] = [True] * (last + 1 - first)
            chosen.append((groups[first][0], groups[last][1]))
    return iter(sorted(chosen))


def _uniform_until(text: str, groups: Sequence[Span]) -> List[int]:
    """For each group, the last group reached with the same separator throughout."""
    separators = [text[groups[i][1] : groups[i + 1][0]] for i in range(len(groups) - 1)]
    until = list(range(len(groups)))
    for i in range(len(groups) - 2, -1, -1):
        same_next = i + 1 < len(separators) and separators[i + 1] == separators[i]
        until[i] = until[i + 1] if same_next else i + 1
    return until


class _LuhnSums:
    """Prefix sums that give the Luhn check of any stretch of digits in O(1).

    In a stretch ending at digit `e - 1`, the digits at an even distance from
    its end count as they are and the others doubled; which ones those are
    depends only on their index's parity relative to `e - 1`.
    """

    def __init__(self, digits: str) -> None:
        values = [ord(char) - 48 for char in digits]
        # plain[p][i]: the sum of digits[k] for k < i with k % 2 == p;
        # doubled[p][i]: the same of their doubled terms.
        self.plain = [self._prefix(values, parity, False) for parity in (0, 1)]
        self.doubled = [self._prefix(values, parity, True) for parity in (0, 1)]

    @staticmethod
    def _prefix(values: Sequence[int], parity: int, doubled: bool) -> List[int]:
        terms = (
            (_DOUBLED[value] if doubled else value) if index % 2 == parity else 0
            for index, value in enumerate(values)
        )
        return [0, *accumulate(terms)]

    def valid(self, start: int, end: int) -> bool:
        """Whether digits[start:end] pass the Luhn check."""
        kept = (end - 1) % 2
        total = (self.plain[kept][end] - self.plain[kept][start]) + (
            self.doubled[1 - kept][end] - self.doubled[1 - kept][start]
        )
        return total % 10 == 0
