"""Frustration signals found in one user message.

Each detector looks at a single message and reports at most one piece of
evidence: the words an agent would point at to explain why the bot thinks the
user is annoyed. The policy decides what the signals mean together; this module
only finds them.

Everything here runs offline. spaCy is used as a tokenizer only
(``spacy.blank("en")``), rules are spaCy ``Matcher``/``PhraseMatcher`` patterns,
the profanity vocabulary is the word list shipped inside the ``better_profanity``
wheel and the sentiment score comes from VADER, whose lexicon ships inside its
wheel too. The module imports nothing from Rasa or Sanic so that it can be unit
tested and benchmarked on its own.

Building the tokenizer and matchers takes about a second (importing spaCy pulls
in thinc and, where installed, TensorFlow), so it happens lazily on the first
call and only once. Results are cached per message because the policy looks at
the same recent messages again on every prediction.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import re
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Collection,
    Dict,
    FrozenSet,
    Iterable,
    List,
    Tuple,
)

from rasa_handover.constants import (
    ALL_SIGNALS,
    SIGNAL_EXASPERATION,
    SIGNAL_NEGATIVE_SENTIMENT,
    SIGNAL_PROFANITY,
    SIGNAL_PUNCTUATION_BURST,
    SIGNAL_REPEATED_NEGATION,
    SIGNAL_SHOUTING,
)

if TYPE_CHECKING:  # pragma: no cover - imported lazily at run time
    from spacy.language import Language
    from spacy.matcher import Matcher, PhraseMatcher
    from spacy.tokens import Doc, Token

__all__ = [
    "CORRECTION_PHRASES_FILE",
    "DEFAULT_NEGATIVE_SENTIMENT_THRESHOLD",
    "DETECT_CACHE_SIZE",
    "EXASPERATION_PHRASES_FILE",
    "EXTRA_PROFANITY",
    "IDENTIFIER_CHARS",
    "LEADING_NEGATION_WINDOW",
    "LEADING_NEGATION_WORDS",
    "NEGATION_COURTESY_WORDS",
    "NEGATION_WORDS",
    "PROFANITY_EXCLUSIONS",
    "PUNCTUATION_BURST_MIN_LENGTH",
    "REPEATED_NEGATION_MIN_COUNT",
    "SENTIMENT_CACHE_SIZE",
    "SENTIMENT_EVIDENCE_MAX_CHARS",
    "SHOUTING_ACRONYMS",
    "SHOUTING_MIN_SHARE",
    "SHOUTING_MIN_WORDS",
    "SHOUTING_MIN_WORD_LENGTH",
    "SHOUTING_WORDS_ALWAYS",
    "Signal",
    "detect_signals",
    "sentiment_score",
]

# --- Thresholds and word lists. -----------------------------------------------

# VADER's compound score runs from -1 to 1. Its authors call anything below
# -0.05 negative, which would flag every complaint ("I can't log in" is 0.0,
# "I want to cancel my account" is -0.18); -0.6 needs clearly hostile or
# distressed wording ("Worst service ever" is -0.63).
DEFAULT_NEGATIVE_SENTIMENT_THRESHOLD = -0.6
# The message excerpt reported as evidence for negative sentiment: enough for an
# agent to see the tone without pasting a whole essay into the inbox.
SENTIMENT_EVIDENCE_MAX_CHARS = 120

# A one-letter capital ("I", "A") is ordinary writing, not shouting.
SHOUTING_MIN_WORD_LENGTH = 2
# One capitalised word is emphasis ("I need it NOW please"); two that make up
# at least half of the message are a raised voice ("STOP IT").
SHOUTING_MIN_WORDS = 2
SHOUTING_MIN_SHARE = 0.5
# Three shouted words are shouting even inside a longer, calmer message.
SHOUTING_WORDS_ALWAYS = 3
# Upper-case words that are normally written that way and so are not shouting
# on their own (they still count inside a shout, see `_shouting`).
# fmt: off
SHOUTING_ACRONYMS: FrozenSet[str] = frozenset(
    {
        # Support and account vocabulary.
        "OK", "ID", "PIN", "PUK", "OTP", "MFA", "SSO", "2FA", "FAQ", "URL", "PDF",
        "CSV", "SMS", "MMS", "VPN", "API", "IT", "TV", "PC", "ATM", "IBAN", "BIC",
        "SWIFT", "SEPA", "ACH", "APR", "VAT", "GDPR", "SKU", "ETA", "ASAP", "DM",
        "FYI", "IOS", "CEO", "CFO", "CTO", "HR", "PR", "QA", "IMEI", "SIM", "USB",
        "GPS", "DVD", "CD", "LED", "LCD", "HD", "HDMI", "WIFI", "IP", "DNS", "ISP",
        "SSL", "HTTP", "HTTPS", "WWW", "HTML", "JSON", "XML", "SQL", "JPG", "JPEG",
        "PNG", "GIF", "ZIP", "APK", "OS", "MAC", "AI", "UI", "UX", "CRM", "ERP",
        "SSN", "DOB", "EIN", "IRA", "NHS", "IRS", "HMRC", "PO", "UPS", "DHL",
        "USPS", "TNT", "RMA", "TOS", "TBC", "TBD", "RSVP", "NB", "PS", "AKA",
        "IE", "EG", "BTW", "IMO", "IMHO", "TBH", "LOL", "XS", "XL", "XXL", "XXXL",
        "XXS", "ER", "ICU", "MRI", "GP", "MD", "PHD", "MBA", "LTD", "PLC", "INC",
        "LLC", "MR", "MRS", "MS", "DR", "ST", "RD", "AVE",
        # Places and currencies.
        "US", "USA", "UK", "EU", "UN", "UAE", "NYC", "LA", "DC", "AM", "PM",
        "USD", "EUR", "GBP", "AUD", "CAD", "CHF", "JPY", "INR", "GMT", "UTC",
        "CET", "BST", "EST", "PST", "CST", "ET", "PT",
    }
)
# fmt: on
# A whitespace-separated chunk that contains a digit or one of these characters
# inside it is an identifier (order number, voucher code, e-mail, URL, AT&T),
# so its capitals are not shouting: "ORD-ABCD-1182", "XJ7KP".
IDENTIFIER_CHARS = "-_/#@.:&+=\\"

# "why???" and "hello!!!" but not "Thanks!" or "Is it ready?"; a mixed pair such
# as "?!" is always a burst because it is the written form of disbelief.
PUNCTUATION_BURST_MIN_LENGTH = 3

# Words that say "no" on their own; elongated forms ("nooo") count too.
NEGATION_WORDS: Tuple[str, ...] = ("no", "nope", "nah")
# A message that opens with one of these and then corrects the bot ("Nope,
# that's not what I asked") says no twice over.
LEADING_NEGATION_WORDS: Tuple[str, ...] = (*NEGATION_WORDS, "wrong", "incorrect")
# How many words into the message the leading negation may stand ("Hmm, no, ...",
# "Oh no, that's not it").
LEADING_NEGATION_WINDOW = 3
# "no" twice is insisting ("no no", "No! I said no!").
REPEATED_NEGATION_MIN_COUNT = 2
# A "no" followed by one of these is politeness or a plain answer, not
# insistence: "No, no problem", "no thanks", "No, I have no idea".
# fmt: off
NEGATION_COURTESY_WORDS: FrozenSet[str] = frozenset(
    {
        "problem", "problems", "prob", "probs", "worries", "worry", "thanks",
        "thank", "thx", "rush", "hurry", "need", "idea", "issue", "issues",
        "bother", "biggie", "stress", "pressure",
    }
)
# fmt: on

# Entries of better_profanity's word list that are not profanity in a support
# chat. That list was built to censor user-generated content, so it flags
# anatomy, sex education, drugs, identities and plain English words; matching
# any of them would hand a pharmacy, clothing or hardware-store customer to an
# agent as "swearing". Each group says why it is excluded. Swear words, sexual
# slang and slurs stay in.
# fmt: off
PROFANITY_EXCLUSIONS: FrozenSet[str] = frozenset(
    {
        # Ordinary words with an everyday meaning in support or retail.
        "screw", "screwed", "screwing", "strip", "strip club", "stripclub",
        "stroke", "thrust", "flange", "knob", "organ", "oral", "orally", "pot",
        "weed", "hemp", "pawn", "slave", "slope", "snatch", "snuff", "revue",
        "sandbar", "seaman", "seamen", "maxi", "loin", "loins", "lube", "rump",
        "wad", "whiz", "hooker", "toots", "tramp", "facial", "fat", "fingering",
        "fisted", "dummy", "dopey", "drunk", "erect", "erection", "enlargement",
        "penetrate", "penetration", "hump", "humped", "humping", "muff", "nappy",
        "pastie", "pasty", "pantie", "panties", "panty", "undies", "wedgie",
        "crotch", "homey", "hoar", "hooter", "hooters", "xx", "xxx", "len",
        "foobar", "quicky", "scantily", "racy", "steamy", "kinky", "spick",
        "chink", "niggle", "dink", "dinks", "doggin", "dogging", "cow girl",
        "cow girls", "cowgirl", "cowgirls", "souse", "soused", "sleaze",
        "sleazy", "cum", "cock", "cocks", "shag", "jerk", "jerked", "teste",
        "testee", "spac", "pms", "tit", "titi", "tush", "ugly", "unwed", "trashy",
        "vulgar", "weirdo", "thug", "prig", "prude", "puss", "punky", "pimp",
        "bestial", "leper", "suck", "sucked", "sucking", "stupid", "junkie",
        "junky", "playboy", "virgin", "vixen", "dong",
        # Given names and surnames ("Dickens" is one token already, "Dick" is
        # a name; the insults dickhead & co stay in).
        "dick", "wang", "weiner", "willy", "willies", "woody", "yury", "asanchez",
        "guido", "paddy", "massa", "hebe", "arian", "pollock", "nimrod", "kock",
        "kum", "gai", "gae", "gey", "frigg", "frigga", "fanny", "dyke", "dykes",
        "cipa",
        # Anatomy, health and sex education: a pharmacy or clinic bot hears
        # these from customers describing symptoms.
        "anal", "anus", "areole", "breasts", "clitoris", "foreskin", "glans",
        "gonad", "gonads", "hymen", "labia", "nipple", "nipples", "ovary", "ovum",
        "ovums", "penis", "penial", "penile", "phalli", "phallic", "pube",
        "pubic", "pubis", "rectal", "rectum", "rectus", "scrotum", "semen",
        "sperm", "testes", "testis", "testicle", "testical", "uterus", "vagina",
        "vulva", "womb", "menses", "menstruate", "menstruation", "tampon",
        "urinal", "urine", "vomit", "pee", "peepee", "poop", "potty", "tinkle",
        "teat", "smegma", "hiv", "herp", "herpes", "herpy", "ejaculate",
        "ejaculated", "ejaculates", "ejaculating", "ejaculation", "kondum",
        "kondums", "nad", "nads", "sex", "sexual", "naked", "nude", "nudes",
        "erotic", "erotism", "auto erotic", "autoerotic", "homoerotic", "bdsm",
        "bondage", "fondle", "lust", "lusting", "lusty", "seduce", "smut",
        "smutty", "voyeur", "masochist", "sadism", "sadist", "perversion",
        "prostitute", "gigolo",
        # Identities: describing oneself is not swearing.
        "gay", "gays", "queer", "queers", "lesbians", "homo", "transsexual",
        "negro", "gringo", "coon",
        # Medicines, drugs and drinks, which pharmacies and shops sell or
        # customers mention in passing.
        "viagra", "v14gra", "v1gra", "valium", "heroin", "meth", "opiate",
        "opium", "peyote", "pcp", "ganja", "reefer", "toke", "stoned", "extacy",
        "extasy", "scag", "skag", "hooch", "hootch", "hookah", "rum", "vodka",
        # Violence, crime and history: topics, not swearing ("kill the app",
        # "a murder mystery", "a book about Hitler").
        "kill", "murder", "howtokill", "howtomurdep", "napalm", "sniper", "uzi",
        "rape", "raped", "raper", "raping", "rapist", "molest", "incest",
        "pedophile", "pedophilia", "pedophiliac", "hitler", "nazi", "nazism",
        "reich", "kkk", "klan", "sodom",
        # Interjections that carry no swearing: "oh my god", "lmao". Exasperation
        # covers "omg" and "for god's sake".
        "god", "omg", "lmao", "lmfao",
    }
)
# fmt: on
# Common swearing that better_profanity's list lacks.
EXTRA_PROFANITY: Tuple[str, ...] = (
    "crappy",
    "dammit",
    "damnit",
    "fck",
    "fcking",
    "clusterfuck",
    "shitshow",
    "fuckery",
    "fuckwits",
    "assholes",
)

# The phrase lists live next to this module so that they can be reviewed and
# extended without touching code.
_DATA_DIR = Path(__file__).resolve().parent / "data"
EXASPERATION_PHRASES_FILE = _DATA_DIR / "exasperation_phrases.txt"
CORRECTION_PHRASES_FILE = _DATA_DIR / "correction_phrases.txt"

# The policy asks about the same handful of recent messages on every
# prediction; a few thousand entries cover many concurrent conversations while
# staying a few megabytes at most.
DETECT_CACHE_SIZE = 4096
SENTIMENT_CACHE_SIZE = 4096

# --- Internals. ----------------------------------------------------------------

_PROFANITY_WORDLIST_NAME = "profanity_wordlist.txt"
_STAR = "*"
# Apostrophe look-alikes that phones and word processors insert. Replacing them
# one character for one keeps every offset valid for the original text.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_NEGATION_RE = re.compile(r"^(?:no+|no+pe+|na+h+)$")
_PUNCTUATION_RUN_RE = re.compile(r"[!?\uff01\uff1f\u203d\u2048\u2049]+")
_QUESTION_MARKS = frozenset("?\uff1f")
_EXCLAMATION_MARKS = frozenset("!\uff01")
# "‽", "⁈" and "⁉" are an interrobang on their own.
_INTERROBANGS = frozenset("\u203d\u2048\u2049")
_CHUNK_RE = re.compile(r"\S+")
_CHUNK_EDGE_RE = re.compile(r"^[\W_]+|[\W_]+$")
_DIGIT_RE = re.compile(r"\d")
# A censored swear word: a letter, then letters and at least one star. spaCy
# splits trailing stars off ("f***" -> "f", "*", "*", "*"), so a second rule
# glues a word to the stars that follow it.
_STARRED_TOKEN_PATTERN = r"^[^\W\d_](?:[^\W\d_]|\*)*\*(?:[^\W\d_]|\*)*$"
_STARRED_HEAD_PATTERN = r"^[^\W\d_]+$"
_STARRED_INNER = "starred_inner"
_STARRED_TRAILING = "starred_trailing"
# The signals that need the tokenizer; the others run on the raw text.
_TOKEN_SIGNALS = frozenset(
    {SIGNAL_SHOUTING, SIGNAL_PROFANITY, SIGNAL_EXASPERATION, SIGNAL_REPEATED_NEGATION}
)


@dataclass(frozen=True)
class Signal:
    """One frustration signal and the part of the message that shows it.

    Attributes:
        name: One of ``constants.ALL_SIGNALS``.
        text: The matched text exactly as it appears in the message; it always
            equals ``message[start:end]``, so it can be shown to an agent as
            evidence or highlighted in the transcript.
        start: Offset of the first character of ``text`` in the message.
        end: Offset one past the last character of ``text``.

    """

    name: str
    text: str
    start: int
    end: int


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


def _read_phrase_file(path: Path) -> Tuple[str, ...]:
    """Read one phrase a line, dropping comments and blank lines."""
    phrases: List[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        phrase = " ".join(line.split("#", 1)[0].split()).lower()
        if phrase:
            phrases.append(phrase)
    return tuple(dict.fromkeys(phrases))


def _with_apostrophe_variants(phrases: Iterable[str]) -> Tuple[str, ...]:
    """Add each phrase without its apostrophes, as hurried users type it.

    spaCy splits "youre" and "dont" just like "you're" and "don't" ("you" "re",
    "do" "nt"), so the variant needs no special handling beyond tokenizing it.
    """
    variants: List[str] = []
    for phrase in phrases:
        variants.append(phrase)
        if "'" in phrase:
            variants.append(phrase.replace("'", ""))
    return tuple(dict.fromkeys(variants))


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
    words = _read_phrase_file(wordlist) + EXTRA_PROFANITY
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
            _with_apostrophe_variants(_read_phrase_file(EXASPERATION_PHRASES_FILE)),
        ),
        corrections=_phrase_matcher(
            nlp,
            SIGNAL_REPEATED_NEGATION,
            _with_apostrophe_variants(_read_phrase_file(CORRECTION_PHRASES_FILE)),
        ),
    )


@functools.lru_cache(maxsize=None)
def _analyzer() -> Any:
    """Build VADER's analyser once; it loads its lexicon from its own wheel."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


