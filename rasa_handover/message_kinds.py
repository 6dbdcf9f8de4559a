"""What kind of message a user turn is, beyond its intent: two small rules.

- `is_content_free(text)`: acknowledgements, thanks, greetings, goodbyes,
  emoji-only and one-word "ok"-style turns ("great", "👍", "thanks so much, have
  a lovely day"). They carry no request the bot could get wrong, so low NLU
  confidence on them is not a failure.
- `withdrawal_kind(text)` / `withdraws_request(text)`: a turn that reports
  success ("updating the app fixed it, cheers"), says never mind ("it was only
  $5, never mind") or takes the request back ("actually I don't want the
  updates"). It is not a repeat of the question it mentions, even when NLU gives
  it the same intent.

Both are pure functions of the text over spaCy tokens (the shared blank English
pipeline) and `rasa_handover.word_forms`; they import nothing from Rasa or
Sanic. docs/explicit-request.md documents them with the phrase grammar.
"""

import re
from functools import lru_cache
from typing import FrozenSet, List, Optional, Tuple

from rasa_handover.nlp import blank_english
from rasa_handover.word_forms import normalise_word, vocabulary_of


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
    " thanks thank thankyou thx cheers ta appreciate appreciated grateful "
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
    `CONTENT_FREE_MAX_WORDS` words. A question mark makes the turn a question
    ("ok?", "👍?"), never content-free. An empty text is not content-free: there
    is nothing to judge.
    """
    if not text or not text.strip() or "?" in text:
        return False
    words: List[str] = []
    symbols = False
    for token in blank_english()(text.lower()):
        if token.is_space or token.is_punct or _symbol_only(token.text):
            symbols = symbols or not token.is_space
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
        return symbols or phrase
    return all(w in CONTENT_FREE_WORDS for w in words) and (
        phrase or any(w in CONTENT_FREE_ANCHORS for w in words)
    )


# --- withdrawn requests -------------------------------------------------------
WITHDRAWAL_SUCCESS = "success"
WITHDRAWAL_NEVER_MIND = "never_mind"
WITHDRAWAL_TAKEN_BACK = "taken_back"

# "never mind", "forget it", "scratch that", "no need", "doesn't matter".
NEVER_MIND_PHRASES: Tuple[Tuple[str, ...], ...] = tuple(
    tuple(phrase.split())
    for phrase in (
        "never mind",
        "nevermind",
        "nvm",
        "forget it",
        "forget about it",
        "forget that",
        "forget i asked",
        "scratch that",
        "ignore that",
        "ignore me",
        "ignore my last",
        "disregard",
        "no need",
        "not needed",
        "nevermind then",
        "do not worry",
        "do not bother",
        "not matter",
        "no matter",
        "change my mind",
        "changed my mind",
        "not important",
        "not a big deal",
        "no big deal",
        "all good now",
        "no thanks",
        "no thank",
        "cancel my request",
        "on second thought",
        "on second thoughts",
    )
)
# Words of success, as written: "fixed it", "all sorted", "problem solved".
SUCCESS_WORDS = _words(
    "fixed solved sorted resolved figured managed found worked works working fine"
)
# Among them, those that report success only with a marker after them ("it
# works now", "found it"), so that "the app works on my phone" does not.
SUCCESS_NEEDS_MARKER = _words("works working fine found figured managed")
SUCCESS_MARKERS = _words(
    "now again finally after all already it out myself cheers thanks thank "
    "perfectly great"
)
# A report of success is past or present, not asked for: these words before the
# success word make it a request or a hope ("can you fix it", "how do I solve").
NOT_A_REPORT = _words(
    "can could will would should to please help if hope need want try trying be have"
)
# A question is never a report of success ("how does it work now").
QUESTION_WORDS = _words("how why what when where which who")
NEGATIONS = _words("not never no nothing without cannot nope neither nor")
# Still failing: "still", "but", "yet", "again" after a negation... any of
# these anywhere in the turn keep a success word from reporting success.
STILL_FAILING = _words(
    "still but however yet except although though broken error before "
    "yesterday used stop stopped stops crash crashed crashes fail failed fails "
    "failing broke freeze froze frozen"
)
# Taking a request back: a negated verb of wanting with an object.
WANT_WORDS = _words("want need wish")
# Negations of a want ("no" is left out: "no, I want a refund" still wants it).
WANT_NEGATIONS = _words("not never")
# After a negated want these make it a complaint, not a withdrawal: "I don't
# want to wait", "I don't want to be charged twice", "I don't want this to
# happen again".
COMPLAINT_AFTER_WANT = _words(
    "be wait have keep repeat explain pay talk speak chat call lose happen "
    "go deal spend get share sell charge"
)
# Words that make a negated want a change of mind, whatever follows.
CHANGE_OF_MIND = _words("anymore any longer actually after all more")
_VOCABULARY = vocabulary_of(
    WANT_WORDS,
    COMPLAINT_AFTER_WANT,
    ("matter", "bother", "worry", "mind", "thought", "ask", "cancel", "ignore"),
)
# How far back from "want" a negation reaches ("don't want", "don't really
# want"; not "that's not what I want", a complaint).
NEGATION_REACH = 2
# Phrases that withdraw only as the whole turn ("cancel that", not "cancel that
# reservation").
NEVER_MIND_TURNS: Tuple[Tuple[str, ...], ...] = (("cancel", "that"),)


def _forms(text: str) -> Tuple[List[str], List[str]]:
    """The words of `text`, as written (lower case) and normalised."""
    written, forms = [], []
    for token in blank_english()(text.lower()):
        if token.is_punct or token.is_space or _symbol_only(token.text):
            continue
        written.append(token.text)
        forms.append(normalise_word(token.norm_, _VOCABULARY, frozenset()))
    return written, forms


def _has_phrase(forms: List[str], phrases: Tuple[Tuple[str, ...], ...]) -> bool:
    joined = " " + " ".join(forms) + " "
    return any(" " + " ".join(p) + " " in joined for p in phrases)


def _reports_success(text: str, written: List[str], forms: List[str]) -> bool:
    if "?" in text or any(
        w in NEGATIONS or w in STILL_FAILING or w in QUESTION_WORDS for w in forms
    ):
        return False
    for i, word in enumerate(written):
        if word not in SUCCESS_WORDS:
            continue
        if any(w in NOT_A_REPORT for w in forms[max(0, i - 2) : i]):
            continue
        if word not in SUCCESS_NEEDS_MARKER:
            return True
        if any(w in SUCCESS_MARKERS for w in forms[i + 1 : i + 4]):
            return True
    return False


def _takes_back(forms: List[str]) -> bool:
    for i, word in enumerate(forms):
        if word not in WANT_WORDS:
            continue
        no_longer = forms[max(0, i - 2) : i] == ["no", "longer"]
        negated = any(
            w in WANT_NEGATIONS for w in forms[max(0, i - NEGATION_REACH) : i]
        )
        if no_longer or (negated and any(w in CHANGE_OF_MIND for w in forms)):
            return True
        if negated and not any(w in COMPLAINT_AFTER_WANT for w in forms[i + 1 : i + 5]):
            return True  # "I don't want the updates", "I don't need it"
    return False


@lru_cache(maxsize=4096)
def withdrawal_kind(text: str) -> Optional[str]:
    """How `text` withdraws an earlier request, if it does.

    Returns:
        `"success"` (it reports that the problem is solved: "updating the app
        fixed it, cheers"), `"never_mind"` ("it was only $5, never mind"),
        `"taken_back"` (a negated want or need with an object, or with
        "anymore"/"actually": "actually I don't want the updates"); or `None`,
        also for complaints that it still fails ("updating didn't fix it").

    """
    if not text or not text.strip():
        return None
    written, forms = _forms(text)
    if not forms or forms[0] in QUESTION_WORDS:
        return None
    if _has_phrase(forms, NEVER_MIND_PHRASES) or tuple(forms) in NEVER_MIND_TURNS:
        return WITHDRAWAL_NEVER_MIND
    if _takes_back(forms):
        return WITHDRAWAL_TAKEN_BACK
    if _reports_success(text, written, forms):
        return WITHDRAWAL_SUCCESS
    return None


def withdraws_request(text: str) -> bool:
    """Whether `text` reports success, says never mind or takes a request back."""
    return withdrawal_kind(text) is not None
