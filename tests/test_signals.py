"""Frustration signals in one user message (rasa_handover.signals)."""

import ast
import math
from pathlib import Path
from typing import Any, FrozenSet, Tuple

import pytest

from rasa_handover import signals
from rasa_handover.constants import (
    ALL_SIGNALS,
    SIGNAL_ANGRY_TONE,
    SIGNAL_COMPLAINT,
    SIGNAL_EXASPERATION,
    SIGNAL_NEGATIVE_SENTIMENT,
    SIGNAL_PROFANITY,
    SIGNAL_PUNCTUATION_BURST,
    SIGNAL_REPEATED_NEGATION,
    SIGNAL_SHOUTING,
)
from rasa_handover.signals import (
    CORRECTION_PHRASES_FILE,
    DEFAULT_NEGATIVE_SENTIMENT_THRESHOLD,
    EXASPERATION_PHRASES_FILE,
    PROFANITY_EXCLUSIONS,
    SENTIMENT_EVIDENCE_MAX_CHARS,
    Signal,
    detect_signals,
    learned,
    sentiment_score,
)

SHOUT = SIGNAL_SHOUTING
SWEAR = SIGNAL_PROFANITY
EXASP = SIGNAL_EXASPERATION
NEG = SIGNAL_REPEATED_NEGATION
BURST = SIGNAL_PUNCTUATION_BURST
SENT = SIGNAL_NEGATIVE_SENTIMENT
TONE = SIGNAL_ANGRY_TONE
# The rule signals (and VADER); the learned one has its own tests below, the
# complaint signal its own module (tests/test_complaint.py).
RULES = tuple(name for name in ALL_SIGNALS if name not in (TONE, SIGNAL_COMPLAINT))


def fired(text: str) -> FrozenSet[str]:
    return frozenset(signal.name for signal in detect_signals(text, RULES))


def case(text: str, *expected: str, id: str) -> Any:
    return pytest.param(text, frozenset(expected), id=id)


# Each case lists every signal the message raises with the default settings,
# so a rule that starts firing on an unrelated line shows up here too.
SHOUTING_CASES = [
    case("WHY IS THIS NOT WORKING", SHOUT, id="all-caps-question"),
    case("I SAID I WANT MY MONEY BACK", SHOUT, id="all-caps-demand"),
    case("HELP ME", SHOUT, id="two-shouted-words"),
    case(
        "no no no no, I want to SPEAK TO A HUMAN",
        SHOUT,
        NEG,
        id="three-shouted-words-in-longer-message",
    ),
    case("I AM ANGRY", SHOUT, id="acronym-inside-a-shout-counts"),
    case("HELP US", SHOUT, id="us-inside-a-shout-counts"),
    case("I need it NOW please", id="one-word-of-emphasis"),
    case("Please send the PDF ASAP", id="acronyms-alone-are-not-a-shout"),
    case("my IT team says the VPN and SSO are down", id="it-department"),
    case("I've been waiting 3 WEEKS for my REFUND", id="two-emphasised-in-long-line"),
    case("OK", id="ok-is-an-acronym"),
    case("I", id="single-letter"),
    case("STOP", id="single-caps-keyword"),
    case("My order ID is ORD-ABCD-1182", id="order-reference"),
    case("code XJ7KP", id="voucher-code-with-digit"),
    case("My postcode is SW1A 1AA", id="postcode"),
    case(
        "Please reset my PIN, my IBAN is DE89 3704 0044 0532 0130 00",
        id="pin-and-iban",
    ),
    case("Delivery ETA ASAP pls, FYI the PDF is attached", id="acronym-soup"),
    case("What is the SWIFT code?", id="swift-code"),
    case("Can I pay with a VISA card in the iOS app?", id="brand-in-caps"),
    case("wHY iS tHiS nOt WoRkInG", id="mocking-case-is-not-caps-lock"),
]