@functools.lru_cache(maxsize=SENTIMENT_CACHE_SIZE)
def sentiment_score(text: str) -> float:
    """Score how negative or positive a message sounds.

    Args:
        text: One user message.

    Returns:
        VADER's compound score in [-1, 1]: below about -0.05 reads negative,
        above about 0.05 positive. An empty message scores 0.0.

    """
    if not text or not text.strip():
        return 0.0
    return float(_analyzer().polarity_scores(text)["compound"])


# --- Detectors. ------------------------------------------------------------------
# Each returns the (start, end) offsets of its evidence, or None. Token-based ones
# read the spaCy Doc of the apostrophe-normalised message, whose offsets are the
# original message's because the normalisation replaces character for character.

_Span = Tuple[int, int]


def _first_span(spans: Iterable[_Span]) -> _Span | None:
    """Pick the earliest span, and of those starting there the longest."""
    return min(spans, key=lambda span: (span[0], -span[1]), default=None)


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


def _shouting(doc: Doc) -> _Span | None:
    starts, is_identifier = _identifier_chunks(doc.text)
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
        if chunk >= 0 and is_identifier[chunk]:
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


def _profanity(engine: _Engine, doc: Doc) -> _Span | None:
    spans: List[_Span] = [
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
    return _first_span(spans)


def _exasperation(engine: _Engine, doc: Doc) -> _Span | None:
    return _first_span(
        (doc[start].idx, doc[end - 1].idx + len(doc[end - 1].text))
        for _key, start, end in engine.exasperation(doc)
    )


def _is_negation(token: Token) -> bool:
    return bool(_NEGATION_RE.match(token.lower_))


def _repeated_negation(engine: _Engine, doc: Doc) -> _Span | None:
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
    candidates: List[_Span] = []

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
        correction = _first_span(corrections)
        if correction is not None:
            candidates.append((opener.idx, correction[1]))
    return _first_span(candidates)


def _closes_clause(doc: Doc, token: Token) -> bool:
    """Tell whether ``token`` is followed by punctuation or the end of text."""
    following = token.i + 1
    return following >= len(doc) or bool(doc[following].is_punct)


def _punctuation_burst(text: str) -> _Span | None:
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


def _negative_sentiment(text: str, threshold: float) -> _Span | None:
    if sentiment_score(text) > threshold:
        return None
    start = len(text) - len(text.lstrip())
    end = min(len(text.rstrip()), start + SENTIMENT_EVIDENCE_MAX_CHARS)
    return start, end


# --- Public entry point. -------------------------------------------------------


def _validate_enabled(enabled: Collection[str]) -> Tuple[str, ...]:
    """Check ``enabled`` and return it as a hashable tuple in ALL_SIGNALS order."""
    if isinstance(enabled, str):
        # A bare string is a collection of characters; iterating it would report
        # "s" as an unknown signal, which helps nobody.
        raise ValueError(
            f"enabled must be a collection of signal names, not the string "
            f"{enabled!r}; did you mean ({enabled!r},)? Valid names: "
            f"{', '.join(ALL_SIGNALS)}."
        )
    names = list(enabled)
    unknown = [name for name in names if name not in ALL_SIGNALS]
    if unknown:
        raise ValueError(
            f"Unknown signal name(s) in enabled: "
            f"{', '.join(repr(name) for name in unknown)}. "
            f"Valid names: {', '.join(ALL_SIGNALS)}."
        )
    return tuple(name for name in ALL_SIGNALS if name in names)


def _validate_threshold(threshold: float) -> float:
    value = float(threshold)
    # Written so that NaN fails too.
    if not (-1.0 <= value <= 1.0) or math.isnan(value):
        raise ValueError(
            f"negative_sentiment_threshold must be between -1 and 1 (VADER's "
            f"compound score range), got {threshold!r}."
        )
    return value


def _detect_signals_uncached(
    text: str, enabled: Tuple[str, ...], threshold: float
) -> Tuple[Signal, ...]:
    """Run the enabled detectors on one message (no caching, no validation).

    Args:
        text: One user message.
        enabled: Validated signal names, in ``ALL_SIGNALS`` order.
        threshold: Validated negative-sentiment threshold.

    Returns:
        The signals found, in ``ALL_SIGNALS`` order.

    """
    if not text or not text.strip() or not enabled:
        return ()
    spans: Dict[str, _Span | None] = {}
    if _TOKEN_SIGNALS.intersection(enabled):
        engine = _engine()
        doc = engine.nlp.make_doc(text.translate(_APOSTROPHES))
        if SIGNAL_SHOUTING in enabled:
            spans[SIGNAL_SHOUTING] = _shouting(doc)
        if SIGNAL_PROFANITY in enabled:
            spans[SIGNAL_PROFANITY] = _profanity(engine, doc)
        if SIGNAL_EXASPERATION in enabled:
            spans[SIGNAL_EXASPERATION] = _exasperation(engine, doc)
        if SIGNAL_REPEATED_NEGATION in enabled:
            spans[SIGNAL_REPEATED_NEGATION] = _repeated_negation(engine, doc)
    if SIGNAL_PUNCTUATION_BURST in enabled:
        spans[SIGNAL_PUNCTUATION_BURST] = _punctuation_burst(text)
    if SIGNAL_NEGATIVE_SENTIMENT in enabled:
        spans[SIGNAL_NEGATIVE_SENTIMENT] = _negative_sentiment(text, threshold)
    signals: List[Signal] = []
    for name in ALL_SIGNALS:
        span = spans.get(name)
        if span is not None:
            start, end = span
            signals.append(Signal(name, text[start:end], start, end))
    return tuple(signals)


_detect_signals_cached = functools.lru_cache(maxsize=DETECT_CACHE_SIZE)(
    _detect_signals_uncached
)


def detect_signals(
    text: str,
    enabled: Collection[str] = ALL_SIGNALS,
    negative_sentiment_threshold: float = DEFAULT_NEGATIVE_SENTIMENT_THRESHOLD,
) -> Tuple[Signal, ...]:
    """Find the frustration signals in one user message.

    The rules, in ``ALL_SIGNALS`` order:

    * shouting: at least ``SHOUTING_MIN_WORDS`` all-capital words making up at
      least ``SHOUTING_MIN_SHARE`` of the message's words, or
      ``SHOUTING_WORDS_ALWAYS`` anywhere. Acronyms (``SHOUTING_ACRONYMS``),
      one-letter words and identifiers ("ORD-ABCD-1182") never count.
    * profanity: a whole word or phrase from better_profanity's list, less
      ``PROFANITY_EXCLUSIONS``, plus ``EXTRA_PROFANITY``; or a censored form of
      one ("f***ing", "sh*t").
    * exasperation: a phrase from ``EXASPERATION_PHRASES_FILE``.
    * repeated_negation: "no"/"nope"/"nah" said twice with emphasis ("No, no,
      ..."), or an opening no/wrong followed by a phrase from
      ``CORRECTION_PHRASES_FILE`` ("Nope, that's not what I asked").
    * punctuation_burst: ``PUNCTUATION_BURST_MIN_LENGTH`` or more "!"/"?" in a
      row, or a "?!"/"!?" pair.
    * negative_sentiment: VADER compound score at or below the threshold.

    Results are cached per (text, enabled, threshold), so calling this again
    for the same recent messages costs a dictionary lookup.

    Args:
        text: One user message, as typed. An empty message has no signals.
        enabled: The signal names to look for; the others are skipped (and cost
            nothing). Defaults to all of them.
        negative_sentiment_threshold: The VADER compound score at or below which
            a message counts as negative, between -1 and 1.

    Returns:
        At most one Signal per name, in ``ALL_SIGNALS`` order. Each carries the
        earliest (and, among those, longest) matching text, which always equals
        ``text[signal.start:signal.end]``.

    Raises:
        ValueError: If ``enabled`` holds a name that is not in ``ALL_SIGNALS``
            (or is a bare string), or the threshold is outside [-1, 1].

    """
    return _detect_signals_cached(
        text,
        _validate_enabled(enabled),
        _validate_threshold(negative_sentiment_threshold),
    )
