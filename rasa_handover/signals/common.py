"""What every signal module shares: the Signal record, spans, phrase files.

Imports nothing else of the package but ``constants`` (whose apostrophe table
it re-exports), so that each detector module can be read (and tested) on its
own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Tuple

from rasa_handover.constants import APOSTROPHES

__all__ = [
    "APOSTROPHES",
    "DATA_DIR",
    "MESSAGE_EVIDENCE_MAX_CHARS",
    "Signal",
    "Span",
    "first_span",
    "message_span",
    "read_phrase_file",
    "with_apostrophe_variants",
]

# The phrase lists and the learned model live in the package's data folder so
# that they can be reviewed and extended without touching code.
DATA_DIR = Path(__file__).resolve().parent.parent / "data"


# The message excerpt reported as evidence by the signals that judge the whole
# message (sentiment, the learned tone): enough for an agent to see the tone
# without pasting a whole essay into the inbox.
MESSAGE_EVIDENCE_MAX_CHARS = 120

# (start, end) character offsets of a signal's evidence in the message.
Span = Tuple[int, int]


@dataclass(frozen=True)
class Signal:
    """One frustration signal and the part of the message that shows it.

    Attributes:
        name: One of ``constants.ALL_SIGNALS``.
        text: The matched text exactly as it appears in the message; it always
            equals ``message[start:end]``, so it can be shown to an agent as
            evidence or highlighted in the transcript.
        start: Offset of the first character of ``text`` in the message.
        end: Offset one past the last character of ``text``.
        score: The learned signal's probability (0-1) that the message reads
            angry, annoyed or disgusted; ``None`` for the rule signals.
        weight: How many signs of frustration this signal counts as: 2 for a
            learned probability at or above the model's strong threshold (it
            is enough on its own under the default 2-sign rule), else 1.

    """

    name: str
    text: str
    start: int
    end: int
    score: Optional[float] = None  # noqa: UP045 (dataclass field on Python 3.8)
    weight: int = 1


def first_span(spans: Iterable[Span]) -> Span | None:
    """Pick the earliest span, and of those starting there the longest."""
    return min(spans, key=lambda span: (span[0], -span[1]), default=None)


def message_span(text: str) -> Span:
    """The whole message as evidence: trimmed, at most MESSAGE_EVIDENCE_MAX_CHARS."""
    start = len(text) - len(text.lstrip())
    end = min(len(text.rstrip()), start + MESSAGE_EVIDENCE_MAX_CHARS)
    return start, end


def read_phrase_file(path: Path) -> Tuple[str, ...]:
    """Read one phrase a line, dropping comments and blank lines."""
    phrases: List[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        phrase = " ".join(line.split("#", 1)[0].split()).lower()
        if phrase:
            phrases.append(phrase)
    return tuple(dict.fromkeys(phrases))


def with_apostrophe_variants(phrases: Iterable[str]) -> Tuple[str, ...]:
    """Add each phrase without its apostrophes, as hurried users type it.

    spaCy splits "youre" and "dont" just like "you're" and "don't" ("you" "re",
    "do" "nt"), so the variant needs no special handling beyond tokenizing it.
    """
    variants: List[str] = []
    for phrase in phrases:
        variants.append(phrase)
        if "'" in phrase:
            variants.append(phrase.replace("'", ""))
    return tuple(dict.fromkeys(variants))