PROFANITY_CASES = [
    case("this is shit", SWEAR, id="shit"),
    case("what the fuck", SWEAR, id="fuck"),
    case("f***ing useless", SWEAR, EXASP, id="starred-fucking"),
    case("what the f***?", SWEAR, id="starred-trailing-stars"),
    case("b*llshit", SWEAR, id="starred-bullshit"),
    case("This app is f*cking useless!!!", SWEAR, EXASP, BURST, id="starred-typo"),
    case("Hell yeah, thanks!!!", SWEAR, BURST, id="hell-is-mild-swearing"),
    case("Scunthorpe", id="scunthorpe"),
    case("I live in Scunthorpe", id="scunthorpe-in-sentence"),
    case("assessment", id="assessment"),
    case("class", id="class"),
    case("hello", id="hello"),
    case("cocktail", id="cocktail"),
    case("Dickens", id="dickens"),
    case(
        "Can you assess my claim? It's about my cocktail bar in Middlesex",
        id="substrings-in-a-real-request",
    ),
    case("I got an A* in maths", id="starred-exam-grade"),
    case("The screw on the hinge is loose", id="screw-is-hardware"),
    case("I need a cream for an anal fissure", id="anatomy-is-not-swearing"),
    case("Is this product safe for gay couples?", id="identity-is-not-swearing"),
    case("My name is Dick Johnson", id="given-name"),
    case("Virgin Media router keeps dropping", id="brand-name"),
]

EXASPERATION_CASES = [
    case("this is ridiculous", EXASP, id="ridiculous"),
    case("you're not listening", EXASP, id="straight-apostrophe"),
    case("you\u2019re not listening", EXASP, id="curly-apostrophe"),
    case("youre not listening", EXASP, id="dropped-apostrophe"),
    case("ur not listening", EXASP, id="text-speak"),
    case("you dont understand", EXASP, id="dont-without-apostrophe"),
    case("I'm fed up with this, I already told you my order", EXASP, id="fed-up"),
    case("how many times do I have to say it", EXASP, id="how-many-times"),
    case("for gods sake", EXASP, id="for-gods-sake"),
    case("are you kidding me", EXASP, id="kidding"),
    case("This is a joke. Terrible service", EXASP, id="joke"),
    case("I give up", EXASP, id="give-up"),
    case("it was not helpful at all", EXASP, id="not-helpful"),
    case("Seriously?", EXASP, id="seriously-as-interjection"),
    case("Oh great, another useless answer", EXASP, id="sarcasm-useless"),
    case("wow thanks for nothing", EXASP, id="sarcasm-thanks-for-nothing"),
    case("that's the worst bot I've ever used", EXASP, SENT, id="worst"),
    case("I'm so frustrated", EXASP, id="frustrated"),
    case("not bad at all", id="not-bad-at-all"),
    case("no problem", id="no-problem"),
    case("that was helpful", id="that-was-helpful"),
    case("Thanks, that was really helpful!", id="thanks-helpful"),
    case("I take data protection seriously", id="seriously-as-adverb"),
    case("pls help my acount is lockd", id="typos-but-calm"),
]

REPEATED_NEGATION_CASES = [
    case("no no", NEG, id="no-no"),
    case("No, no, that's not what I asked", NEG, id="no-no-correction"),
    case("NO NO NO", NEG, SHOUT, id="shouted-no"),
    case("No. No. No.", NEG, id="no-sentences"),
    case("No! I said no!", NEG, id="no-i-said-no"),
    case("no no I meant the other one", NEG, id="no-no-then-clarification"),
    case("Nope, that\u2019s not what I meant", NEG, id="nope-correction-curly"),
    case("Nope. Not what I asked for.", NEG, id="nope-not-what-i-asked"),
    case("Oh no, that's not it", NEG, id="oh-no-thats-not-it"),
    case("no, wrong answer", NEG, id="no-wrong-answer"),
    case("nope, thats wrong", NEG, id="nope-thats-wrong-typo"),
    case("incorrect, that's not what I need", NEG, id="incorrect-correction"),
    case("Wrong answer", id="single-negation"),
    case("No, I don't have an account yet", id="plain-no-answer"),
    case("I do not know", id="do-not-know"),
    case("no thanks", id="no-thanks"),
    case("No, no problem", id="no-no-problem"),
    case("No, no need, thanks", id="no-no-need"),
    case("No, I have no idea", id="no-then-determiner"),
    case("No, the wrong size arrived", id="no-wrong-item-is-a-request"),
    case("No, I need the invoice from March", id="no-then-request"),
    case("nah, its fine", id="nah-its-fine"),
]

