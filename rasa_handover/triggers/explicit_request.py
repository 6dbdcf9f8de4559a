"""`explicit_request`: the user asks for a person. Always, immediately.

The configured intents (default `human_handoff`) fire whatever their confidence.
As a safety net for when NLU misses the request, a few token rules over the text
catch "talk to a human", "could I speak to the agent who helped me yesterday",
"I want a real person" or a bare "agent please". They stay quiet on questions
*about* people ("are you a real person?"), on negated requests ("I don't need an
agent") and on people who are not us ("my travel agent").
"""

from functools import lru_cache
from typing import Optional, Tuple

from spacy.matcher import Matcher
from spacy.tokens import Doc

from rasa_handover.constants import REASON_EXPLICIT_REQUEST
from rasa_handover.conversation import ConversationView
from rasa_handover.nlp import blank_english
from rasa_handover.settings import HandoverSettings
from rasa_handover.triggers.decision import Decision

# Words for "a person who works for you".
PERSON_WORDS: Tuple[str, ...] = (
    "human",
    "humans",
    "person",
    "people",
    "agent",
    "agents",
    "representative",
    "rep",
    "operator",
    "staff",
    "employee",
    "supervisor",
    "manager",
    "advisor",
    "adviser",
    "consultant",
)
# Vaguer words, only a request with a verb of talking: "I need someone to fix
# it" is not a request for a person, "can I talk to someone" is.
VAGUE_PERSON_WORDS: Tuple[str, ...] = ("someone", "somebody", "anyone", "anybody")
# Verbs of getting in touch: any few words may stand between them and the person
# ("speak to the agent", "put me through to a real human").
CONTACT_VERBS: Tuple[str, ...] = (
    "talk",
    "speak",
    "chat",
    "connect",
    "transfer",
    "escalate",
    "reach",
    "contact",
    "call",
    "forward",
    "pass",
    "through",
)
# Verbs of wanting: only articles and adjectives may stand between them and the
# person ("I want a real person"), so "I want to change the person on my
# account" does not fire.
WANT_VERBS: Tuple[str, ...] = ("want", "need", "get", "give", "request", "prefer")
WANT_FILLERS: Tuple[str, ...] = (
    "a",
    "an",
    "the",
    "real",
    "live",
    "actual",
    "human",
    "me",
    "your",
    "some",
    "proper",
)
# Fixed phrases that are requests on their own.
FIXED_PHRASES: Tuple[Tuple[str, ...], ...] = (
    ("real", "person"),
    ("real", "human"),
    ("actual", "person"),
    ("actual", "human"),
    ("human", "being"),
    ("live", "agent"),
    ("live", "person"),
    ("live", "chat"),
    ("human", "agent"),
    ("customer", "service", "rep"),
    ("customer", "service", "representative"),
    ("not", "a", "bot"),
    ("not", "a", "robot"),
    ("not", "a", "machine"),
)
# How many words may stand between a contact verb and the person.
MAX_CONTACT_GAP = 4
# How many words may stand between a want verb and the person.
MAX_WANT_GAP = 2
# A message this short that names a person ("agent", "human pls") is a request.
SHORT_MESSAGE_WORDS = 3
# How far back from the verb a negation cancels the request.
NEGATION_REACH = 3
NEGATIONS: Tuple[str, ...] = ("not", "n't", "never", "no", "dont", "without")
# "are you a real person?" asks about the bot, it does not ask for a person.
QUESTION_ABOUT_BOT: Tuple[Tuple[str, ...], ...] = (
    ("are", "you"),
    ("r", "u"),
    ("am", "i"),
    ("is", "this"),
    ("is", "it"),
    ("you", "are"),
)
# Possessives that make the person someone else's ("my travel agent").
OTHER_PEOPLE_MARKERS: Tuple[str, ...] = ("my", "his", "her", "their", "our")

_RULE_CONTACT = "contact"
_RULE_WANT = "want"
_RULE_FIXED = "fixed"


