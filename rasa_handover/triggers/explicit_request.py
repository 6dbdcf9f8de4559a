"""`explicit_request`: the user asks for a person. Always, immediately.

The configured intents (default `human_handoff`) fire as soon as NLU is sure
enough of them: at or above the intent's confidence floor (`thresholds.py`;
0.55 by default). Below it, NLU is only guessing (DIETClassifier puts
"the Tuesday thing again" on `human_handoff` at 0.25): the phrase grammar below
still hands over if the words ask for a person, and otherwise the turn is
unclear like any other, so `low_confidence` asks, with "talk to a person" among
the choices when the domain gives the intent a display name.

As a safety net for when NLU misses the request, a small phrase grammar over
normalised words (`rasa_handover.word_forms`: inflections, chat spelling, one
typo in a long word) finds requests for a person. docs/explicit-request.md
explains it with its figures; in short, a request is

- a verb of speaking, reaching or transferring with a person or a support team
  as its object: "let me speak with an actual human", "put me in touch with
  customer care", "forward me to your support team", "how do I reach a rep";
- a verb of wanting with a person: "I want a real person", "get me an agent";
- a person who is wanted for talking: "is there a human I can talk to",
  "can someone call me back", "can a real person help me";
- a refusal of the bot: "I don't want to talk to a bot", "stop the bot",
  "I'm done with this machine", "no more robots";
- a phrase that names a person on its own: "a proper human", "real person",
  "human agent", "customer service rep", or a short message that is little more
  than a person ("agent", "human pls", "customer service!").

It stays quiet on questions about the bot ("are you a human?", "am I talking to
a real person?"), on negated requests ("I don't need an agent"), on people who
are not us ("my travel agent", "human resources", "pay in person") and, by a
documented choice, on sales and other non-support contacts ("talk to sales",
"someone from your marketing team"): bots usually handle those with their own
flow (Rasa's own demo bot has a `contact_sales` form).
"""

from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple

from spacy.matcher import Matcher
from spacy.tokens import Doc

from rasa_handover.constants import REASON_EXPLICIT_REQUEST
from rasa_handover.conversation import ConversationView
from rasa_handover.message_kinds import is_content_free
from rasa_handover.nlp import blank_english
from rasa_handover.settings import HandoverSettings
from rasa_handover.thresholds import Thresholds, table_for
from rasa_handover.triggers.decision import Decision
from rasa_handover.word_forms import normalise_doc, vocabulary_of


def _words(spaced: str) -> Tuple[str, ...]:
    return tuple(spaced.split())