PUNCTUATION_BURST_CASES = [
    case("why???", BURST, id="three-question-marks"),
    case("hello!!!", BURST, id="three-exclamations"),
    case("Really?!", BURST, id="interrobang-pair"),
    case("wait, what?!", BURST, id="what-interrobang"),
    case("Where is my package???", BURST, id="package-question"),
    case("Thanks!", id="one-exclamation"),
    case("Is it ready?", id="one-question-mark"),
    case("ok thanks!", id="polite-exclamation"),
]

NEGATIVE_SENTIMENT_CASES = [
    case(
        "I hate this, it's the worst, absolutely horrible experience",
        EXASP,
        SENT,
        id="hostile",
    ),
    case("my card was stolen and I'm scared", SENT, id="distressed"),
    case("Worst service ever", EXASP, SENT, id="worst-service"),
    case("I can't log in", id="neutral-complaint"),
    case("That's not bad at all, no problem", id="negations-that-are-positive"),
]


@pytest.mark.parametrize("text, expected", SHOUTING_CASES)
def test_shouting(text: str, expected: FrozenSet[str]) -> None:
    assert fired(text) == expected


@pytest.mark.parametrize("text, expected", PROFANITY_CASES)
def test_profanity(text: str, expected: FrozenSet[str]) -> None:
    assert fired(text) == expected


@pytest.mark.parametrize("text, expected", EXASPERATION_CASES)
def test_exasperation(text: str, expected: FrozenSet[str]) -> None:
    assert fired(text) == expected


@pytest.mark.parametrize("text, expected", REPEATED_NEGATION_CASES)
def test_repeated_negation(text: str, expected: FrozenSet[str]) -> None:
    assert fired(text) == expected


@pytest.mark.parametrize("text, expected", PUNCTUATION_BURST_CASES)
def test_punctuation_burst(text: str, expected: FrozenSet[str]) -> None:
    assert fired(text) == expected


@pytest.mark.parametrize("text, expected", NEGATIVE_SENTIMENT_CASES)
def test_negative_sentiment(text: str, expected: FrozenSet[str]) -> None:
    assert fired(text) == expected


# --- Evidence shown to agents. -------------------------------------------------


@pytest.mark.parametrize(
    "text, name, evidence, start",
    [
        pytest.param(
            "hey WHY IS THIS NOT WORKING",
            SHOUT,
            "WHY IS THIS NOT WORKING",
            4,
            id="shouting-run",
        ),
        pytest.param(
            "I SAID I WANT MY MONEY BACK",
            SHOUT,
            "I SAID I WANT MY MONEY BACK",
            0,
            id="shouting-keeps-capital-i",
        ),
        pytest.param(
            "what the f***ing hell", SWEAR, "f***ing", 9, id="first-profanity"
        ),
        pytest.param(
            "So you\u2019re not listening to me",
            EXASP,
            "you\u2019re not listening",
            3,
            id="exasperation-keeps-curly-apostrophe",
        ),
        pytest.param(
            "this is ridiculous", EXASP, "this is ridiculous", 0, id="longest-phrase"
        ),
        pytest.param(
            "No, no, that's not what I asked",
            NEG,
            "No, no, that's not what I asked",
            0,
            id="negation-with-correction",
        ),
        pytest.param("why??? answer me", BURST, "???", 3, id="burst-only"),
        pytest.param(
            "  Worst service ever  ",
            SENT,
            "Worst service ever",
            2,
            id="sentiment-trimmed",
        ),
    ],
)
def test_evidence(text: str, name: str, evidence: str, start: int) -> None:
    found = {signal.name: signal for signal in detect_signals(text)}
    assert found[name] == Signal(name, evidence, start, start + len(evidence))


ALL_CASE_TEXTS = [
    param.values[0]
    for table in (
        SHOUTING_CASES,
        PROFANITY_CASES,
        EXASPERATION_CASES,
        REPEATED_NEGATION_CASES,
        PUNCTUATION_BURST_CASES,
        NEGATIVE_SENTIMENT_CASES,
    )
    for param in table
]


