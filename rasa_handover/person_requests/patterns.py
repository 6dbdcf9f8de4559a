"""The phrase grammar's spaCy `Matcher` patterns, one rule per evidence `rule`."""

from functools import lru_cache
from typing import Dict, List, Optional, Sequence

from spacy.matcher import Matcher

from rasa_handover.nlp import blank_english
from rasa_handover.person_requests.words import (
    ASKING_WORDS,
    AUTOMATED_WORDS,
    BARE_TRANSFER_VERBS,
    BOOK_VERBS,
    BOT_WORDS,
    CONTACT_NOUNS,
    CONTACT_PERSONS,
    DISMISS_PARTICLES,
    DISMISS_VERBS,
    HELP_NOUNS,
    NEGATIONS,
    PERSON_DOES,
    PERSON_DOES_GAP,
    PERSON_HELPS,
    PERSON_HELPS_GAP,
    PERSON_HELPS_WHOM,
    PERSON_WORDS,
    PHONE_VERBS,
    PRESENT_WORDS,
    REACH_VERBS,
    REAL_WORDS,
    REFUSAL_GAP,
    REFUSAL_VERB_GAP,
    REFUSAL_VERBS,
    REPLY_WORDS,
    RULE_NAMED_PERSON,
    RULE_PERSON_TO_TALK_TO,
    RULE_REACH,
    RULE_REFUSES_BOT,
    RULE_SPEAK,
    RULE_TRANSFER,
    RULE_TRANSFER_BARE,
    RULE_WANT,
    SPEAK_VERBS,
    TALK_NOUNS,
    TARGETS,
    TEAM_QUALIFIERS,
    TEAM_WORDS,
    TRANSFER_OBJECTS,
    TRANSFER_PREPOSITIONS,
    TRANSFER_VERBS,
    VAGUE_PERSON_WORDS,
    WANT_FILLERS,
    WANT_VERBS,
)


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
def request_matcher() -> Matcher:
    """The grammar's patterns, one `Matcher` rule per evidence `rule`."""
    matcher = Matcher(blank_english().vocab)
    _add_verb_rules(matcher)
    _add_person_rules(matcher)
    return matcher


def _add_verb_rules(matcher: Matcher) -> None:
    """Verbs of speaking, transferring, reaching, wanting; a person to talk to."""
    target = _any(TARGETS)
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
                _any((*TARGETS, "body")),
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
