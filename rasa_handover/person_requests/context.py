"""What around a matched phrase undoes it, and short requests.

Clauses, negation, questions about the bot, people who are not us,
self-descriptions; and short messages that are little more than a person
("agent", "human pls").
"""

from typing import List, Optional, Tuple

from spacy.tokens import Doc

from rasa_handover.person_requests.words import (
    ASKING_MODALS,
    CLAUSE_ENDS,
    EMBEDDING_WORDS,
    IDENTITY_FOLLOWERS,
    IDENTITY_OPENINGS,
    IDENTITY_REACH,
    NEGATION_REACH,
    NEGATIONS,
    NON_SUPPORT_FUNCTIONS,
    NOT_ON_THEIR_OWN,
    NOT_US_AFTER,
    NOT_US_BEFORE,
    OUR_ROLES,
    PERSON_WORDS,
    POSSESSIVES,
    RESTART_WORDS,
    SELF_DESCRIPTION_WORDS,
    SHORT_MESSAGE_FILLERS,
    SHORT_MESSAGE_MAX_WORDS,
    SHORT_MESSAGE_WORDS,
    TARGETS,
    TEAM_QUALIFIERS,
    TEAM_WORDS,
    WOULD,
)


def clauses(doc: Doc) -> List[Tuple[int, int]]:
    """The (start, end) token spans between clause ends (".", "?", a newline)."""
    spans, start = [], 0
    for token in doc:
        if token.text in CLAUSE_ENDS or (not token.text.strip() and "\n" in token.text):
            if token.i > start:
                spans.append((start, token.i))
            start = token.i + 1
    if start < len(doc):
        spans.append((start, len(doc)))
    return spans


def identity_questions(
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


def about_bot(questions: List[Tuple[int, int]], start: int) -> bool:
    """Whether a match starting at `start` is part of an identity question."""
    return any(first <= start <= last for first, last in questions)


def is_negated(forms: List[str], start: int, clause_start: int) -> bool:
    """Whether a negation shortly before `start` (not across a comma) negates it."""
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


def not_us(forms: List[str], start: int, end: int) -> bool:
    """Whether the person in forms[start:end] is someone else's, or not a person."""
    for i in range(start, end):
        if forms[i] not in TARGETS:
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


def self_description(forms: List[str], start: int, end: int) -> bool:
    """Whether the user speaks about themselves ("I'm not a robot")."""
    before = forms[max(0, start - 2) : start]
    return (
        forms[start] in NEGATIONS
        and end - start <= SELF_DESCRIPTION_WORDS
        and "i" in before
        and "be" in before
    )


def short_request(forms: List[str], start: int, end: int) -> Optional[int]:
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
