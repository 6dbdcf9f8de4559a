"""The `complaint` signal: how support customers say the service is failing them.

Reddit rarely shows these, so the learned model seldom sees them as angry, yet a
support lead reads each as frustration. Six families, each a few spaCy
``Matcher`` patterns over the word classes of ``complaint_words`` (matched on
NORM after chat spelling), plus two checks that need a clause:

- ``waited``: time waited ("I've been waiting 3 weeks", "on hold for 45
  minutes", "3 days and counting", "it's been 2 hours"), a promise not kept
  ("was supposed to come", "you promised"), "how much longer";
- ``repeated``: the n-th time, "how many times", "I already told you", "still"
  or "again" with a failure in the same clause ("still not working", "it
  crashed again"), an emphatic "AGAIN" / "again??", "yet again", "you keep
  sending me", "I keep getting charged", "constantly";
- ``unanswered``: nobody + a service verb ("nobody has replied", "no one gets
  back to me"), "no response", "you're not listening", "it never happened",
  "ignored", "going round in circles", "not what I asked";
- ``leaving``: the customer's decision to leave, said as made ("I'm cancelling",
  "I will be leaving"), a competitor or another provider, an authority or a
  formal complaint, money demanded back ("I want my money back"), "I'm done
  with you", "you've lost a customer", "never ... again";
- ``blame``: the company did it, in the past tense ("you charged me twice",
  "your update deleted my playlists", "you people"), its thing is bad ("your
  app is broken"), done "without asking", "a plan I never signed up for";
- ``giving_up``: "I give up", "forget it", "what's the point", "wasted my
  whole afternoon", "stop sending me links", "a straight answer", "not a
  script".

What stays calm, by design (the tests hold these contrast pairs): the future
and the modal ("do I need to wait 24 hours?", "could I have my money back?",
"I'd like to cancel"), waiting without a duration ("still waiting for the
download to finish?" is a question about progress), "again" with no failure
("I tried again and it worked"), "the video keeps buffering" (a problem report:
the customer is not on the receiving end), "it's been 2 years since I joined".
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Dict, FrozenSet, Iterable, List, Tuple

from rasa_handover.signals.common import Span
from rasa_handover.signals.complaint_words import (
    ALREADY_DONE,
    AUTHORITIES,
    AUTHORITY_PAIRS,
    BARE_DURATIONS,
    BROKEN_PROMISE_SUBJECTS,
    COMPLAINT_SPELLING,
    CONTACT_COUNTS,
    COUNT_WORDS,
    DEMAND_VERBS,
    DONE_WITH,
    DURATION_RUNNING,
    ELSEWHERE,
    FAILURE_WORDS,
    FAULT_STATES,
    FAULT_VERBS,
    FIRST_PERSON_DECIDED,
    GIVE_UP_PAIRS,
    KEEP_PASSIVE,
    KEEP_VERBS,
    LEAVE_VERBS,
    LEGAL_ADVISERS,
    MISSING_REPLIES,
    MOVE_VERBS,
    NEVER_AGREED,
    NEVER_DONE,
    NOBODY,
    NOT_HELPING,
    ORDINALS,
    OTHER_COMPANY,
    REPETITION_ADVERBS,
    SCRIPTED,
    SECOND_PERSON,
    SERVICE_NOUNS,
    SERVICE_VERBS,
    SHUT_OUT,
    STOP_DOING,
    TIME_UNITS,
    WAITED,
    WAITING_STATES,
    WITHOUT_CONSENT,
)

if TYPE_CHECKING:  # pragma: no cover - imported lazily at run time
    from spacy.matcher import Matcher
    from spacy.tokens import Doc, Token

__all__ = ["COMPLAINT_FAMILIES", "complaint_matches"]

WAITED_FAMILY = "waited"
REPEATED_FAMILY = "repeated"
UNANSWERED_FAMILY = "unanswered"
LEAVING_FAMILY = "leaving"
BLAME_FAMILY = "blame"
GIVING_UP_FAMILY = "giving_up"
COMPLAINT_FAMILIES = (
    WAITED_FAMILY,
    REPEATED_FAMILY,
    UNANSWERED_FAMILY,
    LEAVING_FAMILY,
    BLAME_FAMILY,
    GIVING_UP_FAMILY,
)
# Tokens that end a clause for "still" / "again" + a failure.
_CLAUSE_ENDS = frozenset({".", ",", ";", "!", "?", "...", "but", "and", "\n"})
# "leaving for Spain", "leaving on Friday": a trip, not a threat.
_BE = frozenset({"is", "are", "was", "were", "be", "been", "has", "'s", "s"})
_TRIP_WORDS = frozenset({"for", "on", "at", "in", "home", "tomorrow", "today", "soon"})

Pattern = List[Dict[str, object]]


def _in(words: Iterable[str], op: str | None = None) -> Dict[str, object]:
    token: Dict[str, object] = {"NORM": {"IN": sorted(words)}}
    if op:
        token["OP"] = op
    return token


def _is(word: str, op: str | None = None) -> Dict[str, object]:
    token: Dict[str, object] = {"NORM": word}
    if op:
        token["OP"] = op
    return token


def _gap(most: int) -> Dict[str, object]:
    return {"IS_PUNCT": False, "OP": f"{{0,{most}}}"}


def _phrases(pairs: FrozenSet[str]) -> List[Pattern]:
    return [[_is(word) for word in pair.split()] for pair in sorted(pairs)]


def _durations(before: Pattern) -> List[Pattern]:
    """``before``, a few words, then a duration: "3 weeks", "a whole month", "ages"."""
    unit = _in(TIME_UNITS)
    extra = _in({"whole", "entire", "full", "working", "more", "straight"}, "?")
    return [
        [*before, _gap(3), {"LIKE_NUM": True}, extra, unit],
        [*before, _gap(3), _in(COUNT_WORDS), extra, unit],
        [*before, _gap(3), _in(BARE_DURATIONS)],
        [*before, _gap(3), _is("since")],
    ]


def _waited() -> List[Pattern]:
    count: Pattern = [{"LIKE_NUM": True}, _in({"whole", "more"}, "?"), _in(TIME_UNITS)]
    return [
        *_durations([_in(WAITED)]),
        *_durations([_in(WAITING_STATES), _gap(4), _in({"for", "over"})]),
        [*count, _in(DURATION_RUNNING)],
        [*count, _gap(3), _is("and"), _in({"counting", "still"})],
        [_in(COUNT_WORDS), _in(TIME_UNITS), _gap(3), _in(WAITING_STATES)],
        [*count, _gap(3), _in(WAITING_STATES)],
        [_is("been"), {"IS_DIGIT": True}],
        [_is("been"), _in(COUNT_WORDS - {"a", "an"}), _in(TIME_UNITS)],
        [_in(BROKEN_PROMISE_SUBJECTS), _is("supposed")],
        [_in({"you", "they"}), _in({"have", "had"}, "?"), _is("promised")],
        [_is("how"), _is("much"), _is("longer")],
        [_is("why"), _gap(3), _in({"take", "takes", "taking"}), {"LIKE_NUM": True}],
    ]


def _repeated() -> List[Pattern]:
    return [
        [_in(ORDINALS), _in(CONTACT_COUNTS)],
        [_is("for"), _is("the"), _is("last"), _is("time")],
        [_is("how"), _is("many"), _is("more", "?"), _is("times")],
        [_in({"i", "'ve", "ve", "have"}), _is("already"), _gap(1), _in(ALREADY_DONE)],
        [_is("i"), _in({"told", "said", "explained"}), _gap(2), _is("already")],
        [_in({"repeating", "repeat"}), _is("myself")],
        [_is("yet"), _is("again")],
        [_is("over"), _is("and"), _is("over")],
        [_is("still"), _gap(2), _in(FAILURE_WORDS)],
        [_is("you"), _in(KEEP_VERBS), {"LOWER": {"REGEX": "ing$"}}],
        [
            _is("your"),
            {"IS_ALPHA": True},
            _in(KEEP_VERBS),
            {"LOWER": {"REGEX": "ing$"}},
        ],
        [_is("i"), _in(KEEP_VERBS), _in(KEEP_PASSIVE)],
    ]


def _unanswered() -> List[Pattern]:
    nobody = [_in(NOBODY)]
    no_one = [_is("no"), _is("-", "?"), _is("one")]
    return [
        [*nobody, _gap(3), _in(SERVICE_VERBS)],
        [*no_one, _gap(3), _in(SERVICE_VERBS)],
        [_is("no"), _in(MISSING_REPLIES)],
        [_is("not"), _in({"even", "really", "actually"}, "?"), _in(NOT_HELPING)],
        [_is("never"), _in({"even", "actually", "ever"}, "?"), _in(NEVER_DONE)],
        [_is("never"), _is("heard"), _in({"back", "from", "anything"})],
        [_in(SHUT_OUT)],
        [_in({"round", "around", "in"}), _is("circles")],
        [_in({"getting", "going", "got", "get"}), _is("nowhere")],
        [_is("closed"), _is("the"), _is("chat")],
        [_in({"cut", "hung"}), _is("me", "?"), _in({"off", "up"}), _is("on", "?")],
        [_is("not"), _is("what"), _is("i"), _in({"asked", "said", "meant"})],
        [_is("different"), _in({"answer", "answers", "story"})],
        [_is("you"), _is("even"), _in({"read", "listen", "care", "know"})],
        [_is("then"), _is("nothing")],
        [
            _in({"does", "do", "is"}),
            _in({"anyone", "anybody"}),
            _in({"work", "read", "care", "answer", "working", "reading"}),
        ],
    ]


def _leaving() -> List[Pattern]:
    return [
        [_is("i"), _in(FIRST_PERSON_DECIDED), _gap(3), _in(LEAVE_VERBS)],
        [_in({"thinking", "considering"}), _in({"about", "of"}, "?"), _in(LEAVE_VERBS)],
        [_in(ELSEWHERE - {"elsewhere"})],
        [
            _in({"business", "go", "going", "shop", "shopping", "money"}),
            _is("elsewhere"),
        ],
        [
            _in(MOVE_VERBS),
            _gap(2),
            _in({"another", "other", "different"}),
            _in(OTHER_COMPANY),
        ],
        [_in(AUTHORITIES)],
        [_in({"my", "our"}), _in(LEGAL_ADVISERS)],
        *_phrases(AUTHORITY_PAIRS),
        [_in(DEMAND_VERBS), _is("me", "?"), _is("my"), _is("money"), _is("back")],
        [_in(DEMAND_VERBS), _is("me", "?"), _is("a", "?"), _is("full"), _is("refund")],
        [_is("refund"), _is("me")],
        [_is("i"), _is("demand")],
        [_in(DONE_WITH), _is("with"), _in({"you", "this", "your", "it"})],
        [_in({"i", "'ve", "ve", "have"}), _is("had"), _is("enough")],
        [_is("lost"), _in({"a", "another"}), _is("customer")],
        [
            _is("never"),
            _in(
                {
                    "ordering",
                    "buying",
                    "using",
                    "order",
                    "buy",
                    "use",
                    "shopping",
                    "booking",
                    "flying",
                }
            ),
            _gap(3),
            _is("again"),
        ],
        [_is("how"), _is("you"), _in({"treat", "treating"})],
    ]


def _blame() -> List[Pattern]:
    return [
        [
            _is("you"),
            _in({"guys", "people", "lot"}, "?"),
            _in({"have", "just", "already", "again", "then"}, "?"),
            _in(FAULT_VERBS),
        ],
        [
            _is("your"),
            {"IS_ALPHA": True},
            {"IS_ALPHA": True, "OP": "?"},
            _in(FAULT_VERBS),
        ],
        [_is("why"), _is("did"), _is("you")],
        [_is("made"), _in({"it", "things", "everything"}), _is("worse")],
        [_is("you"), _is("people")],
        [_in(SECOND_PERSON), _gap(4), _in({"the", "a"}), _is("wrong")],
        [_is("your"), _gap(3), _in(_BE), _gap(3), _in(FAULT_STATES)],
        [_is("this"), _in(SERVICE_NOUNS), _in(_BE), _gap(3), _in(FAULT_STATES)],
        [_is("without"), _in(WITHOUT_CONSENT)],
        [_is("never"), _in(NEVER_AGREED)],
        [_is("do"), _is("not"), _in(NEVER_AGREED)],
    ]


def _giving_up() -> List[Pattern]:
    return [
        *_phrases(GIVE_UP_PAIRS),
        [_is("what"), _in({"is", "'s", "s"}), _is("the"), _is("point")],
        [
            _in({"wasted", "wasting"}),
            _in({"my", "the", "a"}, "?"),
            _in({"whole", "entire"}, "?"),
            _in(
                {
                    "time",
                    "day",
                    "afternoon",
                    "morning",
                    "evening",
                    "hours",
                    "hour",
                    "week",
                    "weekend",
                    "life",
                }
            ),
        ],
        [_is("stop"), _in(STOP_DOING)],
        [_in({"straight", "real", "proper"}), _in({"answer", "reply"})],
        [_in({"a", "another", "the"}), _in(SCRIPTED - {"straight"})],
        [_is("instead"), _is("of"), _in({"saying", "apologising", "apologizing"})],
        [_is("not"), _is("paying"), _is("for")],
        [_is("answer"), _in({"the", "my"}), _is("question")],
        [_in({"anyone", "anybody"}), _in({"actually", "even"})],
    ]


_PATTERNS = {
    WAITED_FAMILY: _waited,
    REPEATED_FAMILY: _repeated,
    UNANSWERED_FAMILY: _unanswered,
    LEAVING_FAMILY: _leaving,
    BLAME_FAMILY: _blame,
    GIVING_UP_FAMILY: _giving_up,
}


@functools.lru_cache(maxsize=None)
def _matcher() -> Matcher:
    from spacy.matcher import Matcher

    from rasa_handover.nlp import blank_english

    matcher = Matcher(blank_english().vocab)
    for family, patterns in _PATTERNS.items():
        matcher.add(family, patterns())
    return matcher


def _normalise(doc: Doc) -> None:
    """Write each token's chat-spelling-mapped, lower-cased NORM back to it."""
    for token in doc:
        norm = token.norm_.lower()
        norm = COMPLAINT_SPELLING.get(norm, norm)
        if norm != token.norm_:
            token.norm_ = norm


