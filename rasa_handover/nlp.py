"""The shared spaCy tokenizer: a blank English pipeline, built once.

No pretrained spaCy model is needed (or downloadable): the rules only need
tokens and their surface forms.
"""

from functools import lru_cache

import spacy
from spacy.language import Language


@lru_cache(maxsize=1)
def blank_english() -> Language:
    """Returns a blank English spaCy pipeline (tokenizer only), cached."""
    return spacy.blank("en")
