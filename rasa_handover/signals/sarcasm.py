"""Sarcasm and bitter thanks: praise and thanks that mean the opposite.

Part of the ``exasperation`` signal. Three token patterns (spaCy ``Matcher``
over lower-cased tokens; the word sets live in ``lexicons``), none of them a
list of whole sentences:

- an echo of praise: a praise word, punctuation, an intensifier and a praise
  word again ("wonderful. just wonderful.", "great, simply great");
- a praise opener let down in the same sentence: a praise word opening the
  message or a sentence (after at most "oh", "yeah", ...), punctuation, then a
  word saying it happened before (another, again, still, ...) and a word saying
  it went wrong (useless, crashed, not, ...): "great, another useless answer",
  "oh perfect, it crashed again";
- bitter thanks: a thanks word, "for", then within a few filler words one of
  nothing / wasting / useless ...: "thanks for nothing", "thank you so much for
  wasting my time";
- thanks for advice already followed: a thanks or praise word, then later in
  the message "I('ve) done / tried / did that" or "already tried it", and no
  word of it working after all: "yeah thanks, I've done that a hundred times",
  "cheers, already tried that";
- mock surprise: "because I haven't / didn't / never" + a verb of trying
  ("done", "tried", "checked", "restarted" ...), not followed by "yet" or
  "until": "oh sure, check my plan, because I haven't done that".

Sincere praise and thanks ("great, that worked", "perfect, thanks", "thanks
for fixing the error", "thanks, did that and it works now") match none of
them.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Iterator, List

from rasa_handover.signals.common import Span
from rasa_handover.signals.lexicons import (
    ALREADY_FOLLOWED_BEFORE,
    ALREADY_FOLLOWED_LEADS,
    ALREADY_FOLLOWED_OBJECTS,
    ALREADY_FOLLOWED_SUCCESS,
    ALREADY_FOLLOWED_VERBS,
    BITTER_THANKS_FILLERS,
    BITTER_THANKS_OBJECTS,
    BITTER_THANKS_SKIP,
    LETDOWN_CUES,
    LETDOWN_WORDS,
    MOCK_SURPRISE_SINCERE,
    MOCK_SURPRISE_VERBS,
    NEGATION_COURTESY_WORDS,
    PRAISE_ECHO_WORDS,
    PRAISE_OPENER_WINDOW,
    PRAISE_OPENERS,
    PRAISE_WORDS,
    THANKS_WORDS,
)

if TYPE_CHECKING:  # pragma: no cover - imported lazily at run time
    from spacy.matcher import Matcher
    from spacy.tokens import Doc, Token

__all__ = ["sarcasm_spans"]

_ECHO = "praise_echo"
_OPENER = "praise_opener"
_THANKS = "bitter_thanks"
_FOLLOWED = "already_followed"
_MOCK_SURPRISE = "mock_surprise"
_SENTENCE_ENDS = frozenset({".", "!", "?", "...", "..", ";", "\n"})


@functools.lru_cache(maxsize=None)
def _matcher() -> Matcher:
    from spacy.matcher import Matcher

    from rasa_handover.nlp import blank_english

    praise = {"LOWER": {"IN": sorted(PRAISE_WORDS)}}
    punct = {"IS_PUNCT": True, "OP": "+"}
    matcher = Matcher(blank_english().vocab)
    matcher.add(
        _ECHO, [[praise, punct, {"LOWER": {"IN": sorted(PRAISE_ECHO_WORDS)}}, praise]]
    )
    matcher.add(_OPENER, [[praise, punct]])
    matcher.add(
        _THANKS,
        [
            [
                {"LOWER": {"IN": sorted(THANKS_WORDS)}},
                {"IS_ALPHA": True, "OP": "{0,3}"},
                {"LOWER": "for"},
            ]
        ],
    )
    matcher.add(
        _FOLLOWED,
        [
            [
                {"LOWER": {"IN": sorted(ALREADY_FOLLOWED_LEADS)}},
                {"LOWER": {"IN": sorted(ALREADY_FOLLOWED_LEADS)}, "OP": "{0,2}"},
                {"LOWER": {"IN": sorted(ALREADY_FOLLOWED_VERBS)}},
                {"LOWER": {"IN": sorted(ALREADY_FOLLOWED_OBJECTS)}},
            ]
        ],
    )
    matcher.add(
        _MOCK_SURPRISE,
        [
            [
                {"LOWER": "because"},
                {"LOWER": {"IN": ["i", "we"]}},
                {"NORM": {"IN": ["have", "do", "had"]}, "OP": "?"},
                {"NORM": {"IN": ["not", "never"]}},
                {"LOWER": "already", "OP": "?"},
                {"LOWER": {"IN": sorted(MOCK_SURPRISE_VERBS)}},
            ]
        ],
    )
    return matcher


def sarcasm_spans(doc: Doc) -> Iterator[Span]:
    """The spans of sarcastic praise and bitter thanks in ``doc``."""
    seen_opener = set()
    for key, start, end in _matcher()(doc):
        name = doc.vocab.strings[key]
        if name == _ECHO:
            yield doc[start].idx, _end(doc[end - 1])
        elif name == _OPENER and start not in seen_opener:
            seen_opener.add(start)
            letdown = _letdown_after(doc, start, end)
            if letdown is not None:
                yield doc[start].idx, _end(letdown)
        elif name == _THANKS:
            bitter = _bitter_object(doc, end)
            if bitter is not None:
                yield doc[start].idx, _end(bitter)
        elif _already_tried(name, doc, start, end):
            yield doc[start].idx, _end(doc[end - 1])


def _end(token: Token) -> int:
    return token.idx + len(token.text)


def _opens_sentence(doc: Doc, start: int) -> bool:
    """A praise word at ``start`` opens the message or a sentence."""
    words = 0
    for position in range(start - 1, -1, -1):
        token = doc[position]
        if token.text in _SENTENCE_ENDS or token.is_space:
            return True
        if token.is_punct:
            continue
        if token.lower_ not in PRAISE_OPENERS:
            return False
        words += 1
        if words >= PRAISE_OPENER_WINDOW:
            return False
    return True


def _letdown_after(doc: Doc, start: int, end: int) -> Token | None:
    """The last word of a "this went wrong again" that follows a praise opener."""
    if not _opens_sentence(doc, start):
        return None
    cue = failure = None
    sentence: List[Token] = []
    for token in doc[end:]:
        if token.text in _SENTENCE_ENDS:
            break
        sentence.append(token)
    for position, token in enumerate(sentence):
        word = token.lower_
        nxt = sentence[position + 1].lower_ if position + 1 < len(sentence) else ""
        if word in LETDOWN_CUES:
            cue = cue or token
        if word in LETDOWN_WORDS and nxt not in NEGATION_COURTESY_WORDS:
            failure = failure or token
    if cue is None or failure is None:
        return None
    return cue if cue.i > failure.i else failure


def _already_tried(name: str, doc: Doc, start: int, end: int) -> bool:
    """Whether a match says, with thanks or mock surprise, it was tried before."""
    if name == _FOLLOWED:
        return _followed_before_now(doc, start, end)
    if name == _MOCK_SURPRISE:
        return not any(token.lower_ in MOCK_SURPRISE_SINCERE for token in doc[end:])
    return False


def _followed_before_now(doc: Doc, start: int, end: int) -> bool:
    """Whether the "I've done that" at ``start:end`` thanks for followed advice.

    A thanks or praise word comes before it, it says the advice was followed
    before now (`ALREADY_FOLLOWED_BEFORE` in it or within four words after),
    and nothing after it says it worked.
    """
    words = [token.lower_ for token in doc]
    return (
        any(w in THANKS_WORDS or w in PRAISE_WORDS for w in words[:start])
        and any(w in ALREADY_FOLLOWED_BEFORE for w in words[start : end + 4])
        and not any(w in ALREADY_FOLLOWED_SUCCESS for w in words[end:])
    )


def _bitter_object(doc: Doc, end: int) -> Token | None:
    """After "thanks ... for": the bitter object within a few filler words."""
    for token in doc[end : end + BITTER_THANKS_SKIP + 1]:
        word = token.lower_
        if word in BITTER_THANKS_OBJECTS:
            return token
        if word not in BITTER_THANKS_FILLERS:
            return None
    return None
