"""The rule signals: spaCy tokens, Matcher patterns, lexicons.

Profanity, exasperation (phrases here, sarcasm and bitter thanks in
``sarcasm``), repeated negation and punctuation bursts; shouting is in
``shouting``. spaCy is used as a tokenizer only
(``spacy.blank("en")``); the profanity vocabulary is the word list shipped inside
the ``better_profanity`` wheel. Building the tokenizer and matchers takes about a
second, so it happens lazily on the first call and only once.

Each detector returns the (start, end) offsets of its evidence, or None.
Token-based ones read the spaCy Doc of the apostrophe-normalised message, whose
offsets are the original message's because the normalisation replaces
character for character.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Collection, Dict, Iterable, List, Tuple

from rasa_handover.constants import (
    SIGNAL_COMPLAINT,
    SIGNAL_EXASPERATION,
    SIGNAL_PROFANITY,
    SIGNAL_PUNCTUATION_BURST,
    SIGNAL_REPEATED_NEGATION,
    SIGNAL_SHOUTING,
)
from rasa_handover.signals.common import (
    APOSTROPHES,
    Span,
    first_span,
    read_phrase_file,
    with_apostrophe_variants,
)
from rasa_handover.signals.complaint import complaint_matches
from rasa_handover.signals.lexicons import (
    CORRECTION_PHRASES_FILE,
    EXASPERATION_PHRASES_FILE,
    EXTRA_PROFANITY,
    LEADING_NEGATION_WINDOW,
    LEADING_NEGATION_WORDS,
    NEGATION_COURTESY_WORDS,
    PROFANITY_EXCLUSIONS,
    PUNCTUATION_BURST_MIN_LENGTH,
    REPEATED_NEGATION_MIN_COUNT,
)
from rasa_handover.signals.sarcasm import sarcasm_spans
from rasa_handover.signals.shouting import shouting_span

if TYPE_CHECKING:  # pragma: no cover - imported lazily at run time
    from spacy.language import Language
    from spacy.matcher import Matcher, PhraseMatcher
    from spacy.tokens import Doc, Token


_PROFANITY_WORDLIST_NAME = "profanity_wordlist.txt"
_STAR = "*"
_NEGATION_RE = re.compile(r"^(?:no+|no+pe+|na+h+)$")
_PUNCTUATION_RUN_RE = re.compile(r"[!?\uff01\uff1f\u203d\u2048\u2049]+")
_QUESTION_MARKS = frozenset("?\uff1f")
_EXCLAMATION_MARKS = frozenset("!\uff01")
# "‽", "⁈" and "⁉" are an interrobang on their own.
_INTERROBANGS = frozenset("\u203d\u2048\u2049")
# A censored swear word: a letter, then letters and at least one star. spaCy
# splits trailing stars off ("f***" -> "f", "*", "*", "*"), so a second rule
# glues a word to the stars that follow it.
_STARRED_TOKEN_PATTERN = r"^[^\W\d_](?:[^\W\d_]|\*)*\*(?:[^\W\d_]|\*)*$"
_STARRED_HEAD_PATTERN = r"^[^\W\d_]+$"
_STARRED_INNER = "starred_inner"
_STARRED_TRAILING = "starred_trailing"


@dataclass(frozen=True)
class _Engine:
    """The tokenizer and matchers, built once (see `_engine`)."""

    nlp: Language
    profanity: PhraseMatcher
    starred: Matcher
    # Profane single words by length, for checking a censored word letter by
    # letter ("f*ck" -> "fuck").
    profane_words_by_length: Dict[int, Tuple[str, ...]]
    exasperation: PhraseMatcher
    corrections: PhraseMatcher


def _profanity_wordlist() -> Tuple[str, ...]:
    """Return better_profanity's word list, less the support-chat exclusions.

    The file is read straight from the installed wheel. Importing
    ``better_profanity`` itself is avoided: its ``__init__`` builds every
    leetspeak variant of every word, which is slow and which this module does
    not want (it matches whole tokens only).
    """
    spec = importlib.util.find_spec("better_profanity")
    if spec is None or spec.origin is None:
        raise ImportError(
            "better_profanity is not installed; it provides the profanity word "
            "list (pip install 'better-profanity>=0.7,<0.8')."
        )
    wordlist = Path(spec.origin).parent / _PROFANITY_WORDLIST_NAME
    words = read_phrase_file(wordlist) + EXTRA_PROFANITY
    return tuple(word for word in words if word not in PROFANITY_EXCLUSIONS)


def _phrase_matcher(nlp: Language, key: str, phrases: Iterable[str]) -> PhraseMatcher:
    """Build a case-insensitive whole-token matcher for ``phrases``."""
    from spacy.matcher import PhraseMatcher

    matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    # The patterns go through the same tokenizer as the messages, so "you're"
    # becomes "you" "'re" on both sides.
    matcher.add(key, [nlp.make_doc(phrase) for phrase in phrases])
    return matcher


@functools.lru_cache(maxsize=None)
def _engine() -> _Engine:
    """Build the tokenizer and all matchers, once per process.

    Two threads racing on the first call may each build an engine; that wastes a
    second but is otherwise harmless, because the engine is read-only.
    """
    from spacy.matcher import Matcher

    from rasa_handover.nlp import blank_english

    nlp = blank_english()
    profane = _profanity_wordlist()
    starred = Matcher(nlp.vocab)
    starred.add(_STARRED_INNER, [[{"TEXT": {"REGEX": _STARRED_TOKEN_PATTERN}}]])
    starred.add(
        _STARRED_TRAILING,
        [[{"TEXT": {"REGEX": _STARRED_HEAD_PATTERN}}, {"ORTH": _STAR, "OP": "+"}]],
        greedy="LONGEST",
    )
    by_length: Dict[int, List[str]] = {}
    for word in profane:
        if word.isalpha():
            by_length.setdefault(len(word), []).append(word)
    return _Engine(
        nlp=nlp,
        profanity=_phrase_matcher(nlp, SIGNAL_PROFANITY, profane),
        starred=starred,
        profane_words_by_length={n: tuple(ws) for n, ws in by_length.items()},
        exasperation=_phrase_matcher(
            nlp,
            SIGNAL_EXASPERATION,
            with_apostrophe_variants(read_phrase_file(EXASPERATION_PHRASES_FILE)),
        ),
        corrections=_phrase_matcher(
            nlp,
            SIGNAL_REPEATED_NEGATION,
            with_apostrophe_variants(read_phrase_file(CORRECTION_PHRASES_FILE)),
        ),
    )


def _uncensors_to_profanity(engine: _Engine, censored: str) -> bool:
    """Check whether a starred word is a censored swear word.

    Each star stands for exactly one letter ("f*ck", "sh*t", "f***ing"), so "A*"
    (an exam grade) or "5*" (a rating) never match.
    """
    lowered = censored.lower()
    for word in engine.profane_words_by_length.get(len(lowered), ()):
        if all(c in (_STAR, w) for c, w in zip(lowered, word)):
            return True
    return False


def _profanity(engine: _Engine, doc: Doc) -> Span | None:
    spans: List[Span] = [
        (doc[start].idx, doc[end - 1].idx + len(doc[end - 1].text))
        for _key, start, end in engine.profanity(doc)
    ]
    for _key, start, end in engine.starred(doc):
        span = doc[start:end]
        # The trailing-star rule must not glue "f" to stars across a space.
        if any(token.whitespace_ for token in span[:-1]):
            continue
        if _uncensors_to_profanity(engine, span.text):
            spans.append((span.start_char, span.end_char))
    return first_span(spans)


def _exasperation(engine: _Engine, doc: Doc) -> Span | None:
    phrases = [
        (doc[start].idx, doc[end - 1].idx + len(doc[end - 1].text))
        for _key, start, end in engine.exasperation(doc)
    ]
    return first_span([*phrases, *sarcasm_spans(doc)])


def _complaint(doc: Doc, exasperation: Span | None) -> Span | None:
    """The first complaint whose words are not already exasperation's evidence.

    "nothing works" is both; it is one sign of frustration, not two.
    """
    return first_span(
        span
        for _family, span in complaint_matches(doc)
        if exasperation is None
        or span[1] <= exasperation[0]
        or span[0] >= exasperation[1]
    )


def _is_negation(token: Token) -> bool:
    return bool(_NEGATION_RE.match(token.lower_))


def _repeated_negation(engine: _Engine, doc: Doc) -> Span | None:
    words = [token for token in doc if not (token.is_punct or token.is_space)]
    # A "no" that introduces a courtesy ("no problem", "no thanks") or a plain
    # answer ("no idea") is not a refusal.
    negations = [
        position
        for position, token in enumerate(words)
        if _is_negation(token)
        and not (
            position + 1 < len(words)
            and words[position + 1].lower_ in NEGATION_COURTESY_WORDS
        )
    ]
    candidates: List[Span] = []

    # Rule 1: "no" said twice with emphasis. A "no" is emphatic when it stands
    # next to another "no" ("no no I meant...") or closes a clause ("No! I
    # said no!"); a determiner ("no charge on my card") is neither.
    negation_set = set(negations)
    emphatic = [
        words[position]
        for position in negations
        if position - 1 in negation_set
        or position + 1 in negation_set
        or _closes_clause(doc, words[position])
    ]
    if len(emphatic) >= REPEATED_NEGATION_MIN_COUNT:
        candidates.append((emphatic[0].idx, emphatic[-1].idx + len(emphatic[-1].text)))

    # Rule 2: an opening "no"/"wrong" followed by a correction ("Nope, that's
    # not what I asked").
    leading = [
        token
        for position, token in enumerate(words[:LEADING_NEGATION_WINDOW])
        if position in negation_set
        or (token.lower_ in LEADING_NEGATION_WORDS and not _is_negation(token))
    ]
    if leading:
        opener = leading[0]
        corrections = [
            (doc[start].idx, doc[end - 1].idx + len(doc[end - 1].text))
            for _key, start, end in engine.corrections(doc)
            if start > opener.i
        ]
        correction = first_span(corrections)
        if correction is not None:
            candidates.append((opener.idx, correction[1]))
    return first_span(candidates)


def _closes_clause(doc: Doc, token: Token) -> bool:
    """Tell whether ``token`` is followed by punctuation or the end of text."""
    following = token.i + 1
    return following >= len(doc) or bool(doc[following].is_punct)


def _punctuation_burst(text: str) -> Span | None:
    for run in _PUNCTUATION_RUN_RE.finditer(text):
        marks = set(run.group())
        mixed = bool(marks & _QUESTION_MARKS) and bool(marks & _EXCLAMATION_MARKS)
        if (
            len(run.group()) >= PUNCTUATION_BURST_MIN_LENGTH
            or mixed
            or marks & _INTERROBANGS
        ):
            return run.start(), run.end()
    return None


# The signals that need the tokenizer; the others run on the raw text.
_TOKEN_SIGNALS = frozenset(
    {
        SIGNAL_SHOUTING,
        SIGNAL_PROFANITY,
        SIGNAL_EXASPERATION,
        SIGNAL_COMPLAINT,
        SIGNAL_REPEATED_NEGATION,
    }
)


def rule_spans(text: str, enabled: Collection[str]) -> Dict[str, Span | None]:
    """Run the enabled rule detectors on one message.

    Returns:
        For each enabled rule signal, its evidence span or None.

    """
    spans: Dict[str, Span | None] = {}
    if _TOKEN_SIGNALS.intersection(enabled):
        engine = _engine()
        doc = engine.nlp.make_doc(text.translate(APOSTROPHES))
        if SIGNAL_SHOUTING in enabled:
            spans[SIGNAL_SHOUTING] = shouting_span(doc)
        if SIGNAL_PROFANITY in enabled:
            spans[SIGNAL_PROFANITY] = _profanity(engine, doc)
        if SIGNAL_EXASPERATION in enabled:
            spans[SIGNAL_EXASPERATION] = _exasperation(engine, doc)
        if SIGNAL_REPEATED_NEGATION in enabled:
            spans[SIGNAL_REPEATED_NEGATION] = _repeated_negation(engine, doc)
        # Last: it rewrites the tokens' NORM (chat spelling), which the
        # detectors above do not read but should not see changing under them.
        if SIGNAL_COMPLAINT in enabled:
            spans[SIGNAL_COMPLAINT] = _complaint(doc, spans.get(SIGNAL_EXASPERATION))
    if SIGNAL_PUNCTUATION_BURST in enabled:
        spans[SIGNAL_PUNCTUATION_BURST] = _punctuation_burst(text)
    return spans
