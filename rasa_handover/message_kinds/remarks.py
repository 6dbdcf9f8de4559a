"""Remarks: the customer acknowledges and says what they will do.

`is_remark(text)`: "ahh ok, will try that", "thanks, standard it is",
"got the link, cheers mate", "hmm ok, I'll check my card", "Got it, thanks.
That's everything." The customer is done with the bot's last answer. Such a
turn is often far from every training example, so NLU reads it with low
confidence, but there is no request in it that the bot could get wrong:
asking "did you mean ...?" or handing it to a person wastes everyone's time.

The rule (pure, over spaCy tokens like the other kinds):

1. a content-free turn, a report of success ("reinstalling did the trick") or
   a never-mind closes it (`withdrawal_kind`), unless it also asks something
   new: a question, a request or question word, or after a never-mind a
   problem ("forget it, I want a refund"); a request taken back ("I don't
   need the reservation anymore") is not a remark: as a first turn it is often
   a request to cancel something;
2. otherwise the turn must have no question mark and be split, by punctuation
   or after a leading acknowledgement ("ok upgrading now"), into parts of which
   at least one is an acknowledgement (content-free, and not only a greeting:
   "hi, my downloads vanished" opens a request) and every other part is short
   (`REMARK_MAX_WORDS`), says nothing that is still wrong or still wanted (no
   negation, no "but / still / again", no question or request word, no word
   of a problem or of strong negative feeling) and at least one of them says
   what the customer does next or has chosen (`SETTLING_WORDS`: "will",
   "I'll", "now", "got", "it is", "try", "check" ...), or an acknowledgement
   says it is settled ("all good", "all set");
3. and the whole turn is not clearly negative (VADER compound at least
   `REMARK_MIN_SENTIMENT`): "great, another useless answer" is sarcasm, not a
   goodbye.

A remark never hides a request: "ok but it still doesn't work", "thanks,
I need a refund too", "ok my card was charged twice" and "ok, and how do I
cancel?" are not remarks; neither is "ok the video is blurry" (nothing settled).
"""

import re
from functools import lru_cache
from typing import List

from rasa_handover.message_kinds.content_free import (
    CONTENT_FREE_ANCHORS,
    _without_phrases,
    _word,
    _words,
    is_content_free,
)
from rasa_handover.message_kinds.withdrawals import (
    NEGATIONS,
    QUESTION_WORDS,
    STILL_FAILING,
    SUCCESS_WORDS,
    WITHDRAWAL_NEVER_MIND,
    WITHDRAWAL_SUCCESS,
    withdrawal_kind,
    words_besides_never_mind,
)
from rasa_handover.nlp import blank_english
from rasa_handover.signals.sentiment import sentiment_score, vader_lexicon

# The longest part, besides the acknowledgement, of a remark.
REMARK_MAX_WORDS = 6
# A remark is not clearly negative (VADER compound).
REMARK_MIN_SENTIMENT = -0.3
# Words that ask for something: a part with one of them is a request.
REQUEST_WORDS = _words(
    "help please pls plz need want wanna can could would should may might "
    "tell show explain let talk speak chat call contact connect transfer"
)
# Request words that are only courtesy after a never-mind ("cancel my request
# please").
COURTESY_WORDS = _words("please pls plz")
# Greetings open a conversation; they are not an acknowledgement of an answer.
GREETINGS = _words(
    "hi hello hey heya hiya yo howdy greetings morning afternoon evening hallo "
    "hola servus moin bonjour salut"
)
# Words that say what the customer does next or has chosen.
SETTLING_WORDS = (
    _words(
        "will 'll gonna going now got try trying check checking think take taking "
        "go with everything later tomorrow do doing"
    )
    | SUCCESS_WORDS
)
# "standard it is": a choice.
_CHOICE = ("it", "is")
# Acknowledgements that say the matter is settled: "ah, it was the volume. all good".
SETTLED_PHRASES = ("all good", "all set", "all sorted", "all done", "that's all")
# A word at or below this VADER valence is strong negative feeling ("useless").
STRONG_NEGATIVE_VALENCE = -1.5
# Words of something wrong: a part with one of them reports a problem.
PROBLEM_WORDS = _words(
    "problem issue error wrong charged charge billed twice double missing lost "
    "stuck declined locked hacked refund cancel cancelled canceled broken bug "
    "slow hold suspended blocked expired overcharged lag lagging buffering "
    "again anymore"
)
# Words that keep a part open: "but", "still", "just", negations (above).
OPEN_WORDS = STILL_FAILING | NEGATIONS | QUESTION_WORDS | REQUEST_WORDS | PROBLEM_WORDS
_PART_BREAK = re.compile(r"[,.;:!\n\u2013\u2014]+|\s-\s")
_NEGATION_SUFFIX = ("n't", "nt")