# --- word classes (normalised base forms) -------------------------------------
# Words for "a person who works for you".
PERSON_WORDS = _words(
    "human person agent representative rep operator staff employee "
    "supervisor manager advisor adviser consultant specialist technician "
    "associate colleague superior member engineer expert"
)
# Person words that need a verb or a team around them: "member" alone is no
# request ("gold member?"), "a member of your team" is.
NOT_ON_THEIR_OWN = _words("member engineer expert")
# Vaguer words: a request only with a verb of talking ("can I talk to
# someone"), not with a verb of wanting ("I need someone to fix it").
VAGUE_PERSON_WORDS = _words("someone somebody anyone anybody")
# Heads of a support team: "customer service", "your support team", "help desk".
TEAM_WORDS = _words("service support care team department desk helpdesk relations")
# Words that make a team head a team of people when it is not after a verb of
# contact: "customer service", "human support", "support team".
TEAM_QUALIFIERS = _words(
    "customer human live tech technical support help call service client"
)
# The bot, refused: "I don't want to talk to a bot".
BOT_WORDS = _words(
    "bot robot chatbot machine computer ai automaton algorithm program script recording"
)
# Verbs of speaking: they need "to"/"with" before the person.
SPEAK_VERBS = _words("talk speak chat converse communicate word discuss deal")
# Verbs of transferring: only a few object words may stand between the verb and
# "to"/"with"/"through" ("put me through to", "escalate this to", "hook me up
# with"), so that "transfer money to someone" is not a request.
TRANSFER_VERBS = _words(
    "connect transfer forward pass put redirect route send hand switch "
    "escalate patch hook take bring direct refer get move link"
)
TRANSFER_OBJECTS = _words(
    "me us my this that it the chat call conversation case ticket issue "
    "request question complaint back over up directly straight right now "
    "please just immediately in touch on along"
)
TRANSFER_PREPOSITIONS: Tuple[str, ...] = ("to", "with", "through", "onto", "towards")
# Verbs of reaching: the person may follow directly ("contact customer
# service", "get hold of a human", "in touch with someone").
REACH_VERBS = _words("reach contact touch")
# Verbs of phoning: only with a person or a team, and only articles and
# adjectives between ("call an agent"; not "call someone", "call an uber for 2
# people").
PHONE_VERBS = _words("call ring phone")
# Words that ask for something to be done, before "someone call me back".
ASKING_WORDS = _words("can could will would have get please need want may let")
# Verbs of wanting: only articles and adjectives may stand between them and the
# person ("I want a real person"), so "I want to change the person on my
# account" does not fire.
WANT_VERBS = _words(
    "want need get give request prefer like demand require ask see find bring"
)
WANT_FILLERS = _words(
    "a an the real live actual human me us your some proper genuine for one "
    "of customer service damn freaking fucking bloody effing frigging goddamn"
)
# Adjectives that make a person "real": "a proper human", "an actual person".
REAL_WORDS: Tuple[str, ...] = (
    "real",
    "actual",
    "proper",
    "genuine",
    "live",
    "living",
    "irl",
)
# Verbs a wanted person does for the user: "can someone call me back".
PERSON_DOES: Tuple[str, ...] = ("call", "contact", "ring", "phone", "email", "text")
PERSON_HELPS = _words("help assist handle answer look review check take")
PERSON_HELPS_WHOM = _words("me us at into this my over it")
# "a colleague of yours could look into it", "would a staff member be able to
# take over".
PERSON_HELPS_GAP = _words("please just of yours could can will would to be able")
# Between a person and what they do for the user: "a member of your support
# team contact me", "someone from your company call me".
PERSON_DOES_GAP = _words(
    "please just of from at in on your the our you support company team staff "
    "customer service tech technical to member"
)
HELP_NOUNS: Tuple[str, ...] = (
    "help",
    "assistance",
    "support",
    "answer",
    "reply",
    "callback",
)
# Where a person is asked to be: "is somebody available", "are there any
# humans working today", "any humans in the building?".
PRESENT_WORDS = _words("available around online free work")
# Dismissing the bot: "bot, step aside", "robot go away".
DISMISS_VERBS = _words("step go move stand back")
DISMISS_PARTICLES = _words("aside away up down off")
# What an automated answer is called: "no more automated replies".
AUTOMATED_WORDS = _words("automated canned scripted robotic generic")
REPLY_WORDS = _words("reply response answer message")
# Verbs of booking a talk: "can I book a call with your support team".
BOOK_VERBS = _words("book schedule arrange set request")
TALK_NOUNS = _words("call meeting appointment session chat")
# Past tense of a verb of speaking tells what happened, not what is wanted:
# "I already spoke with a person".
PAST_SPEAKING = _words("spoke spoken talked chatted discussed dealt")
# Asking how to reach a team: "the number for customer service".
CONTACT_NOUNS = _words("number hotline phone email")
CONTACT_PERSONS = _words("agent human representative rep operator")
# Refusing the bot: a negation, then only these words, then a bot word.
NEGATIONS: Tuple[str, ...] = ("not", "never", "no", "without")
REFUSAL_GAP = _words(
    "want need like wish to talk speak chat with a an the this your some "
    "stupid dumb automated more another deal any interested in be do just "
    "damn freaking fucking go going gonna explain it type write all"
)
REFUSAL_VERBS = _words(
    "stop skip bypass quit enough done tired sick fed hate avoid escape ditch exit end "
    "out"
)
REFUSAL_VERB_GAP = _words(
    "of with this the your a talk to chat speak deal stupid dumb useless "
    "automated damn up freaking fucking these"
)
# Business functions other than support: "talk to sales" is not a handover (a
# documented choice: bots usually run their own flow for these).
NON_SUPPORT_FUNCTIONS = _words(
    "sales salesperson salesman marketing press media partnership partner "
    "recruiter recruiting hr career investor resource advertising advertise "
    "advertiser sponsorship sponsor affiliate supplier vendor journalist"
)
# Words after a person word that make it someone else: "human resources",
# "human rights", "agent orange", "person of interest".
NOT_US_AFTER = _words(
    "resource right error body nature race trafficking history anatomy "
    "interest string orange smith"
)
# Possessives close before a person word make it someone else's ("talk to my
# travel agent").
POSSESSIVES = _words("my his her their our")
# ... unless the person is one of ours: "my account manager", "my usual agent".
OUR_ROLES = _words("account relationship personal dedicated usual regular assigned")
# Words before a person word that make it someone else: "my travel agent",
# "user agent", "in person", "per person", "first person".
NOT_US_BEFORE = _words(
    "my his her their our travel estate insurance user secret free in per "
    "first third missing smooth every average other another each family public"
)
# Openings that ask about the bot ("are you a human?", "am I talking
# to a real person?"): in normalised forms ("are" -> "be").
IDENTITY_OPENINGS: Tuple[Tuple[str, ...], ...] = tuple(
    tuple(opening.split("_"))
    # the last three ask about someone else: "he is an awful human being"
    for opening in _words("be_you you_be be_this be_that be_it be_i be_we have_i_be")
    + _words("you_a he_be she_be they_be")
)
# Words that make a statement-order opening a question: "tell me if you're".
EMBEDDING_WORDS = _words("if whether know sure wonder tell could can would will might")
# Words after a comma that start a new request, ending an identity question.
RESTART_WORDS = _words(
    "i let get give put connect transfer please just so then can could i'd"
)
# What may follow an identity opening for it to ask about the bot.
IDENTITY_FOLLOWERS = _words(
    "a an the real actual really actually even still just live currently "
    "now human person bot robot machine ai computer talk speak chat text "
    "message automated or true"
)
# "I'm not a robot" (3 words from the negation) describes the user; "I'm not
# talking to a machine" refuses the bot.
SELF_DESCRIPTION_WORDS = 3
# How many words after an identity question's opening still belong to it.
IDENTITY_REACH = 10
# "I'd like": "like" is a verb of wanting only after these.
WOULD = _words("would d 'd i we")
# Clause boundaries.
CLAUSE_ENDS: Tuple[str, ...] = (".", "?", "!", ";", "\n")
# Modal verbs whose "n't" asks rather than negates: "why can't I talk to a human".
ASKING_MODALS: Tuple[str, ...] = ("can", "could", "will", "would", "why", "wo")
# How far back from a match's first word a negation cancels it.
NEGATION_REACH = 3
# A message this short that names a person ("agent", "human pls") is a request.
SHORT_MESSAGE_WORDS = 3
# Longer messages are a request when every other word is one of these
# ("hello? human please now").
SHORT_MESSAGE_FILLERS = _words(
    "please now asap just a an the human real live actual hello hi hey ok "
    "okay i want need me get give can you be there any some one customer "
    "service support talk speak yes right immediately here around available "
    "online"
)
SHORT_MESSAGE_MAX_WORDS = 6