def complaint_matches(doc: Doc) -> List[Tuple[str, Span]]:
    """Every (family, span) found in ``doc``, in text order.

    Writes normalised forms into the tokens' NORM (no other detector reads it).
    """
    _normalise(doc)
    found = []
    for key, start, end in _matcher()(doc):
        family = doc.vocab.strings[key]
        if _rejected(doc, start, end):
            continue
        found.append((family, (doc[start].idx, _end(doc[end - 1]))))
    for token in doc:
        if token.norm_ in REPETITION_ADVERBS and _has_failure(doc, token):
            found.append((REPEATED_FAMILY, (token.idx, _end(token))))
        if token.norm_ == "again" and _again_complains(doc, token):
            found.append((REPEATED_FAMILY, (token.idx, _end(token))))
        if token.norm_ == "still" and _still_waiting(doc, token):
            found.append((WAITED_FAMILY, (token.idx, _end(doc[token.i + 1]))))
    return sorted(found, key=lambda item: item[1])


def _end(token: Token) -> int:
    return token.idx + len(token.text)


def _rejected(doc: Doc, start: int, end: int) -> bool:
    """Matches that the patterns cannot rule out on their own."""
    after = doc[end].norm_ if end < len(doc) else ""
    last = doc[end - 1].norm_
    # "it's been 2 years since I joined": a duration, not a wait.
    if doc[start].norm_ == "been" and (after == "since" or _next_is(doc, end, "since")):
        return True
    # "I can't help but agree": an idiom, not a complaint.
    if last in {"help"} and after == "but":
        return True
    # "I'm leaving for Spain on Friday": a trip.
    return last in {"leave", "leaving"} and after in _TRIP_WORDS


