"""The shouting signal: words in capitals, except what is written that way.

Acronyms ("PDF", "ASAP"), identifiers ("ORD-ABCD-1182") and names and
addresses typed as on a form ("my name is JOHN SMITH", "12 HIGH ST", a reply of
just "JOHN SMITH") are not a raised voice. Names and addresses are found by
token patterns, not lists of names: the capitalised words after an introducer
("my name is", "ship to", "Mr"), a house number followed by capitalised words
up to a street word ("12 HIGH ST"), and a whole message of a few capitalised
words with no function word and no "!"/"?" ("JOHN SMITH", but not "STOP IT").
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_right
from typing import TYPE_CHECKING, List, Set, Tuple

from rasa_handover.nlp import is_capitalised_word
from rasa_handover.signals.common import Span
from rasa_handover.signals.lexicons import (
    ADDRESS_MAX_WORDS,
    IDENTIFIER_CHARS,
    NAME_INTRODUCERS,
    NAME_MAX_WORDS,
    SHOUTING_ACRONYMS,
    SHOUTING_MIN_SHARE,
    SHOUTING_MIN_WORD_LENGTH,
    SHOUTING_MIN_WORDS,
    SHOUTING_WORDS_ALWAYS,
    STREET_WORDS,
)

if TYPE_CHECKING:  # pragma: no cover - imported lazily at run time
    from spacy.matcher import PhraseMatcher
    from spacy.tokens import Doc, Token

__all__ = ["names_and_addresses", "shouting_span"]

_CHUNK_RE = re.compile(r"\S+")
_CHUNK_EDGE_RE = re.compile(r"^[\W_]+|[\W_]+$")
_DIGIT_RE = re.compile(r"\d")
# What may stand between an introducer and the name: "card holder is", "name:".
_LINKS = frozenset({"is", "'s", "s", ":", "-", "=", "was", "are"})


@functools.lru_cache(maxsize=None)
def _introducers() -> PhraseMatcher:
    from spacy.matcher import PhraseMatcher

    from rasa_handover.nlp import blank_english

    nlp = blank_english()
    matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    matcher.add("introducer", [nlp.make_doc(phrase) for phrase in NAME_INTRODUCERS])
    return matcher


def _capitalised_run(doc: Doc, start: int, limit: int) -> List[int]:
    """Token indices of up to ``limit`` capitalised words from ``start``.

    Numbers, and commas, full stops and hyphens inside the run, are taken in.
    """
    run: List[int] = []
    words = 0
    for token in doc[start:]:
        if is_capitalised_word(token) or token.like_num or _DIGIT_RE.search(token.text):
            run.append(token.i)
            words += 1
            if words >= limit:
                break
        elif token.text in {",", ".", "-"} and run:
            run.append(token.i)
        else:
            break
    return run


def names_and_addresses(doc: Doc) -> Set[int]:
    """Token indices of names and addresses written in capitals."""
    found: Set[int] = set()
    for _key, start, end in _introducers()(doc):
        # "card holder is ...", "name: ..."
        while end < len(doc) and doc[end].lower_ in _LINKS:
            end += 1
        found.update(range(start, end))
        found.update(_capitalised_run(doc, end, ADDRESS_MAX_WORDS + NAME_MAX_WORDS))
    for token in doc:
        if not _DIGIT_RE.search(token.text):
            continue
        run = _capitalised_run(doc, token.i + 1, ADDRESS_MAX_WORDS + 1)
        street = [i for i in run if doc[i].lower_.rstrip(".") in STREET_WORDS]
        if street:
            found.update(i for i in run if i <= street[-1])
            # The town and postcode after the street: "12 HIGH ST, LONDON".
            found.update(_capitalised_run(doc, street[-1] + 1, NAME_MAX_WORDS))
    words = [t for t in doc if not (t.is_punct or t.is_space)]
    if (
        1 < len(words) <= NAME_MAX_WORDS
        and all(is_capitalised_word(t) for t in words)
        and not any(c in doc.text for c in "!?")
    ):
        found.update(t.i for t in words)
    return found


def _identifier_chunks(text: str) -> Tuple[List[int], List[bool]]:
    """Split ``text`` on whitespace; return chunk starts and identifier flags."""
    starts: List[int] = []
    flags: List[bool] = []
    for chunk in _CHUNK_RE.finditer(text):
        # Surrounding punctuation ("(ORD-1182)," or "WORKING!!") does not make a
        # chunk an identifier; a digit or an inner separator does.
        core = _CHUNK_EDGE_RE.sub("", chunk.group())
        starts.append(chunk.start())
        flags.append(
            bool(_DIGIT_RE.search(chunk.group()))
            or any(char in core for char in IDENTIFIER_CHARS)
        )
    return starts, flags


def shouting_span(doc: Doc) -> Span | None:
    """The shouted words of ``doc`` (see `detect_signals`), or None."""
    starts, is_identifier = _identifier_chunks(doc.text)
    written_as_on_a_form = names_and_addresses(doc)
    # Each word of the message: its token index, whether it is in capitals and
    # whether it is an acronym.
    words: List[Tuple[int, bool, bool]] = []
    for token in doc:
        # spaCy keeps upper-case contractions whole ("DON'T", "I'M"), so the
        # apostrophe is ignored when deciding whether a token is a word.
        word = token.text.replace("'", "")
        if not word.isalpha() or len(word) < SHOUTING_MIN_WORD_LENGTH:
            continue
        chunk = bisect_right(starts, token.idx) - 1
        if (chunk >= 0 and is_identifier[chunk]) or token.i in written_as_on_a_form:
            continue
        words.append((token.i, word.isupper(), word in SHOUTING_ACRONYMS))
    # Several acronyms are also words ("IT", "US", "AM"): alone they are not a
    # shout ("send the PDF ASAP"), but inside one they are ("I AM ANGRY",
    # "HELP US"). So a run of consecutive capitalised words counts as shouted
    # when at least one of its words is not an acronym.
    shouted: List[int] = []
    run: List[int] = []
    run_has_shout = False
    for token_i, upper, acronym in [*words, (-1, False, False)]:
        if upper:
            run.append(token_i)
            run_has_shout = run_has_shout or not acronym
            continue
        if run_has_shout:
            shouted.extend(run)
        run, run_has_shout = [], False
    count = len(shouted)
    fires = count >= SHOUTING_WORDS_ALWAYS or (
        count >= SHOUTING_MIN_WORDS and count >= SHOUTING_MIN_SHARE * len(words)
    )
    if not fires:
        return None
    first, last = shouted[0], shouted[-1]
    # "I SAID ..." reads as one shout: take in capital single letters that
    # touch the shouted words so the evidence is not cut mid-phrase.
    while first > 0 and _is_capital_letter(doc[first - 1]):
        first -= 1
    while last + 1 < len(doc) and _is_capital_letter(doc[last + 1]):
        last += 1
    return doc[first].idx, doc[last].idx + len(doc[last].text)


def _is_capital_letter(token: Token) -> bool:
    return bool(token.is_alpha and len(token.text) == 1 and token.text.isupper())
