"""One normalised form per word, for the text rules (explicit requests, message kinds).

spaCy's blank English pipeline has no lemmatizer (its lookup tables live in
`spacy-lookups-data`, which is not a dependency and cannot be downloaded at run
time), so the rules normalise the word forms they care about themselves, in this
order:

1. spaCy's NORM, lower-cased ("n't" -> "not", "ca" -> "can", "nt" -> "not");
2. chat spelling (`CHAT_SPELLING`: "u" -> "you", "pls" -> "please", "wanna" ->
   "want", "ppl" -> "people");
3. letters repeated for emphasis, when the squeezed word is known ("humaaan" ->
   "human", "pleeease" -> "please");
4. inflections of the grammar's own words ("talking" -> "talk", "humans" ->
   "human", "spoke" -> "speak");
5. one typo in a grammar word of 5 letters or more (two from 10 letters),
   keeping its first letter ("huamn" -> "human", "represenative" ->
   "representative", "agnet" -> "agent"), or two letters swapped in a shorter
   one ("tlak" -> "talk"); never onto a real word listed in `NOT_TYPOS`.

Everything is a pure function of the text; results are cached per word.
"""

import re
from functools import lru_cache
from typing import Dict, FrozenSet, Iterable, List, Optional

from spacy.tokens import Doc

CHAT_SPELLING: Dict[str, str] = {
    "u": "you",
    "ya": "you",
    "r": "are",
    "ur": "your",
    "pls": "please",
    "plz": "please",
    "plse": "please",
    "pleas": "please",
    "wanna": "want",
    "wan": "want",
    "wana": "want",
    "gimme": "give",
    "gim": "give",
    "ppl": "people",
    "sum1": "someone",
    "some1": "someone",
    "sumone": "someone",
    "somone": "someone",
    "any1": "anyone",
    "hooman": "human",
    "hoomans": "human",
    "hooman's": "human",
    "humn": "human",
    "hman": "human",
    "humam": "human",
    "ppl's": "people",
    "w": "with",
    "wit": "with",
    "2": "to",
    "dont": "do",
    "nt": "not",
    "im": "i",
    "thx": "thanks",
    "thnx": "thanks",
    "thanx": "thanks",
    "tnx": "thanks",
    "ty": "thanks",
    "cust": "customer",
    "svc": "service",
    "dept": "department",
    "mgr": "manager",
}
# Irregular inflections of the grammar's words.
IRREGULAR: Dict[str, str] = {
    # Nouns that only look like inflections: kept as they are.
    "engineering": "engineering",
    "spoke": "speak",
    "spoken": "speak",
    "got": "get",
    "gotten": "get",
    "gave": "give",
    "given": "give",
    "sent": "send",
    "brought": "bring",
    "took": "take",
    "taken": "take",
    "people": "person",
    "folks": "person",
    "persons": "person",
    "staffers": "staff",
    "felt": "feel",
    "found": "find",
    "was": "be",
    "were": "be",
    "is": "be",
    "am": "be",
    "are": "be",
    "'m": "be",
    "'re": "be",
    "'s": "be",
}
# Inflection suffixes, longest first; a stem may also take back a dropped "e"
# ("conversing" -> "converse") or lose a doubled consonant ("chatting" -> "chat").
_SUFFIXES = ("ing", "ies", "es", "ed", "s", "d", "in")
# Real words one edit away from a grammar word: never typos.
NOT_TYPOS: FrozenSet[str] = frozenset(
    {
        "humane",
        "hunan",
        "persona",
        "parson",
        "argent",
        "agenda",
        "stuff",
        "stiff",
        "sport",
        "servile",
        "severe",
        "costume",
        "customs",
        "connector",
        "transferee",
        "operate",
        "opera",
        "manger",
        "manage",
        "managed",
        "manages",
        "someday",
        "somehow",
        "advise",
        "advised",
        "support's",
        "supper",
        "humor",
        "humour",
        "rope",
        "ripe",
        "speck",
        "spear",
        "sneak",
        "steak",
    }
)
# Words shorter than this are never corrected (too many real neighbours).
TYPO_MIN_LENGTH = 5
# Words at least this long may carry two typos ("represntatve").
TWO_TYPOS_MIN_LENGTH = 10
_REPEATS = re.compile(r"(.)\1{2,}")


def damerau_distance(a: str, b: str, limit: int = 2) -> int:
    """Edit distance with transpositions (optimal string alignment), capped.

    Returns `limit + 1` as soon as the distance is known to exceed `limit`.
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: List[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(
                previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost
            )
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _base_form(word: str, vocabulary: FrozenSet[str]) -> Optional[str]:
    if word in vocabulary:
        return word
    irregular = IRREGULAR.get(word)
    if irregular is not None:
        return irregular
    for suffix in _SUFFIXES:
        if not word.endswith(suffix) or len(word) - len(suffix) < 2:
            continue
        stem = word[: -len(suffix)]
        if suffix == "d" and not stem.endswith("e"):
            continue  # "cared" -> "care", but "card" is no form of "care"
        candidates = [stem, stem + "e", stem + "y"]
        if len(stem) > 2 and stem[-1] == stem[-2]:
            candidates.append(stem[:-1])
        for candidate in candidates:
            if candidate in vocabulary:
                return candidate
    return None


def _typo_of(word: str, typo_targets: FrozenSet[str]) -> Optional[str]:
    if len(word) < TYPO_MIN_LENGTH - 1 or word in NOT_TYPOS or not word.isalpha():
        return None
    for target in typo_targets:
        if target[0] != word[0]:
            continue
        if len(target) < TYPO_MIN_LENGTH:
            # Short words: only two letters swapped ("tlak" -> "talk").
            if sorted(word) == sorted(target) and damerau_distance(word, target) == 1:
                return target
            continue
        allowed = 2 if len(target) >= TWO_TYPOS_MIN_LENGTH else 1
        if damerau_distance(word, target, allowed) <= allowed:
            return target
    return None


@lru_cache(maxsize=65536)
def normalise_word(
    lower: str, vocabulary: FrozenSet[str], typo_targets: FrozenSet[str]
) -> str:
    """The normalised form of one lower-cased word (see the module docstring).

    Args:
        lower: The word (spaCy's NORM, lower case).
        vocabulary: Base forms the caller's rules use; inflections of these are
            reduced to them.
        typo_targets: Base forms that one typo may be corrected to.

    Returns:
        The base form, or the (chat-spelling mapped) word itself.

    """
    word = CHAT_SPELLING.get(lower, lower)
    base = _base_form(word, vocabulary)
    if base is not None:
        return base
    if _REPEATS.search(word):
        for squeezed in (_REPEATS.sub(r"\1", word), _REPEATS.sub(r"\1\1", word)):
            squeezed = CHAT_SPELLING.get(squeezed, squeezed)
            base = _base_form(squeezed, vocabulary)
            if base is not None:
                return base
    return _typo_of(word, typo_targets) or word


def normalise_doc(
    doc: Doc, vocabulary: FrozenSet[str], typo_targets: FrozenSet[str]
) -> List[str]:
    """Writes each token's normalised form into its NORM and returns the forms.

    `Matcher` patterns on "NORM" then match the normalised forms.
    """
    forms = []
    for token in doc:
        form = normalise_word(token.norm_.lower(), vocabulary, typo_targets)
        token.norm_ = form
        forms.append(form)
    return forms


def vocabulary_of(*groups: Iterable[str]) -> FrozenSet[str]:
    """The union of word groups, as the frozen set `normalise_word` caches on."""
    return frozenset(word for group in groups for word in group)