RULE_SPEAK = "speak_to_person"
RULE_TRANSFER = "transfer_to_person"
# "transfer me", "escalate this please": the whole clause is the request.
RULE_TRANSFER_BARE = "transfer_me"
BARE_TRANSFER_VERBS = _words("transfer connect escalate forward")
RULE_REACH = "reach_person"
RULE_WANT = "want_person"
RULE_PERSON_TO_TALK_TO = "person_to_talk_to"
RULE_REFUSES_BOT = "refuses_bot"
RULE_NAMED_PERSON = "names_a_person"
RULE_SHORT = "short_message"
# Rules that ask for someone to do something (identity questions keep them:
# "are you able to connect me to a human?").
_ACTION_RULES = frozenset(
    {RULE_TRANSFER, RULE_TRANSFER_BARE, RULE_REACH, RULE_REFUSES_BOT}
)

_TARGETS = PERSON_WORDS + VAGUE_PERSON_WORDS + TEAM_WORDS
VOCABULARY: FrozenSet[str] = vocabulary_of(
    _TARGETS,
    BOT_WORDS,
    SPEAK_VERBS,
    TRANSFER_VERBS,
    REACH_VERBS,
    PHONE_VERBS,
    WANT_VERBS,
    PERSON_DOES,
    PERSON_HELPS,
    HELP_NOUNS,
    REFUSAL_VERBS,
    NON_SUPPORT_FUNCTIONS,
    NOT_US_AFTER,
    PRESENT_WORDS,
    DISMISS_VERBS,
    REPLY_WORDS,
    BOOK_VERBS,
    TALK_NOUNS,
    CONTACT_NOUNS,
    ("know", "understand", "deal", "sort", "resolve", "solve"),
    ("customer", "please", "wish", "have", "be", "do", "being"),
)
# Long grammar words that one typo may be corrected to.
TYPO_TARGETS: FrozenSet[str] = frozenset(
    {
        "human",
        "person",
        "agent",
        "representative",
        "operator",
        "someone",
        "somebody",
        "anyone",
        "customer",
        "service",
        "support",
        "connect",
        "transfer",
        "supervisor",
        "employee",
        "manager",
        "advisor",
        "consultant",
        "specialist",
        "talk",
        "speak",
    }
)


