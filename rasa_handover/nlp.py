"""The shared spaCy tokenizer: a blank English pipeline, built once.

No pretrained spaCy model is needed (or downloadable): the rules only need
tokens and their surface forms.
"""

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Token


@lru_cache(maxsize=1)
def blank_english() -> "Language":
    """Returns a blank English spaCy pipeline (tokenizer only), cached.

    spaCy is imported here, on first use, because importing it also loads
    TensorFlow when installed (seconds), which modules that only need the
    decision vocabulary should not pay for.
    """
    import spacy

    return spacy.blank("en")


def is_capitalised_word(token: "Token") -> bool:
    """A word written as names and addresses are.

    "JOHN", "Smith", "O'NEILL"; not "THE" or "I" (stop words), not "12".
    """
    word = token.text.replace("'", "").replace("-", "")
    return word.isalpha() and word[0].isupper() and not token.is_stop