def test_evidence_is_always_the_message_slice() -> None:
    # An inbox highlights message[start:end]; it must be the reported text.
    checked = 0
    for text in ALL_CASE_TEXTS:
        for signal in detect_signals(text):
            assert signal.text == text[signal.start : signal.end], (text, signal)
            assert signal.text.strip(), (text, signal)
            checked += 1
    assert checked > 50


def test_negative_sentiment_evidence_is_capped() -> None:
    text = "I hate this horrible useless service. " * 20
    (signal,) = detect_signals(text, enabled=[SENT])
    assert len(signal.text) == SENTIMENT_EVIDENCE_MAX_CHARS
    assert signal.text == text[:SENTIMENT_EVIDENCE_MAX_CHARS]


# --- Shape of the result. ------------------------------------------------------

EVERYTHING = "NO NO NO, THAT'S NOT WHAT I ASKED. THIS IS F***ING RIDICULOUS, SHIT!!!"


def test_result_is_in_all_signals_order_with_one_per_name() -> None:
    # Two swear words, several exasperated phrases, two bursts: still one each.
    result = detect_signals(EVERYTHING + " Useless! Pathetic?!")
    assert tuple(signal.name for signal in result) == ALL_SIGNALS
    assert {signal.name: signal.text for signal in result}[SWEAR] == "F***ING"


def test_enabled_restricts_the_result() -> None:
    result = detect_signals(EVERYTHING, enabled=[BURST, SWEAR])
    assert [signal.name for signal in result] == [SWEAR, BURST]


@pytest.mark.parametrize(
    "enabled",
    [
        pytest.param((), id="empty-tuple"),
        pytest.param([], id="empty-list"),
        pytest.param(frozenset(), id="empty-set"),
    ],
)
def test_nothing_enabled_finds_nothing(enabled: Tuple[str, ...]) -> None:
    assert detect_signals(EVERYTHING, enabled=enabled) == ()


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("   \n\t", id="whitespace"),
    ],
)
def test_empty_message_has_no_signals(text: str) -> None:
    assert detect_signals(text) == ()


def test_unknown_signal_name_is_rejected_with_the_valid_names() -> None:
    with pytest.raises(ValueError) as error:
        detect_signals("hello", enabled=[SHOUT, "shouty"])
    message = str(error.value)
    assert "'shouty'" in message
    assert all(name in message for name in ALL_SIGNALS)


def test_bare_string_is_rejected_with_a_hint() -> None:
    with pytest.raises(ValueError, match=r"\('shouting',\)"):
        detect_signals("HELLO THERE", enabled=SHOUT)


@pytest.mark.parametrize(
    "threshold",
    [
        pytest.param(-1.5, id="below-range"),
        pytest.param(2, id="above-range"),
        pytest.param(math.nan, id="nan"),
    ],
)
def test_threshold_outside_vader_range_is_rejected(threshold: float) -> None:
    with pytest.raises(ValueError, match="between -1 and 1"):
        detect_signals("hello", negative_sentiment_threshold=threshold)


@pytest.mark.parametrize(
    "text, threshold, expected",
    [
        pytest.param("Worst service ever", -0.6, True, id="default-fires"),
        pytest.param("Worst service ever", -0.9, False, id="stricter-threshold"),
        pytest.param("I can't log in", -0.6, False, id="neutral-default"),
        pytest.param("I can't log in", 0.0, True, id="threshold-zero-flags-neutral"),
    ],
)
def test_negative_sentiment_threshold(
    text: str, threshold: float, expected: bool
) -> None:
    result = detect_signals(
        text, enabled=[SENT], negative_sentiment_threshold=threshold
    )
    assert bool(result) is expected


def test_default_threshold_is_the_documented_one() -> None:
    assert DEFAULT_NEGATIVE_SENTIMENT_THRESHOLD == -0.6


# --- Caching. --------------------------------------------------------------------


def test_repeated_calls_are_served_from_the_cache() -> None:
    text = "why is this STILL NOT WORKING??? (cache test)"
    first = detect_signals(text)
    before = signals._detect_signals_cached.cache_info()
    # The same names as a list, a set and in another order share one entry.
    again = [
        detect_signals(text),
        detect_signals(text, enabled=list(ALL_SIGNALS)),
        detect_signals(text, enabled=set(reversed(ALL_SIGNALS))),
    ]
    after = signals._detect_signals_cached.cache_info()
    assert all(result == first for result in again)
    assert after.hits - before.hits == len(again)
    assert after.misses == before.misses