# Every rule needs one of these words.
_ANCHORS = frozenset(
    _TARGETS
    + BOT_WORDS
    + REAL_WORDS
    + BARE_TRANSFER_VERBS
    + AUTOMATED_WORDS
    + ("flesh", "warm", "who")
)


@dataclass(frozen=True)
class RequestMatch:
    """A request for a person found in a text."""

    rule: str
    phrase: str


def _any(words: Sequence[str], op: Optional[str] = None) -> Dict[str, object]:
    pattern: Dict[str, object] = {"NORM": {"IN": list(words)}}
    if op:
        pattern["OP"] = op
    return pattern


def _gap(words: Optional[Sequence[str]], count: int) -> List[Dict[str, object]]:
    token: Dict[str, object] = (
        {"NORM": {"IN": list(words)}, "OP": "?"}
        if words is not None
        else {"IS_PUNCT": False, "OP": "?"}
    )
    return [token] * count


@lru_cache(maxsize=1)
def _matcher() -> Matcher:
    """The grammar's patterns, one `Matcher` rule per evidence `rule`."""
    matcher = Matcher(blank_english().vocab)
    _add_verb_rules(matcher)
    _add_person_rules(matcher)
    return matcher


def _add_verb_rules(matcher: Matcher) -> None:
    """Verbs of speaking, transferring, reaching, wanting; a person to talk to."""
    target = _any(_TARGETS)
    person = _any(PERSON_WORDS)
    to = _any(("to", "with"))
    matcher.add(
        RULE_SPEAK,
        [
            [_any(SPEAK_VERBS), *_gap(None, 1), to, *_gap(None, 3), target],
            # "discuss my refund with a person"
            [{"NORM": "discuss"}, *_gap(None, 3), to, *_gap(None, 2), target],
        ],
    )
    matcher.add(
        RULE_TRANSFER,
        [
            [
                _any(TRANSFER_VERBS),
                *_gap(TRANSFER_OBJECTS, 3),
                _any(TRANSFER_PREPOSITIONS),
                *_gap(("to", "with"), 1),
                *_gap(None, 3),
                target,
            ]
        ],
    )
    matcher.add(
        RULE_TRANSFER_BARE,
        [[_any(BARE_TRANSFER_VERBS), *_gap(TRANSFER_OBJECTS, 3)]],
    )
    matcher.add(
        RULE_REACH,
        [
            [
                _any(REACH_VERBS),
                *_gap(("with", "of", "up", "a", "an", "the", "your"), 2),
                *_gap(None, 2),
                target,
            ],
            [{"NORM": "hold"}, {"NORM": "of"}, *_gap(None, 3), target],
            [
                _any(PHONE_VERBS),
                *_gap(WANT_FILLERS, 3),
                _any(PERSON_WORDS + TEAM_WORDS),
            ],
        ],
    )
    matcher.add(RULE_WANT, [[_any(WANT_VERBS), *_gap(WANT_FILLERS, 3), person]])
    matcher.add(
        RULE_PERSON_TO_TALK_TO,
        [
            [
                target,
                *_gap(("i", "we", "that", "who"), 1),
                _any(("can", "could", "to")),
                *_gap(("actually", "really", "just"), 1),
                _any(SPEAK_VERBS + REACH_VERBS + PHONE_VERBS),
            ],
            [
                _any(ASKING_WORDS),
                *_gap(WANT_FILLERS, 3),
                _any(PERSON_WORDS + VAGUE_PERSON_WORDS),
                *_gap(PERSON_DOES_GAP, 4),
                _any(PERSON_DOES),
                *_gap(("me", "us"), 1),
                {"NORM": "back", "OP": "?"},
            ],
            [
                _any(PERSON_WORDS + VAGUE_PERSON_WORDS),
                *_gap(PERSON_DOES_GAP, 4),
                _any(("get", "be", "keep")),
                {"NORM": "in"},
                {"NORM": "touch"},
            ],
            # "get me somebody who can help", "can someone who knows the
            # system look at my account"
            [
                _any(WANT_VERBS),
                *_gap(WANT_FILLERS, 3),
                _any(VAGUE_PERSON_WORDS),
                _any(("who", "that")),
                *_gap(("can", "could", "will", "actually", "really"), 2),
                _any((*PERSON_HELPS, "know", "understand")),
            ],
            [
                _any(ASKING_WORDS),
                *_gap(WANT_FILLERS, 2),
                _any(PERSON_WORDS + VAGUE_PERSON_WORDS),
                _any(("who", "that")),
                *_gap(None, 4),
                _any(PERSON_HELPS),
                _any(PERSON_HELPS_WHOM),
            ],
            # "I'd like this handled by a person"
            [
                _any((*PERSON_HELPS, "deal", "sort", "resolve", "solve", "do")),
                *_gap(("over", "at", "into", "care", "of", "out", "with"), 2),
                {"NORM": "by"},
                *_gap(WANT_FILLERS, 3),
                person,
            ],
            # "who can I talk to about this?"
            [
                {"NORM": "who"},
                _any(("can", "could", "should", "do", "may")),
                _any(("i", "we")),
                *_gap(("actually", "just", "then"), 1),
                _any(SPEAK_VERBS + REACH_VERBS),
            ],
            # "is somebody available?", "are there any humans working today?"
            [
                _any(("be", "there", "any", "do")),
                *_gap(
                    ("there", "be", "any", "a", "an", "some", "real", "actual", "live"),
                    2,
                ),
                _any(PERSON_WORDS + VAGUE_PERSON_WORDS),
                *_gap(("actually", "really", "even", "still", "currently"), 1),
                _any(PRESENT_WORDS),
            ],
            # "put a person on the line"
            [
                _any(("put", "get")),
                *_gap((*WANT_FILLERS, "warm"), 3),
                _any((*_TARGETS, "body")),
                {"NORM": "on"},
                *_gap(("the", "a"), 1),
                _any(("line", "phone")),
            ],
            [
                person,
                *_gap(PERSON_HELPS_GAP, 3),
                _any(PERSON_HELPS),
                _any(PERSON_HELPS_WHOM),
            ],
            [_any(HELP_NOUNS), {"NORM": "from"}, *_gap(WANT_FILLERS, 2), person],
            # "what's the number for customer service?"
            [
                _any(CONTACT_NOUNS),
                _any(("for", "of", "to")),
                *_gap(WANT_FILLERS + TEAM_QUALIFIERS, 2),
                _any(TEAM_WORDS + CONTACT_PERSONS),
            ],
            # "can I book a call with your support team"
            [
                _any(BOOK_VERBS),
                *_gap(("a", "an", "up", "me", "us", "in"), 2),
                _any(TALK_NOUNS),
                {"NORM": "with"},
                *_gap(None, 3),
                target,
            ],
        ],
    )


