"""Messages with no word in them: punctuation alone, or a keyboard mash.

`no_words_kind(text)` says why a message carries no word in any language, or
returns `None`:

- `punctuation`: punctuation marks alone ("???", "?!", "...", "¿?"), by
  Unicode category, so it holds in every script. Faces made of brackets and
  colons (":(", ";)") say something and are left to the other rules; emoji are
  content-free turns (`content_free`).
- `keyboard_mash`: every run of letters is a walk along one row of a common
  keyboard layout, each letter next to the one before, five letters or more
  ("asdfghjk", "lkjhgf", "sdsdsdsd", "фывапролд"). Real words rarely are:
  none of 77,695 texts is read as having no word (the shipped NLU files in
  English, German and Spanish, the example bot's, CLINC150, Banking77 and
  GoEmotions train; Russian and Greek words were not tested). The layouts:
  QWERTY, QWERTZ, AZERTY, Spanish, Dvorak, Russian ЙЦУКЕН and Greek. A mash on
  another layout, or one that jumps between rows ("jfkdlsa"), is not seen.

Such a message is unclear whatever an intent classifier says: a classifier
puts every input on some intent, and short unknown strings land on short
intents ("asdfghjk" as `affirm` at 0.95 on the example bot). It is the one
rule of `low_confidence` that does not read NLU's confidence, and it reads no
vocabulary, so it works the same for a bot in any language. A pure function of
the text.
"""

import re
import unicodedata
from functools import lru_cache
from typing import Dict, FrozenSet, Optional, Tuple

NO_WORDS_PUNCTUATION = "punctuation"
NO_WORDS_KEYBOARD_MASH = "keyboard_mash"

# The letter rows of common keyboard layouts, as typed without shift.
KEYBOARD_ROWS: Tuple[str, ...] = (
    # QWERTY (English, Spanish with ñ, Portuguese, Italian, ...)
    "qwertyuiop",
    "asdfghjklñ",
    "zxcvbnm",
    # QWERTZ (German, Central Europe)
    "qwertzuiopü",
    "asdfghjklöä",
    "yxcvbnm",
    # AZERTY (French, Belgian)
    "azertyuiop",
    "qsdfghjklm",
    "wxcvbn",
    # Dvorak
    "pyfgcrl",
    "aoeuidhtns",
    "qjkxbmwvz",
    # Russian ЙЦУКЕН
    "йцукенгшщзхъ",
    "фывапролджэ",
    "ячсмитьбю",
    # Greek
    "ερτυθιοπ",
    "ασδφγηξκλ",
    "ζχψωβνμ",
)
# Letters in a row before a walk along it counts as a mash: "asdf", "were" and
# "wert" (German "value") are four.
KEYBOARD_MASH_MIN_LETTERS = 5

# Brackets, colons and semicolons make faces (":(", ";)", "(:"): a face says
# something, and the content-free rule reads the happy ones.
FACE_CATEGORIES = frozenset({"Ps", "Pe"})
FACE_PUNCTUATION = frozenset(":;")

_LETTER_RUN = re.compile(r"[^\W\d_]+")


@lru_cache(maxsize=1)
def _neighbours() -> Dict[str, FrozenSet[str]]:
    """Each key's neighbours along its row, over every layout."""
    found: Dict[str, set] = {}
    for row in KEYBOARD_ROWS:
        for left, right in zip(row, row[1:]):
            found.setdefault(left, set()).add(right)
            found.setdefault(right, set()).add(left)
    return {key: frozenset(keys) for key, keys in found.items()}


def _is_mash(word: str) -> bool:
    """Whether `word` walks along a keyboard row, each letter beside the last."""
    if len(word) < KEYBOARD_MASH_MIN_LETTERS:
        return False
    neighbours = _neighbours()
    return all(b in neighbours.get(a, ()) for a, b in zip(word, word[1:]))


def _only_punctuation(text: str) -> bool:
    """Whether `text` is punctuation alone, faces such as ":(" aside."""
    return all(
        character.isspace()
        or (
            unicodedata.category(character)[0] == "P"
            and unicodedata.category(character) not in FACE_CATEGORIES
            and character not in FACE_PUNCTUATION
        )
        for character in text
    )


def no_words_kind(text: str) -> Optional[str]:
    """Why `text` holds no word in any language, or `None` (see the module)."""
    stripped = (text or "").strip()
    if not stripped:
        return None
    if _only_punctuation(stripped):
        return NO_WORDS_PUNCTUATION
    if any(character.isdigit() for character in stripped):
        return None
    words = _LETTER_RUN.findall(stripped.lower())
    if words and all(_is_mash(word) for word in words):
        return NO_WORDS_KEYBOARD_MASH
    return None


def has_no_words(text: str) -> bool:
    """Whether `text` is punctuation alone or a keyboard mash."""
    return no_words_kind(text) is not None