def test_cache_is_bounded() -> None:
    assert signals._detect_signals_cached.cache_info().maxsize == (
        signals.DETECT_CACHE_SIZE
    )


def test_cached_and_uncached_agree() -> None:
    for text in ALL_CASE_TEXTS:
        assert detect_signals(text) == signals._detect_signals_uncached(
            text, ALL_SIGNALS, DEFAULT_NEGATIVE_SENTIMENT_THRESHOLD
        )


def test_signals_are_immutable() -> None:
    (signal,) = detect_signals("why???", ("punctuation_burst",))
    with pytest.raises(AttributeError):
        signal.text = "changed"  # type: ignore[misc]


# --- Sentiment score. -----------------------------------------------------------


@pytest.mark.parametrize(
    "text, low, high",
    [
        pytest.param("I hate this useless, horrible bot", -1.0, -0.6, id="hostile"),
        pytest.param("Thanks, that was really helpful!", 0.5, 1.0, id="grateful"),
        pytest.param("I can't log in to my account", -0.05, 0.05, id="neutral"),
        pytest.param("", 0.0, 0.0, id="empty"),
    ],
)
def test_sentiment_score(text: str, low: float, high: float) -> None:
    assert low <= sentiment_score(text) <= high


# --- Word lists. --------------------------------------------------------------


@pytest.mark.parametrize(
    "phrase",
    [
        pytest.param(phrase, id=phrase)
        for phrase in signals._read_phrase_file(EXASPERATION_PHRASES_FILE)
    ],
)
def test_every_exasperation_phrase_is_matched(phrase: str) -> None:
    # A phrase the tokenizer splits differently from messages would never fire.
    result = detect_signals(f"well {phrase} then", enabled=[EXASP])
    assert [signal.text.lower() for signal in result] == [phrase]


@pytest.mark.parametrize(
    "phrase",
    [
        pytest.param(phrase, id=phrase)
        for phrase in signals._read_phrase_file(CORRECTION_PHRASES_FILE)
    ],
)
def test_every_correction_phrase_counts_after_a_leading_no(phrase: str) -> None:
    assert detect_signals(f"No, {phrase}", enabled=[NEG])
    assert not detect_signals(phrase, enabled=[NEG])


def test_excluded_words_never_count_as_profanity() -> None:
    still_firing = sorted(
        word for word in PROFANITY_EXCLUSIONS if detect_signals(word, enabled=[SWEAR])
    )
    assert still_firing == []


def test_every_exclusion_is_in_the_profanity_list() -> None:
    # A misspelt exclusion would silently leave the real word matching.
    import importlib.util

    spec = importlib.util.find_spec("better_profanity")
    assert spec is not None and spec.origin is not None
    wordlist = Path(spec.origin).parent / "profanity_wordlist.txt"
    listed = set(signals._read_phrase_file(wordlist))
    assert sorted(PROFANITY_EXCLUSIONS - listed) == []


SIGNAL_MODULES = sorted(Path(signals.__file__).parent.glob("*.py"))


def imports_of(path: Path) -> FrozenSet[str]:
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    return frozenset(imported)


@pytest.mark.parametrize(
    "path", [pytest.param(path, id=path.name) for path in SIGNAL_MODULES]
)
def test_signal_modules_import_nothing_from_rasa_or_sanic(path: Path) -> None:
    tops = {name.split(".")[0] for name in imports_of(path)}
    assert {"rasa", "rasa_sdk", "sanic", "sklearn", "pickle"} & tops == set()
    # Within the package: only constants, the shared tokenizer and each other.
    ours = {name for name in imports_of(path) if name.startswith("rasa_handover")}
    allowed = {"rasa_handover.constants", "rasa_handover.nlp"}
    assert {n for n in ours if not n.startswith("rasa_handover.signals")} <= allowed


def test_the_package_is_split_and_uses_spacy() -> None:
    assert len(SIGNAL_MODULES) > 1
    assert all(len(p.read_text().splitlines()) <= 700 for p in SIGNAL_MODULES)
    assert any(
        name.split(".")[0] == "spacy" for p in SIGNAL_MODULES for name in imports_of(p)
    )


