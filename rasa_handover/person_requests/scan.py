"""Finding a request for a person in one message: the matcher, then the context."""

from dataclasses import dataclass
from functools import lru_cache
from typing import List, Optional, Tuple

from spacy.tokens import Doc

from rasa_handover.nlp import blank_english
from rasa_handover.person_requests.context import (
    about_bot,
    clauses,
    identity_questions,
    is_negated,
    not_us,
    self_description,
    short_request,
)
from rasa_handover.person_requests.patterns import request_matcher
from rasa_handover.person_requests.words import (
    ACTION_RULES,
    ANCHORS,
    PAST_SPEAKING,
    RULE_REFUSES_BOT,
    RULE_SHORT,
    RULE_TRANSFER_BARE,
    RULE_WANT,
    TRANSFER_OBJECTS,
    TYPO_TARGETS,
    VOCABULARY,
    WOULD,
)
from rasa_handover.word_forms import normalise_doc


@dataclass(frozen=True)
class RequestMatch:
    """A request for a person found in a text."""

    rule: str
    phrase: str


def find_explicit_request(text: str) -> Optional[RequestMatch]:
    """Finds a request for a person in `text`.

    Returns:
        The rule that matched and the matched words (as written), or `None`.

    """
    return scan(text)[0]


def declines_a_person(text: str) -> bool:
    """Whether `text` says it does not want a person ("I don't need an agent").

    NLU may still read such a turn as the explicit-request intent (the words
    are those of a request); the intent alone then does not hand over.
    """
    found, negated = scan(text)
    return found is None and negated


@lru_cache(maxsize=4096)
def scan(text: str) -> Tuple[Optional[RequestMatch], bool]:
    """The request found in `text` (or `None`), and whether one was negated."""
    if not text or not text.strip():
        return None, False
    doc = blank_english()(text)
    forms = normalise_doc(doc, VOCABULARY, TYPO_TARGETS)
    if ANCHORS.isdisjoint(forms):
        return None, False  # every rule needs one of these words: skip the matcher
    matches = sorted(request_matcher()(doc), key=lambda m: (m[1], -m[2]))
    asks_about_bot = False
    negated = False
    for clause_start, clause_end in clauses(doc):
        asked = clause_end < len(doc) and doc[clause_end].text == "?"
        questions = identity_questions(forms, clause_start, clause_end, asked)
        asks_about_bot = asks_about_bot or bool(questions)
        for match_id, start, end in matches:
            if start < clause_start or end > clause_end:
                continue
            rule = doc.vocab.strings[match_id]
            if rule not in ACTION_RULES and about_bot(questions, start):
                continue
            if doc[start].lower_ in PAST_SPEAKING:
                continue  # "I already spoke with a person": what happened
            if rule == RULE_REFUSES_BOT:
                if self_description(forms, start, end):
                    continue
            elif is_negated(forms, start, clause_start):
                negated = True
                continue
            elif not_us(forms, start, end):
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
        index = short_request(forms, start, end)
        if index is not None and not not_us(forms, start, end):
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