def _add_person_rules(matcher: Matcher) -> None:
    """A refused bot, a person named on its own."""
    bot = _any(BOT_WORDS)
    matcher.add(
        RULE_REFUSES_BOT,
        [
            [_any(NEGATIONS), *_gap(REFUSAL_GAP, 6), bot],
            [_any(REFUSAL_VERBS), *_gap(REFUSAL_VERB_GAP, 4), bot],
            [bot, *_gap((",",), 1), _any(DISMISS_VERBS), _any(DISMISS_PARTICLES)],
            [
                _any(("no", "stop", "enough")),
                *_gap(("more", "with", "the", "these", "those", "of", "your"), 2),
                _any(AUTOMATED_WORDS),
                _any(REPLY_WORDS),
            ],
        ],
    )
    real = _any(REAL_WORDS)
    matcher.add(
        RULE_NAMED_PERSON,
        [
            [
                real,
                {"NORM": "life", "OP": "?"},
                _any(
                    (
                        "human",
                        "person",
                        "agent",
                        "being",
                        "one",
                        "rep",
                        "representative",
                    )
                ),
            ],
            [
                {"NORM": "human"},
                _any(
                    (
                        "being",
                        "agent",
                        "rep",
                        "representative",
                        "operator",
                        "help",
                        "assistance",
                        "support",
                        "contact",
                        "interaction",
                    )
                ),
            ],
            [
                _any(TEAM_QUALIFIERS),
                _any(TEAM_WORDS),
                _any(
                    (
                        "rep",
                        "representative",
                        "agent",
                        "person",
                        "staff",
                        "team",
                        "advisor",
                        "specialist",
                        "employee",
                        "member",
                        *CONTACT_NOUNS,
                    )
                ),
            ],
            [
                {"NORM": "live"},
                _any(("chat", "support", "help", "operator", "assistance")),
            ],
            [{"NORM": "flesh"}, {"NORM": "and"}, {"NORM": "blood"}],
            [_any(VAGUE_PERSON_WORDS), real],
            [
                _any(PERSON_WORDS + VAGUE_PERSON_WORDS),
                {"NORM": "with"},
                {"NORM": "a"},
                {"NORM": "pulse"},
            ],
            [{"NORM": "warm"}, {"NORM": "body"}],
            [
                _any(PERSON_WORDS + VAGUE_PERSON_WORDS),
                _any(("from", "in", "at", "of", "on")),
                *_gap(None, 2),
                _any(TEAM_WORDS),
            ],
        ],
    )