def _words_of(part: str) -> List[str]:
    words = []
    for token in blank_english()(part.lower()):
        if token.is_space or token.is_punct:
            continue
        words.append(_word(token.norm_))
    return words


def _parts(text: str) -> List[List[str]]:
    """The turn split at punctuation; a leading acknowledgement is its own part."""
    parts: List[List[str]] = []
    for piece in _PART_BREAK.split(text):
        words = _words_of(piece)
        if not words:
            continue
        lead = 0
        while lead < len(words) and words[lead] in CONTENT_FREE_ANCHORS:
            lead += 1
        if 0 < lead < len(words):
            parts.extend([words[:lead], words[lead:]])
        else:
            parts.append(words)
    return parts


def _is_settled(words: List[str]) -> bool:
    """A short part with nothing still wrong or wanted in it."""
    words, _ = _without_phrases(words)
    if len(words) > REMARK_MAX_WORDS:
        return False
    lexicon = vader_lexicon()
    return not any(
        w in OPEN_WORDS
        or w.endswith(_NEGATION_SUFFIX)
        or lexicon.get(w, 0.0) <= STRONG_NEGATIVE_VALENCE
        for w in words
    )


def _settles(words: List[str]) -> bool:
    pairs = list(zip(words, words[1:]))
    return any(w in SETTLING_WORDS for w in words) or _CHOICE in pairs


def _acknowledges(words: List[str]) -> bool:
    return is_content_free(" ".join(words)) and not all(w in GREETINGS for w in words)


def _asks_more(text: str, kind: str) -> bool:
    """Whether a withdrawal also asks something new ("forget it, I want a refund").

    A question, a request word or a question word outside the never-mind
    phrase; after a never-mind, a problem too ("never mind that, my card was
    charged twice"). A success report may name what was fixed.
    """
    if "?" in text:
        return True
    asking = (REQUEST_WORDS - COURTESY_WORDS) | QUESTION_WORDS
    if kind == WITHDRAWAL_NEVER_MIND:
        asking = asking | PROBLEM_WORDS
    return any(_word(w) in asking for w in words_besides_never_mind(text))


@lru_cache(maxsize=4096)
def ends_request(text: str) -> bool:
    """Whether `text` ends the customer's request and asks nothing new.

    A request taken back ("actually I don't want the updates"), or a success
    report or never-mind that asks nothing more: "forget it, I want a refund"
    says never mind to one thing and asks for another.
    """
    kind = withdrawal_kind(text)
    if kind in (WITHDRAWAL_SUCCESS, WITHDRAWAL_NEVER_MIND):
        return not _asks_more(text, kind)
    return kind is not None


@lru_cache(maxsize=4096)
def is_remark(text: str) -> bool:
    """Whether `text` closes the customer's request (see the module docstring)."""
    if not text or not text.strip():
        return False
    if is_content_free(text):
        return True
    if withdrawal_kind(text) in (WITHDRAWAL_SUCCESS, WITHDRAWAL_NEVER_MIND):
        return ends_request(text)
    if "?" in text:
        return False
    parts = _parts(text)
    acknowledgements = [part for part in parts if _acknowledges(part)]
    if not acknowledgements or len(acknowledgements) == len(parts):
        return False
    others = [part for part in parts if not _acknowledges(part)]
    if not all(_is_settled(part) for part in others):
        return False
    lowered = text.lower()
    if not any(_settles(part) for part in others) and not any(
        phrase in lowered for phrase in SETTLED_PHRASES
    ):
        return False
    return sentiment_score(text) >= REMARK_MIN_SENTIMENT


# --- follow-up questions ----------------------------------------------------
# Words that open a new question about the same topic: "and can I also use
# google pay later?", "ok, and I keep access until the end of the month?".
FOLLOW_UP_OPENERS = _words("and also plus btw")
FOLLOW_UP_PHRASES = (
    "what about",
    "how about",
    "one more",
    "another question",
    "by the way",
)
FOLLOW_UP_WORDS = _words("also too")


@lru_cache(maxsize=4096)
def is_follow_up(text: str) -> bool:
    """Whether `text` asks a further question rather than the same one again.

    It opens, after any acknowledgement, with "and", "also", "plus", "btw",
    "what about", "how about", "one more", or has "also" / "too" in it ("can I
    also use google pay?"). A repeat keeps its words ("so which one has 4k?")
    or says it is still not solved ("still buffering"); a bare "and??" is
    impatience, not a new question.
    """
    words = [w for part in _parts(text) for w in part]
    while words and words[0] in CONTENT_FREE_ANCHORS:
        words = words[1:]
    if len(words) < 2 or any(w in STILL_FAILING for w in words):
        return False
    joined = " ".join(words)
    return (
        words[0] in FOLLOW_UP_OPENERS
        or any(joined.startswith(phrase) for phrase in FOLLOW_UP_PHRASES)
        or any(w in FOLLOW_UP_WORDS for w in words)
    )
