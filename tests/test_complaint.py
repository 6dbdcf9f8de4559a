"""The complaint signal: support-style frustration, with contrast pairs.

Each pair holds a complaint and a calm message that shares its words (the
tense, the modal, the question or the missing failure is the difference).
Runs the real detector (spaCy tokenizer and Matcher, VADER); nothing mocked.
"""

from typing import Any

import pytest

from rasa_handover.constants import SIGNAL_COMPLAINT
from rasa_handover.signals import detect_signals


def complaint(text: str) -> Any:
    found = [s for s in detect_signals(text) if s.name == SIGNAL_COMPLAINT]
    return found[0] if found else None


def pair(frustrated: str, calm: str, id: str) -> Any:
    return pytest.param(frustrated, calm, id=id)


CONTRAST_PAIRS = [
    pair(
        "I've been waiting 3 weeks for my refund",
        "Do I need to wait 24 hours before trying again?",
        id="waited-vs-modal",
    ),
    pair(
        "Still waiting. Day 9.",
        "still waiting for the download to finish?",
        id="still-waiting-vs-progress-question",
    ),
    pair(
        "it's been 2 hours and still no reply",
        "It's been 2 years since I joined, any loyalty discount?",
        id="been-duration-vs-since",
    ),
    pair(
        "it crashed again",
        "I tried again and it worked this time",
        id="again-failure-vs-again-success",
    ),
    pair(
        "same problem AGAIN",
        "could you send the email again please?",
        id="shouted-again-vs-polite-again",
    ),
    pair(
        "it is still showing the wrong address",
        "is the offer still available?",
        id="still-failure-vs-still",
    ),
    pair(
        "This is the third time I'm contacting you about this",
        "this is my first time ordering",
        id="nth-time",
    ),
    pair(
        "you keep sending me the same link",
        "the video keeps buffering, any tips?",
        id="you-keep-vs-problem-report",
    ),
    pair(
        "nobody has replied to any of my emails",
        "has my email arrived?",
        id="nobody-replies",
    ),
    pair(
        "I'm cancelling my account",
        "I'd like to cancel my subscription, I'm moving abroad",
        id="decided-vs-would-like",
    ),
    pair(
        "I want my money back",
        "could I have my money back for the cancelled concert?",
        id="demand-vs-request",
    ),
    pair(
        "I'm switching to a competitor",
        "I'm switching to a business account, how does that work?",
        id="competitor-vs-plan",
    ),
    pair(
        "I'm going with another provider",
        "I want to transfer my number to another network",
        id="another-provider",
    ),
    pair(
        "you charged me twice",
        "can you charge it to my other card?",
        id="past-blame-vs-request",
    ),
    pair(
        "your app is broken",
        "my screen is broken, is it covered?",
        id="your-thing-vs-mine",
    ),
    pair(
        "you took £40 without asking",
        "you can take the payment on Friday",
        id="without-consent",
    ),
    pair(
        "I'll be leaving",
        "I'm leaving for Spain on Friday, pause my deliveries",
        id="leaving-vs-trip",
    ),
    pair(
        "my solicitor will be in touch",
        "a divorce lawyer told me to close the joint account",
        id="own-lawyer",
    ),
]


@pytest.mark.parametrize("frustrated, calm", CONTRAST_PAIRS)
def test_contrast_pairs(frustrated: str, calm: str) -> None:
    assert complaint(frustrated) is not None, frustrated
    assert complaint(calm) is None, calm


def test_a_complaint_counts_two_signs_unless_the_message_reads_positive() -> None:
    assert complaint("I've been waiting 3 weeks for my refund").weight == 2
    positive = complaint("it crashed again, but thanks so much, you are great!")
    assert positive is not None and positive.weight == 1


def test_evidence_is_the_complaint_text() -> None:
    text = "hi. I've been waiting 3 weeks for my refund"
    signal = complaint(text)
    assert signal.text == text[signal.start : signal.end] == "waiting 3 weeks"


def test_a_phrase_that_is_already_exasperation_is_one_sign() -> None:
    # "nothing works" is an exasperation phrase and a complaint (giving up).
    names = [s.name for s in detect_signals("nothing works")]
    assert names.count("exasperation") == 1 and SIGNAL_COMPLAINT not in names


def test_chat_spelling() -> None:
    assert complaint("no1 will refund me and ur app is rubbish") is not None