def _clauses(doc: Doc) -> List[Tuple[int, int]]:
    spans, start = [], 0
    for token in doc:
        if token.text in CLAUSE_ENDS or (not token.text.strip() and "\n" in token.text):
            if token.i > start:
                spans.append((start, token.i))
            start = token.i + 1
    if start < len(doc):
        spans.append((start, len(doc)))
    return spans


def _identity_questions(
    forms: List[str], start: int, end: int, asked: bool
) -> List[Tuple[int, int]]:
    """Where the clause asks what the bot is, as (first, last) indices.

    "are you a human?", "tell me if you're a real person", "am I talking to a
    bot". In statement order ("you're a bot") it is a question only after "if",
    "whether"... or before a question mark (`asked`): "you're a bot, I need a
    human" still asks for one. A question ends `IDENTITY_REACH` words on, or at
    a comma that starts a new request ("are you a bot, I want a human").
    """
    words = [i for i in range(start, end) if forms[i].isalnum()]
    found = []
    for n, i in enumerate(words):
        for opening in IDENTITY_OPENINGS:
            following = [forms[j] for j in words[n : n + len(opening) + 1]]
            if (
                tuple(following[: len(opening)]) != opening
                or len(following) <= len(opening)
                or following[-1] not in IDENTITY_FOLLOWERS
            ):
                continue
            embedded = any(
                forms[j] in EMBEDDING_WORDS for j in words[max(0, n - 3) : n]
            )
            if opening[0] == "you" and not (asked or embedded):
                continue
            last = min(i + IDENTITY_REACH, end - 1)
            restart = next(
                (
                    c
                    for c in range(i, last)
                    if forms[c] == "," and forms[c + 1] in RESTART_WORDS
                ),
                last,
            )
            found.append((i, restart))
    return found


def _about_bot(questions: List[Tuple[int, int]], start: int) -> bool:
    """Whether a match starting at `start` is part of an identity question."""
    return any(first <= start <= last for first, last in questions)


def _negated(forms: List[str], start: int, clause_start: int) -> bool:
    window = range(max(clause_start, start - NEGATION_REACH), start)
    commas = [i for i in window if forms[i] == ","]
    if commas:  # "it hasn't arrived, put me through": the negation is behind
        window = range(commas[-1] + 1, start)
    for i in window:
        if forms[i] in ("not", "never", "without"):
            before = forms[i - 1] if i > clause_start else ""
            if forms[i] == "not" and before in ASKING_MODALS:
                continue
            return True
        if (
            forms[i] == "no"
            and i + 1 < len(forms)
            and (i + 1 == start or forms[i + 1] in ("need", "more", "longer"))
        ):
            return True
    return False


