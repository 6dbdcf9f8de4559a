"""Content-free turns: thanks, ok, greetings, goodbyes, introductions, emoji only.

`is_content_free(text)`: acknowledgements, thanks, greetings, goodbyes,
emoji-only and one-word "ok"-style turns ("great", "👍", "thanks so much, have a
lovely day"). They carry no request the bot could get wrong, so low NLU
confidence on them is not a failure. A pure function of the text over spaCy
tokens (the shared blank English pipeline) and `rasa_handover.word_forms`.
"""

import re
from functools import lru_cache
from typing import TYPE_CHECKING, FrozenSet, List, Optional, Tuple

from rasa_handover.nlp import blank_english, is_capitalised_word
from rasa_handover.word_forms import normalise_word

if TYPE_CHECKING:  # pragma: no cover - spaCy is imported lazily
    from spacy.tokens import Doc, Token


def _words(spaced: str) -> FrozenSet[str]:
    return frozenset(spaced.split())


# --- content-free turns -------------------------------------------------------
# Words that carry no request on their own: acknowledgements, thanks, greetings,
# goodbyes, laughter and the small words that hold them together ("thank you so
# very much", "have a lovely day"). "yes" and "ok" are here (nothing to get
# wrong); "no", "please", "help" and every question word are not.
CONTENT_FREE_WORDS = _words(
    # acknowledgements
    "ok okay k kk okey okie okies alright aight sure cool great good nice fine "
    "perfect awesome excellent super brilliant lovely wonderful amazing sweet "
    "neat gotcha understood noted right yes yeah yep yup ya yea ack roger "
    "indeed fab fantastic splendid superb wow oh ah ahh aha ooh hmm hm mhm "
    "uh um well done absolutely definitely correct exactly agreed true "
    "confirmed approved y"
    # thanks
    " thanks thank thankyou thx ty tyvm tysm thnx thanx thnks cheers ta appreciate "
    "appreciated grateful "
    "kind kindly helpful"
    # greetings and goodbyes
    " hi hello hey heya hiya yo howdy greetings morning afternoon evening "
    "bye goodbye byebye cya ciao later farewell night goodnight ttyl regards"
    # the same in the languages greeted most often
    " hallo hola servus moin bonjour salut danke gracias merci tschüss adiós "
    "adios ja sí si oui"
    # laughter
    " lol lmao rofl haha hahaha hehe xd"
    # the small words that hold them together
    " you so very much a lot lots million ton bunch again all it that "
    "for your the to and have nice day weekend one too same see soon take "
    "care be is was this that's just really i i'm got sounds makes sense "
    "will do bit there be guys folks mate buddy dear sir madam also as always "
    "ever such the best get worked helped works"
)
# Words that must appear for a turn to be content-free: the small words above
# alone ("so you have") are not an acknowledgement.
CONTENT_FREE_ANCHORS = CONTENT_FREE_WORDS - _words(
    "you so very much a lot lots million ton bunch again all it that for your "
    "the to and one too same see take be is was this just really i i'm got "
    "will do bit there be also as always ever such dear sir madam guys folks mate "
    "buddy well kind kindly have get worked helped works"
)
# Phrases with a word that is otherwise a request or an answer: removed first.
CONTENT_FREE_PHRASES: Tuple[Tuple[str, ...], ...] = tuple(
    tuple(phrase.split())
    for phrase in (
        "no worries",
        "no problem",
        "no prob",
        "no probs",
        "not a problem",
        "much obliged",
        "good job",
        "well done",
        "take care",
        "have a good one",
        "you rock",
        "you be the best",
        "that be all",
        "that be it",
        "all good",
        "all set",
        "good to know",
        "i see",
        "get it",
        "got it",
        "see you",
        "see ya",
        "talk to you later",
        "catch you later",
        "gotta go",
        "got to go",
        "of course",
        "go ahead",
        "please do",
        "yes please",
        "not bad",
        "for the help",
        "for your help",
        "for helping",
        "for your assistance",
        "for the answer",
        "for chatting",
        "that helped",
        "guten tag",
        "guten morgen",
        "buenos días",
        "buenos dias",
        "buenas tardes",
        "hasta luego",
        "auf wiedersehen",
        "danke schön",
        "muchas gracias",
        "fair enough",
        "that be everything",
        "that be all for now",
    )
)
# Emoji and pictographs (Unicode blocks), their modifiers and emoticons.
EMOJI = re.compile(
    "["
    "\U0001f000-\U0001faff"  # mahjong .. symbols & pictographs extended-A
    "\u2600-\u27bf"  # miscellaneous symbols, dingbats
    "\u2b00-\u2bff"  # arrows, stars
    "\u2300-\u23ff"  # technical (⌚, ⏰)
    "\ufe0f\u200d\u20e3"  # variation selector, zero-width joiner, keycap
    "\u2764\u2665"  # hearts
    "]+"
)
EMOTICON = re.compile(r"^(?:[:;=8xX][-']?[)(\]\[dDpP3*/|oO]+|<3+|\^_*\^|[)(]+:)$")
# A content-free turn is short: a long run of pleasantries is unusual enough to
# be read by the bot.
CONTENT_FREE_MAX_WORDS = 12
_DOUBLED = re.compile(r"(.)\1+$")
_LAUGHTER = re.compile(r"^(?:(?:ha|he|hi|ah)+h?|lo+l+|l+m+a+o+|x+d+)$")


