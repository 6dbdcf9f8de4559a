"""Withdrawn requests: success reports, never mind, a request taken back.

`withdrawal_kind(text)` / `withdraws_request(text)`: a turn that reports success
("updating the app fixed it, cheers"), says never mind ("it was only $5, never
mind") or takes the request back ("actually I don't want the updates"). It is
not a repeat of the question it mentions, even when NLU gives it the same
intent, and not an unclear request either.
"""

from functools import lru_cache
from typing import List, Optional, Tuple

from rasa_handover.message_kinds.content_free import _symbol_only, _words
from rasa_handover.nlp import blank_english
from rasa_handover.word_forms import normalise_word, vocabulary_of

WITHDRAWAL_SUCCESS = "success"
WITHDRAWAL_NEVER_MIND = "never_mind"
WITHDRAWAL_TAKEN_BACK = "taken_back"

# "never mind", "forget it", "scratch that", "no need", "doesn't matter", and
# the customer's own mistake said as the whole point ("sorry, my mistake").
# Compared with the turn's normalised forms (`NEVER_MIND_PHRASES`, below).
_NEVER_MIND_WRITTEN: Tuple[str, ...] = (
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
    "my mistake",
    "my bad",
    "my fault",
    "my error",
    "false alarm",
    "silly me",
    "wrong chat",
    "wrong window",
)
# Words of success, as written: "fixed it", "all sorted", "problem solved".
SUCCESS_WORDS = _words(
    "fixed solved sorted resolved figured managed found worked works working fine"
)
# Phrases of success: "reinstalling did the trick".
SUCCESS_PHRASES: Tuple[Tuple[str, ...], ...] = tuple(
    tuple(phrase.split())
    for phrase in ("did the trick", "does the trick", "done the trick", "sorted it")
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
    "can could will would should to please help if hope need want try trying"
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
NEVER_MIND_PHRASES: Tuple[Tuple[str, ...], ...] = tuple(
    tuple(normalise_word(word, _VOCABULARY, frozenset()) for word in phrase.split())
    for phrase in _NEVER_MIND_WRITTEN
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
    if _has_phrase(written, SUCCESS_PHRASES):
        return True
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
        if forms[max(0, i - 2) : i] == ["no", "longer"]:
            return True
        if not _negated_want(forms, i):
            continue
        if any(w in CHANGE_OF_MIND for w in forms):
            return True
        if not any(w in COMPLAINT_AFTER_WANT for w in forms[i + 1 : i + 5]):
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


def words_besides_never_mind(text: str) -> List[str]:
    """The words of `text` (normalised) outside its never-mind phrases.

    What a remark must still look at: "forget it, I want a refund" withdraws
    one request and makes another. "cancel that" and a want taken back ("I
    don't need it anymore") are left out too: they ask for nothing.
    """
    _written, forms = _forms(text)
    joined = " " + " ".join(forms) + " "
    for phrase in (*NEVER_MIND_PHRASES, *NEVER_MIND_TURNS):
        joined = joined.replace(" " + " ".join(phrase) + " ", " ")
    words = joined.split()
    # "forget it, I don't need it anymore": a want taken back asks for nothing.
    return [
        word
        for i, word in enumerate(words)
        if word not in CHANGE_OF_MIND
        and (word not in WANT_WORDS or not _negated_want(words, i))
    ]


def _negated_want(forms: List[str], i: int) -> bool:
    """Whether the want or need at `forms[i]` is negated ("don't need", "no longer")."""
    return forms[max(0, i - 2) : i] == ["no", "longer"] or any(
        w in WANT_NEGATIONS for w in forms[max(0, i - NEGATION_REACH) : i]
    )


def withdraws_request(text: str) -> bool:
    """Whether `text` reports success, says never mind or takes a request back."""
    return withdrawal_kind(text) is not None