def _not_us(forms: List[str], start: int, end: int) -> bool:
    """Whether the person in forms[start:end] is someone else's, or not a person."""
    for i in range(start, end):
        if forms[i] not in _TARGETS:
            continue
        before = forms[i - 1] if i > 0 else ""
        after = forms[i + 1] if i + 1 < len(forms) else ""
        if before in NOT_US_BEFORE or after in NOT_US_AFTER:
            return True
        if _someone_elses(forms, max(start, i - 3), i):
            return True
        if _simile(forms, i - 3, i):
            return True
    window = forms[start : min(len(forms), end + 3)]
    return any(word in NON_SUPPORT_FUNCTIONS for word in window)


def _someone_elses(forms: List[str], start: int, end: int) -> bool:
    """Whether a possessive makes the person someone else's ("my travel agent").

    "my account manager" and "my usual agent" work for us.
    """
    for k in range(start, end):
        if forms[k] in POSSESSIVES and forms[k + 1] not in OUR_ROLES:
            return True
    return False


def _simile(forms: List[str], start: int, end: int) -> bool:
    """Whether "like" compares ("think like a real person", not "I'd like one")."""
    return any(
        forms[k] == "like" and (k == 0 or forms[k - 1] not in WOULD)
        for k in range(max(start, 0), end)
    )


def _self_description(forms: List[str], start: int, end: int) -> bool:
    """Whether the user speaks about themselves ("I'm not a robot")."""
    before = forms[max(0, start - 2) : start]
    return (
        forms[start] in NEGATIONS
        and end - start <= SELF_DESCRIPTION_WORDS
        and "i" in before
        and "be" in before
    )


def _short_request(forms: List[str], start: int, end: int) -> Optional[int]:
    """The index of the person in a stretch that is little more than a person.

    "agent", "human pls", "customer service!"; `None` when there is none.
    """
    indices = [i for i in range(start, end) if forms[i].isalnum()]
    words = [forms[i] for i in indices]
    if not words or len(words) > SHORT_MESSAGE_MAX_WORDS:
        return None
    if any(word in NEGATIONS for word in words):
        return None
    found = [
        i
        for n, i in enumerate(indices)
        if (forms[i] in PERSON_WORDS and forms[i] not in NOT_ON_THEIR_OWN)
        or (n and forms[i] in TEAM_WORDS and words[n - 1] in TEAM_QUALIFIERS)
    ]
    if not found:
        return None
    others = [forms[i] for i in indices if i not in found]
    if len(words) <= SHORT_MESSAGE_WORDS or all(
        w in SHORT_MESSAGE_FILLERS for w in others
    ):
        return found[0]
    return None


def find_explicit_request(text: str) -> Optional[RequestMatch]:
    """Finds a request for a person in `text`.

    Returns:
        The rule that matched and the matched words (as written), or `None`.

    """
    return _scan(text)[0]


def declines_a_person(text: str) -> bool:
    """Whether `text` says it does not want a person ("I don't need an agent").

    NLU may still read such a turn as the explicit-request intent (the words
    are those of a request); the intent alone then does not hand over.
    """
    found, negated = _scan(text)
    return found is None and negated