# --- self-introductions --------------------------------------------------------
# "hi, my name is Dana", "Hello, I'm Tom Baker", "this is Priya", "Sam here": a
# name carries no request. What introduces a name (spaCy norms: "I'm" is "i am",
# "im" is "i m")...
INTRODUCERS: Tuple[Tuple[str, ...], ...] = (
    ("my", "name", "is"),
    ("my", "name", "'s"),
    ("i", "am"),
    ("i", "m"),
    ("this", "is"),
)
# ... and the name itself: one to this many words written with a capital, as
# names are ("I'm stuck" is no introduction), none of them a stop word, an
# acknowledgement or a word of feeling ("I'm Done", "I'm Confused").
INTRODUCTION_MAX_NAME_WORDS = 3
# Turns without one of these words introduce nobody (saves tokenising them).
_MAY_INTRODUCE = re.compile(r"(?i)\b(?:name|i|im|this|here)\b")


def _is_name_word(token: "Token") -> bool:
    from rasa_handover.signals.sentiment import vader_lexicon

    return (
        is_capitalised_word(token)
        and token.lower_ not in CONTENT_FREE_WORDS
        and token.lower_ not in vader_lexicon()
    )


def _name_end(doc: "Doc", start: int) -> Optional[int]:
    """Where a name starting at `start` ends, if a whole name stands there.

    The name must end the clause: the end of the turn, punctuation or "here".
    """
    end = start
    while (
        end < len(doc)
        and end - start < INTRODUCTION_MAX_NAME_WORDS
        and _is_name_word(doc[end])
    ):
        end += 1
    if end == start:
        return None
    if end == len(doc) or doc[end].is_punct or doc[end].lower_ == "here":
        return end
    return None


def without_introductions(text: str) -> Tuple[str, bool]:
    """`text` with its self-introductions blanked out, and whether it had one.

    "hi, my name is Dana" -> "hi, ", "Sam here, thanks" -> " , thanks". The
    rest of the turn still has to be content-free: "hi, I'm Tom and my card was
    declined" keeps its request.
    """
    if not _MAY_INTRODUCE.search(text):
        return text, False
    doc = blank_english()(text)
    norms = [token.norm_ for token in doc]
    spans: List[Tuple[int, int]] = []
    for i in range(len(doc)):
        for introducer in INTRODUCERS:
            if tuple(norms[i : i + len(introducer)]) != introducer:
                continue
            end = _name_end(doc, i + len(introducer))
            if end is not None:
                spans.append((i, end))
        # "Sam here": a name opening a clause, then "here".
        if i == 0 or doc[i - 1].is_punct or norms[i - 1] in CONTENT_FREE_ANCHORS:
            end = _name_end(doc, i)
            if end is not None and end < len(doc) and norms[end] == "here":
                spans.append((i, end + 1))
    if not spans:
        return text, False
    chars = list(text)
    for start, end in spans:
        first, last = doc[start].idx, doc[end - 1].idx + len(doc[end - 1].text)
        chars[first:last] = " " * (last - first)
    return "".join(chars), True


def _symbol_only(text: str) -> bool:
    return EMOTICON.match(text) is not None or EMOJI.fullmatch(text) is not None


def _word(token_norm: str) -> str:
    word = normalise_word(token_norm, CONTENT_FREE_WORDS, frozenset())
    if word not in CONTENT_FREE_WORDS:
        # "heyy", "hii", "okk": a doubled last letter is emphasis too.
        squeezed = _DOUBLED.sub(r"\1", word)
        word = squeezed if squeezed in CONTENT_FREE_WORDS else word
    return "haha" if _LAUGHTER.match(word) else word


def _without_phrases(words: List[str]) -> Tuple[List[str], bool]:
    joined = " " + " ".join(words) + " "
    found = False
    for phrase in CONTENT_FREE_PHRASES:
        spaced = " " + " ".join(phrase) + " "
        if spaced in joined:
            joined = joined.replace(spaced, " ")
            found = True
    return joined.split(), found


@lru_cache(maxsize=4096)
def is_content_free(text: str) -> bool:
    """Whether `text` carries no request: thanks, greetings, ok, emoji only.

    A turn is content-free when, once emoji, emoticons, punctuation and the
    phrases of `CONTENT_FREE_PHRASES` are set aside, every word is in
    `CONTENT_FREE_WORDS` (after normalising inflections, chat spelling and
    letters repeated for emphasis), at least one is an acknowledgement word (or
    the turn was only emoji or a phrase), and there are at most
    `CONTENT_FREE_MAX_WORDS` words. A self-introduction ("hi, my name is
    Dana", "Sam here") is set aside first (`without_introductions`), and is
    content-free on its own. A question mark makes the turn a question
    ("ok?", "👍?"), never content-free. An empty text is not content-free: there
    is nothing to judge.
    """
    if not text or not text.strip() or "?" in text:
        return False
    text, introduced = without_introductions(text)
    words: List[str] = []
    symbols = False
    for token in blank_english()(text.lower()):
        if token.is_space or token.is_punct or _symbol_only(token.text):
            # Emoji and faces say something; punctuation alone ("...") does not.
            symbols = symbols or _symbol_only(token.text)
            continue
        stripped = EMOJI.sub("", token.text)
        if not stripped:
            symbols = True
            continue
        words.append(_word(stripped if stripped != token.text else token.norm_))
    words, phrase = _without_phrases(words)
    if len(words) > CONTENT_FREE_MAX_WORDS:
        return False
    if not words:
        return symbols or phrase or introduced
    return all(w in CONTENT_FREE_WORDS for w in words) and (
        phrase or any(w in CONTENT_FREE_ANCHORS for w in words)
    )
