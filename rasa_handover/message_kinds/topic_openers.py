"""Topic openers: the customer names what it is about and asks nothing yet.

`names_topic_only(text)`: "it's about my login", "quick question about
billing", "hi, regarding order 1182", "re: the upgrade". Chat customers often
open this way and ask the real question in their next message. NLU reads both
messages as one intent, and the bot may even answer the opener, but the
customer has asked once, not twice: the opener is no ask of the repeat loop.

The rule (pure, over spaCy tokens like the other kinds):

1. after any leading acknowledgement or greeting ("hi", "ok so"),
2. the turn opens with a topic introducer (`TOPIC_INTRODUCERS`: "about",
   "regarding", "re", "concerning", "it's about", "this is regarding", "quick
   question about", "to do with", "following up on" ...),
3. and the rest is a short topic (at most `TOPIC_MAX_WORDS` words, one clause:
   no question mark or second sentence) that asks, wants, denies or
   complains of nothing: no question word, request word, negation, word of
   something still failing, nor a word VADER reads as negative.

Not openers: "about my refund, when will it arrive?" (a question), "regarding
the app, it still crashes" (a problem), "it's about time you fixed this" and
"I'm about to cancel" ("about" as no introducer), "what about premium?" (a
follow-up, `is_follow_up`).
"""

import re
from functools import lru_cache
from typing import FrozenSet, List, Optional, Tuple

from rasa_handover.message_kinds.content_free import (
    CONTENT_FREE_ANCHORS,
    _words,
    is_content_free,
)
from rasa_handover.message_kinds.remarks import REQUEST_WORDS, _words_of
from rasa_handover.message_kinds.withdrawals import (
    NEGATIONS,
    QUESTION_WORDS,
    STILL_FAILING,
)
from rasa_handover.signals.sentiment import vader_lexicon

# The longest topic after the introducer ("the invoice for my May order").
TOPIC_MAX_WORDS = 6
# Fillers that may come before the introducer besides acknowledgements.
_FILLERS = _words("so um umm erm uh well right just")
# Introducers, as the customer writes them; matched word by word after the
# same tokenising as the turn (so "it's" and "its" both work).
_INTRODUCER_PHRASES = (
    "about",
    "regarding",
    "re",
    "concerning",
    "wrt",
    "in regards to",
    "in regard to",
    "with regards to",
    "with regard to",
    "it's about",
    "its about",
    "it is about",
    "this is about",
    "it's regarding",
    "its regarding",
    "this is regarding",
    "it's re",
    "it's to do with",
    "its to do with",
    "to do with",
    "something to do with",
    "it's related to",
    "related to",
    "question about",
    "quick question about",
    "a question about",
    "a quick question about",
    "question regarding",
    "quick question regarding",
    "i have a question about",
    "i have a quick question about",
    "i've got a question about",
    "got a question about",
    "query about",
    "query regarding",
    "enquiry about",
    "inquiry about",
    "writing about",
    "i'm writing about",
    "i am writing about",
    "i'm writing regarding",
    "messaging about",
    "i'm messaging about",
    "contacting you about",
    "i'm contacting you about",
    "following up on",
    "following up about",
    "just following up on",
)
# Words after "about" that make it no introducer: "about time", "about to".
_NOT_A_TOPIC = _words("time to")
_BREAK = re.compile(r"[?!;]|[.,]\s+\S|\s[-\u2013]\s")
# "re-install the app" is no "re: the app" (the tokenizer splits both alike).
_RE_PREFIX = re.compile(r"(?i)\bre-\w")


@lru_cache(maxsize=1)
def topic_introducers() -> Tuple[Tuple[str, ...], ...]:
    """The introducers as word sequences, longest first."""
    phrases = {tuple(_words_of(phrase)) for phrase in _INTRODUCER_PHRASES}
    return tuple(sorted(phrases, key=len, reverse=True))


@lru_cache(maxsize=1)
def _negative_words() -> FrozenSet[str]:
    return frozenset(word for word, valence in vader_lexicon().items() if valence < 0)


def _is_filler(word: str) -> bool:
    """An acknowledgement, greeting or filler that may open the turn ("ok so")."""
    return word in CONTENT_FREE_ANCHORS or word in _FILLERS


def _after_introducer(words: List[str]) -> List[str]:
    """The words after a leading introducer, or [] when there is none."""
    start = 0
    while start < len(words) and _is_filler(words[start]):
        start += 1
    rest = words[start:]
    for phrase in topic_introducers():
        if tuple(rest[: len(phrase)]) == phrase:
            return rest[len(phrase) :]
    return []


def _is_plain_topic(topic: List[str]) -> bool:
    return (
        0 < len(topic) <= TOPIC_MAX_WORDS
        and topic[0] not in _NOT_A_TOPIC
        and not any(
            word in QUESTION_WORDS
            or word in REQUEST_WORDS
            or word in NEGATIONS
            or word in STILL_FAILING
            or word in _negative_words()
            for word in topic
        )
    )


def _after_opening(text: str) -> Optional[str]:
    """The turn after a greeting or acknowledgement, if the rest is one clause.

    "hi there! about my bill" gives "about my bill"; "about my bill, it's
    wrong" and anything with a question mark give None.
    """
    stripped = text.strip().rstrip(".!")
    breaks = list(_BREAK.finditer(stripped))
    if not breaks:
        return stripped
    opening, rest = stripped[: breaks[-1].start()], stripped[breaks[-1].start() :]
    if "?" in rest:
        return None
    if is_content_free(opening) or all(map(_is_filler, _words_of(opening))):
        return rest
    return None


@lru_cache(maxsize=4096)
def names_topic_only(text: str) -> bool:
    """Whether `text` only names the topic ("it's about my login") and asks nothing."""
    rest = _after_opening(text or "")
    if rest is None or _RE_PREFIX.search(rest):
        return False
    return _is_plain_topic(_after_introducer(_words_of(rest)))