@lru_cache(maxsize=4096)
def _scan(text: str) -> Tuple[Optional[RequestMatch], bool]:
    """The request found in `text` (or `None`), and whether one was negated."""
    if not text or not text.strip():
        return None, False
    doc = blank_english()(text)
    forms = normalise_doc(doc, VOCABULARY, TYPO_TARGETS)
    if _ANCHORS.isdisjoint(forms):
        return None, False  # every rule needs one of these words: skip the matcher
    matches = sorted(_matcher()(doc), key=lambda m: (m[1], -m[2]))
    asks_about_bot = False
    negated = False
    for clause_start, clause_end in _clauses(doc):
        asked = clause_end < len(doc) and doc[clause_end].text == "?"
        questions = _identity_questions(forms, clause_start, clause_end, asked)
        asks_about_bot = asks_about_bot or bool(questions)
        for match_id, start, end in matches:
            if start < clause_start or end > clause_end:
                continue
            rule = doc.vocab.strings[match_id]
            if rule not in _ACTION_RULES and _about_bot(questions, start):
                continue
            if doc[start].lower_ in PAST_SPEAKING:
                continue  # "I already spoke with a person": what happened
            if rule == RULE_REFUSES_BOT:
                if _self_description(forms, start, end):
                    continue
            elif _negated(forms, start, clause_start):
                negated = True
                continue
            elif _not_us(forms, start, end):
                continue
            if rule == RULE_TRANSFER_BARE and not _bare_transfer(
                forms, start, end, clause_end
            ):
                continue
            if (
                rule == RULE_WANT
                and forms[start] == "like"
                and (start == 0 or forms[start - 1] not in WOULD)
            ):
                continue
            return RequestMatch(rule, doc[start:end].text), negated
    if asks_about_bot:
        return None, negated
    for start, end in [(0, len(doc)), *_segments(doc)]:
        index = _short_request(forms, start, end)
        if index is not None and not _not_us(forms, start, end):
            return RequestMatch(RULE_SHORT, doc[index].text), negated
    return None, negated


def _bare_transfer(forms: List[str], start: int, end: int, clause_end: int) -> bool:
    """Whether the clause is "transfer me", "escalate this" (not "transfer $50")."""
    rest = [w for w in forms[end:clause_end] if w.isalnum()]
    if any(w not in TRANSFER_OBJECTS for w in rest):
        return False
    return forms[start] == "escalate" or bool({"me", "us"} & set(forms[start:end]))


def _segments(doc: Doc) -> List[Tuple[int, int]]:
    """Stretches between punctuation: "bot is useless, human please"."""
    bounds = [-1, *(t.i for t in doc if t.is_punct), len(doc)]
    return [(a + 1, b) for a, b in zip(bounds, bounds[1:]) if b > a + 1]


def match_explicit_request(text: str) -> Optional[str]:
    """The words of `text` that ask for a person ("speak to the agent"), or `None`.

    `find_explicit_request` also names the rule that matched.
    """
    found = find_explicit_request(text)
    return None if found is None else found.phrase


def check_explicit_request(
    view: ConversationView,
    settings: HandoverSettings,
    thresholds: Optional[Thresholds] = None,
) -> Optional[Decision]:
    """Checks whether the latest user message asks for a person.

    Args:
        view: The conversation.
        settings: `explicit_request_intents` and `explicit_request_phrases`.
        thresholds: The intent's confidence floor (default: the settings' own).

    Returns:
        A decision whose evidence names the intent (and confidence) or the
        matched phrase and the grammar `rule` that found it; or `None`.

    """
    turn = view.latest_turn
    if turn is None:
        return None
    evidence = {
        "intent": turn.intent,
        "confidence": turn.confidence,
        "text": turn.text,
    }
    # "that's super helpful" read as `human_handoff`: a content-free turn has
    # no request in it (and never a word for a person: `is_content_free`);
    # "I don't need an agent, just tell me ..." declines one.
    if (
        turn.intent in settings.explicit_request_intents
        and not is_content_free(turn.text or "")
        and not declines_a_person(turn.text or "")
        and _sure_enough(turn.intent, turn.confidence, settings, thresholds)
    ):
        return Decision(
            REASON_EXPLICIT_REQUEST,
            settings.handover_action,
            {**evidence, "matched": "intent"},
            turn.index,
        )
    if settings.explicit_request_phrases:
        found = find_explicit_request(turn.text)
        if found is not None:
            return Decision(
                REASON_EXPLICIT_REQUEST,
                settings.handover_action,
                {
                    **evidence,
                    "matched": "phrase",
                    "phrase": found.phrase,
                    "rule": found.rule,
                },
                turn.index,
            )
    return None


def _sure_enough(
    intent: str,
    confidence: Optional[float],
    settings: HandoverSettings,
    thresholds: Optional[Thresholds],
) -> bool:
    """Whether NLU's confidence reaches the intent's floor (no score: trusted)."""
    if confidence is None:
        return True
    floor = table_for(settings, thresholds).for_intent(intent, False).confidence_floor
    return confidence >= floor