# --- Sarcasm and bitter thanks (exasperation). ----------------------------------

SARCASM_CASES = [
    case("thanks for nothing", EXASP, id="thanks-for-nothing"),
    case("Thank you SO much for wasting my afternoon", EXASP, id="thanks-wasting"),
    case("cheers for the useless link", EXASP, id="cheers-useless"),
    case("ta for absolutely nothing mate", EXASP, id="ta-filler-nothing"),
    case("wonderful. just wonderful.", EXASP, id="echo-wonderful"),
    case("Perfect... simply perfect", EXASP, id="echo-perfect"),
    case("Nice. Real nice.", EXASP, id="echo-nice"),
    case("great, another useless answer", EXASP, id="great-another-useless"),
    case("Oh brilliant, the page crashed again", EXASP, id="oh-brilliant-again"),
    case("lovely, still not delivered", EXASP, id="lovely-still-not"),
    case("ok. Fantastic, yet another error code", EXASP, id="second-sentence-opener"),
    case("yeah thanks, I've done that like ten times", EXASP, id="thanks-done-that"),
    case("cheers, already tried it", EXASP, id="cheers-already-tried"),
    case("great, I have tried that twice", EXASP, id="great-tried-twice"),
    case("yeah sure, because I never tried restarting it", EXASP, id="mock-surprise"),
    case("right, because that worked so well last time", EXASP, id="worked-so-well"),
    case("ok that'll totally work", EXASP, id="totally-work"),
]

SINCERE_CASES = [
    case("great, that worked", id="sincere-great"),
    case("perfect, thanks!", id="sincere-perfect"),
    case("thanks for fixing the error so quickly", id="thanks-for-fixing"),
    case("thank you for your help", id="thanks-for-help"),
    case("Great, another question: can I change my plan?", id="another-question"),
    case("Brilliant, it works again, no problems at all", id="works-again"),
    case("the app is great but it crashed again", id="praise-not-opening"),
    case("That's just perfect for my mum", id="just-perfect-sincere"),
    case("thanks, did that and it works now", id="followed-and-it-works"),
    case("great, I've done that and it fixed it", id="followed-and-fixed"),
    case("thanks! I did that", id="followed-now"),
    case("thanks, I'll try that", id="will-try"),
    case("I'm asking because I haven't received my refund", id="because-no-trying"),
    case("I can't log in because I haven't done the verification yet", id="not-yet"),
]


@pytest.mark.parametrize("text, expected", SARCASM_CASES + SINCERE_CASES)
def test_sarcasm_and_bitter_thanks(text: str, expected: FrozenSet[str]) -> None:
    assert fired(text) == expected


def test_sarcasm_evidence_spans_the_praise_and_the_letdown() -> None:
    (signal,) = detect_signals("Oh great, another broken update", enabled=[EXASP])
    assert signal.text == "great, another broken"


# --- Names and addresses are not shouting. ------------------------------------

NAME_CASES = [
    case("JOHN SMITH", id="bare-name-reply"),
    case("MARIA DE LA CRUZ", id="bare-name-with-particles"),
    case("my name is PRIYA PATEL", id="name-after-introducer"),
    case("MY NAME IS PRIYA PATEL", id="all-caps-introduction"),
    case("the card holder is MARY ANN JONES", id="card-holder"),
    case("please ship it to 12 HIGH ST, LONDON", id="street-and-town"),
    case("new address: 221B BAKER STREET", id="address-with-letter-number"),
    case("deliver to 5 OAK AVENUE please", id="avenue"),
    case("Mr OKAFOR here, WHERE IS MY PARCEL", SHOUT, id="name-then-a-shout"),
    case("MY NAME IS TOM AND I WANT A REFUND NOW", SHOUT, id="shout-after-a-name"),
    case("STOP IT", SHOUT, id="two-words-with-a-function-word"),
    case("JOHN SMITH!!!", SHOUT, BURST, id="bare-caps-with-a-burst"),
]


@pytest.mark.parametrize("text, expected", NAME_CASES)
def test_names_and_addresses_are_not_shouting(
    text: str, expected: FrozenSet[str]
) -> None:
    assert fired(text) == expected