def _next_is(doc: Doc, position: int, word: str) -> bool:
    return position + 1 < len(doc) and doc[position + 1].norm_ == word


def _clause(doc: Doc, token: Token) -> List[Token]:
    """The tokens of ``token``'s clause (between punctuation or but/and)."""
    start = token.i
    while start > 0 and doc[start - 1].norm_ not in _CLAUSE_ENDS:
        start -= 1
    end = token.i + 1
    while end < len(doc) and doc[end].norm_ not in _CLAUSE_ENDS:
        end += 1
    return list(doc[start:end])


def _again_complains(doc: Doc, token: Token) -> bool:
    """An "again" that complains: shouted, "again??", or with a failure nearby."""
    if token.text.isupper() and len(token.text) > 1:
        return True
    if doc.text[_end(token) :].startswith(("??", "?!", "!?", "!!")):
        return True
    return _has_failure(doc, token)


def _has_failure(doc: Doc, token: Token) -> bool:
    return any(word.norm_ in FAILURE_WORDS for word in _clause(doc, token))


def _still_waiting(doc: Doc, token: Token) -> bool:
    """Tell a "still waiting" that is not a question about progress."""
    if token.i + 1 >= len(doc) or doc[token.i + 1].norm_ != "waiting":
        return False
    for following in doc[token.i + 2 :]:
        if following.text in {".", "!", ";", "\n"}:
            return True
        if following.text == "?":
            return False
    return True