@lru_cache(maxsize=1)
def _matcher() -> Matcher:
    nlp = blank_english()
    matcher = Matcher(nlp.vocab)
    word = {"IS_PUNCT": False, "OP": "?"}
    matcher.add(
        _RULE_CONTACT,
        [
            [
                {"LOWER": {"IN": list(CONTACT_VERBS)}},
                *([word] * MAX_CONTACT_GAP),
                {"LOWER": {"IN": list(PERSON_WORDS + VAGUE_PERSON_WORDS)}},
            ]
        ],
        greedy="LONGEST",
    )
    filler = {"LOWER": {"IN": list(WANT_FILLERS)}, "OP": "?"}
    matcher.add(
        _RULE_WANT,
        [
            [
                {"LOWER": {"IN": list(WANT_VERBS)}},
                *([filler] * MAX_WANT_GAP),
                {"LOWER": {"IN": list(PERSON_WORDS)}},
            ]
        ],
        greedy="LONGEST",
    )
    matcher.add(
        _RULE_FIXED,
        [[{"LOWER": token} for token in phrase] for phrase in FIXED_PHRASES],
    )
    return matcher


def _is_question_about_bot(doc: Doc) -> bool:
    words = [t.lower_ for t in doc if not t.is_punct]
    return any(tuple(words[: len(prefix)]) == prefix for prefix in QUESTION_ABOUT_BOT)


def _negated(doc: Doc, start: int) -> bool:
    window = doc[max(0, start - NEGATION_REACH) : start]
    return any(t.lower_ in NEGATIONS for t in window)


def _someone_elses(doc: Doc, end: int) -> bool:
    # The token before the person word: "my agent", "my travel agent".
    before = doc[max(0, end - 3) : end - 1]
    return any(t.lower_ in OTHER_PEOPLE_MARKERS for t in before)


@lru_cache(maxsize=4096)
def match_explicit_request(text: str) -> Optional[str]:
    """Finds a request for a person in `text`.

    Returns:
        The matched words (e.g. "speak to the agent"), or `None`.

    """
    if not text or not text.strip():
        return None
    doc = blank_english()(text)
    about_bot = _is_question_about_bot(doc)
    matches = sorted(_matcher()(doc), key=lambda m: m[1])
    for match_id, start, end in matches:
        rule = doc.vocab.strings[match_id]
        if _negated(doc, start) or (rule == _RULE_FIXED and about_bot):
            continue
        # "through" alone is only a contact verb in "put me through to".
        if (
            rule == _RULE_CONTACT
            and doc[start].lower_ == "through"
            and not any(t.lower_ == "put" for t in doc[max(0, start - 3) : start])
        ):
            continue
        if rule != _RULE_FIXED and _someone_elses(doc, end):
            continue
        return doc[start:end].text
    words = [t for t in doc if not t.is_punct and not t.is_space]
    if (
        0 < len(words) <= SHORT_MESSAGE_WORDS
        and not about_bot
        and not any(t.lower_ in NEGATIONS for t in words)
    ):
        for token in words:
            if token.lower_ in PERSON_WORDS:
                return token.text
    return None


def check_explicit_request(
    view: ConversationView, settings: HandoverSettings
) -> Optional[Decision]:
    """Checks whether the latest user message asks for a person.

    Args:
        view: The conversation.
        settings: `explicit_request_intents` and `explicit_request_phrases`.

    Returns:
        A decision whose evidence names the intent (and confidence) or the
        matched phrase; or `None`.

    """
    turn = view.latest_turn
    if turn is None:
        return None
    evidence = {
        "intent": turn.intent,
        "confidence": turn.confidence,
        "text": turn.text,
    }
    if turn.intent in settings.explicit_request_intents:
        return Decision(
            REASON_EXPLICIT_REQUEST,
            settings.handover_action,
            {**evidence, "matched": "intent"},
            turn.index,
        )
    if settings.explicit_request_phrases:
        phrase = match_explicit_request(turn.text)
        if phrase:
            return Decision(
                REASON_EXPLICIT_REQUEST,
                settings.handover_action,
                {**evidence, "matched": "phrase", "phrase": phrase},
                turn.index,
            )
    return None