# --- The learned signal (angry_tone). -----------------------------------------

# Written for these tests (not dataset text). Support-style anger is harder for a
# model trained on Reddit: see docs/frustration.md, "Limits".
ANGRY_SUPPORT_MESSAGES = [
    "I am so sick of this, your company keeps charging me and nobody fixes it",
    "this is the third time I've asked, are you people completely incompetent?",
    "what a joke of a service, I'm furious",
    "Stop sending me these stupid emails, I unsubscribed twice",
    "You lost my parcel AGAIN. Absolutely disgusting service",
    "I hate this app, it never works",
    "I am really annoyed, nobody answers my emails",
    "Your app keeps crashing and I am fed up",
    "this is a complete rip-off and I want my money back now",
    "Why do you keep ignoring me? Terrible, just terrible",
]
# Trained on support messages too, the model catches all ten (the Reddit-only
# model caught four); the bar keeps a regression visible.
MIN_ANGRY_CAUGHT = 8

# Frustration said as plain facts, with no angry word: what Reddit comments
# seldom say and support leads read at once (written for this test; none is a
# training message).
PLAIN_FACT_FRUSTRATION = [
    "fourth phone call about the same broken boiler and still nobody has come out",
    "my deposit was supposed to be back in 10 days, it has been five weeks",
    "you took the annual fee twice and the second one still hasn't been returned",
    "the courier left my order in the rain again",
    "I have explained my address change to three different people now",
]
# First reports of a problem and requests, told calmly: what a customer opens
# a chat with, and what the model must not read as anger.
CALM_FIRST_REPORTS = [
    "my card was declined at the shop, can you check why?",
    "the app closes when I open the settings page, is there a fix?",
    "how much does the premium plan cost",
    "could I move my appointment to Friday?",
    "my daughter lost her bus pass, can we order a new one?",
]

NEUTRAL_SUPPORT_MESSAGES = [
    "how do I change my delivery address?",
    "I'd like to upgrade to the family plan",
    "my invoice for March shows two items, can you explain them?",
    "Can I pay by bank transfer?",
    "The parcel arrived today, thank you",
    "what time does the store open on Sunday",
    "I need to reset my password",
]


def test_angry_tone_fires_on_angry_support_messages() -> None:
    caught = [detect_signals(text, enabled=[TONE]) for text in ANGRY_SUPPORT_MESSAGES]
    assert sum(1 for found in caught if found) >= MIN_ANGRY_CAUGHT
    for text, found in zip(ANGRY_SUPPORT_MESSAGES, caught):
        for signal in found:
            assert signal.name == TONE and signal.text == text.strip()
            assert signal.score is not None and 0.0 <= signal.score <= 1.0


def test_angry_messages_score_above_every_neutral_one() -> None:
    model = learned.learned_model()
    angry = min(model.probability(text) for text in ANGRY_SUPPORT_MESSAGES)
    calm = max(model.probability(text) for text in NEUTRAL_SUPPORT_MESSAGES)
    assert angry > calm


def test_plain_facts_of_a_failing_service_read_as_frustration() -> None:
    """Most are confident enough (weight 2) to hand over on their own."""
    found = [detect_signals(text, enabled=[TONE]) for text in PLAIN_FACT_FRUSTRATION]
    assert all(found), "a plain-fact complaint reads calm"
    assert sum(signal.weight == 2 for (signal,) in found) >= 3


@pytest.mark.parametrize(
    "text", [pytest.param(t, id=t[:30]) for t in CALM_FIRST_REPORTS]
)
def test_a_calm_first_report_of_a_problem_is_not_anger(text: str) -> None:
    assert detect_signals(text, enabled=[TONE]) == ()


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("???", id="question-marks"),
        pytest.param("!!!", id="exclamation-marks"),
        pytest.param("\U0001f621", id="emoji"),
    ],
)
def test_a_message_without_words_has_no_tone(text: str) -> None:
    """Its marks are punctuation_burst's one sign, not also the model's."""
    assert detect_signals(text, enabled=[TONE]) == ()
    assert frustration(text) is None


@pytest.mark.parametrize(
    "text", [pytest.param(t, id=t[:30]) for t in NEUTRAL_SUPPORT_MESSAGES]
)
def test_angry_tone_stays_quiet_on_neutral_support_messages(text: str) -> None:
    assert detect_signals(text, enabled=[TONE]) == ()


def test_angry_tone_weight_follows_the_strong_threshold() -> None:
    model = learned.learned_model()
    for text in ANGRY_SUPPORT_MESSAGES:
        found = detect_signals(text, enabled=[TONE])
        if not found:
            continue
        (signal,) = found
        expected = 2 if model.probability(text) >= model.strong_threshold else 1
        assert signal.weight == expected
    assert model.threshold <= model.strong_threshold


def test_the_shipped_model_loads_from_the_package() -> None:
    import importlib.resources

    shipped = importlib.resources.files("rasa_handover") / "data"
    assert (shipped / learned.FRUSTRATION_MODEL_FILE.name).is_file()
    assert learned.FRUSTRATION_MODEL_FILE.stat().st_size < 4_000_000
    model = learned.learned_model()
    assert learned.learned_model() is model  # loaded once
    assert model.meta["licence"] == "Apache-2.0"
    assert model.weights.shape == (1 << learned.FEATURE_BITS,)
    assert 0.0 < model.threshold < 1.0


def test_a_model_file_of_another_format_is_refused(tmp_path: Path) -> None:
    import json

    import numpy as np

    path = tmp_path / "model.npz"
    np.savez(path, weights=np.zeros(4), meta=np.array(json.dumps({"format": 99})))
    with pytest.raises(ValueError, match=r"train_frustration_model\.py"):
        learned.load_model(path)


def test_features_are_deterministic_and_case_blind() -> None:
    first = learned.feature_buckets("This is RIDICULOUS!!!")
    assert first == learned.feature_buckets("this is ridiculous!!!!!")
    assert all(0 <= b < (1 << learned.FEATURE_BITS) for b in first)


# --- Counting what a person counts (the frustration trigger). -------------------


def frustration(*texts: str, **overrides: Any) -> Any:
    from rasa_handover.conversation import UserTurn, view_from_turns
    from rasa_handover.settings import parse_settings
    from rasa_handover.triggers import check_frustration

    turns = [
        UserTurn(index=i, text=text, intent=None, confidence=None)
        for i, text in enumerate(texts, start=1)
    ]
    return check_frustration(view_from_turns(turns), parse_settings(overrides))


def test_the_same_sign_on_two_turns_is_two_signs() -> None:
    only_rules = {"frustration_signal_types": list(RULES)}
    assert frustration("this is ridiculous", **only_rules) is None
    decision = frustration(
        "this is ridiculous", "i tried that already", "ridiculous", **only_rules
    )
    assert decision is not None
    (entry,) = decision.evidence["signals"]
    assert entry["signal"] == EXASP and entry["turns"] == [1, 3]
    assert entry["turn"] == 3 and decision.evidence["signal_count"] == 2


def test_two_signs_in_one_turn_still_fire() -> None:
    decision = frustration("WHY IS THIS NOT WORKING???")
    assert decision is not None
    assert decision.evidence["signal_count"] >= 2


def test_sarcasm_across_turns_escalates() -> None:
    only_rules = {"frustration_signal_types": list(RULES)}
    assert (
        frustration(
            "great, another useless answer", "wonderful. just wonderful.", **only_rules
        )
        is not None
    )


def test_a_strong_learned_score_is_enough_alone_and_is_in_the_evidence() -> None:
    model = learned.learned_model()
    strong = [
        t
        for t in ANGRY_SUPPORT_MESSAGES
        if model.probability(t) >= model.strong_threshold
    ]
    assert strong, "no test sentence reaches the strong threshold"
    decision = frustration(strong[0], frustration_signal_types=[TONE])
    assert decision is not None
    (entry,) = decision.evidence["signals"]
    assert entry["signal"] == TONE and entry["weight"] == 2
    assert entry["probability"] >= model.strong_threshold - 0.001


def test_a_calm_latest_turn_still_does_not_escalate() -> None:
    assert (
        frustration("this is ridiculous", "ridiculous", "ok that worked, thanks")
        is None
    )


def test_names_in_capitals_do_not_make_a_customer_frustrated() -> None:
    assert frustration("JOHN SMITH", "12 HIGH ST, LONDON") is None
