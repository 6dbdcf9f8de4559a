"""The learned frustration signal: a small linear text classifier.

A logistic regression over hashed word and character n-grams, trained by
``scripts/train_frustration_model.py`` on GoEmotions (Demszky et al. 2020,
Apache-2.0; positive: anger, annoyance or disgust), on support messages written
for it (``scripts/training_data/support_messages.yml``; positive: frustrated)
and on CLINC150's queries (CC BY 3.0; all calm). The shipped file
``data/frustration_model.npz`` holds the weights (one per hash bucket), the
bias and the decision thresholds chosen on GoEmotions dev and the support dev
set (docs/frustration.md); no pickle, no scikit-learn at run time, nothing
downloaded. The features are computed by `features` below, which the training
script imports too, so the model sees at run time exactly what it was trained
on.

The scorer is pure Python plus one NumPy gather: about as costly as the rule
detectors, and loaded once per process (about 10 ms).
"""

from __future__ import annotations

import functools
import json
import math
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple

from rasa_handover.constants import SIGNAL_ANGRY_TONE
from rasa_handover.signals.common import APOSTROPHES, DATA_DIR, Signal, message_span

__all__ = [
    "FEATURE_BITS",
    "FRUSTRATION_MODEL_FILE",
    "LearnedModel",
    "angry_probability",
    "angry_tone",
    "features",
    "learned_model",
]

FRUSTRATION_MODEL_FILE = DATA_DIR / "frustration_model.npz"
# 2**19 hash buckets: few collisions for the ~400k n-grams of the training set,
# and 1 MB of float16 weights (less once compressed).
FEATURE_BITS = 19
# Character n-grams inside word boundaries, as typed (misspellings, "fcking",
# "sooo") and word uni- and bigrams.
CHAR_NGRAMS = (3, 4, 5)
# Words of VADER's lexicon whose valence is at least this far from 0 add a
# valence feature (see `features`).
VALENCE_MIN = 0.5
# The format of the model file; the loader refuses other versions.
MODEL_FORMAT = 1

_WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[!?]+")
_LETTER_RE = re.compile(r"[^\W\d_]")
# GoEmotions replaces names and subreddits with placeholders; support chats
# carry real names, @handles and links, which mean nothing for the mood either.
_PLACEHOLDER_RE = re.compile(
    r"\[(?:name|religion)\]|/?r/\w+|@\w+|https?://\S+|www\.\S+", re.IGNORECASE
)


def features(text: str) -> List[str]:
    """The distinct features of one message, in a stable order.

    Lower-cased words (with their apostrophes) and "!"/"?" runs (capped at
    three marks), their bigrams, the character 3- to 5-grams of each word
    padded with spaces, and for each word in VADER's lexicon its valence
    rounded to a whole number ("v -3" for "furious"). The valence features let
    the model weigh words that Reddit's angry comments seldom use but support
    chats do ("incompetent", "furious"). Features are strings; `LearnedModel`
    hashes them.
    """
    return list(_hashed_features(text))


def feature_buckets(text: str) -> List[int]:
    """The buckets of a message's features (repeats kept: collisions add up)."""
    return list(_hashed_features(text).values())


def _hashed_features(text: str) -> Dict[str, int]:
    """Each distinct feature of ``text`` with its bucket (see `features`)."""
    lowered = _PLACEHOLDER_RE.sub(" ", text.translate(APOSTROPHES).lower())
    words = [
        word[:3] if word[0] in "!?" else word for word in _WORD_RE.findall(lowered)
    ]
    found: Dict[str, int] = {}
    for word in words:
        found.update(_word_unigram(word))
    for first, second in zip(words, words[1:]):
        feature = "b " + first + " " + second
        found[feature] = bucket(feature)
    for word in words:
        found.update(_word_features(word))
    return found


# Words repeat from message to message, so their features are hashed once: a
# few thousand words of a few dozen features each stay within a few megabytes.
WORD_CACHE_SIZE = 4096


@functools.lru_cache(maxsize=WORD_CACHE_SIZE)
def _word_unigram(word: str) -> Tuple[Tuple[str, int], ...]:
    feature = "w " + word
    return ((feature, bucket(feature)),)


@functools.lru_cache(maxsize=WORD_CACHE_SIZE)
def _word_features(word: str) -> Tuple[Tuple[str, int], ...]:
    """The valence and character n-gram features of one word, hashed."""
    found: Dict[str, None] = {}
    valence = _valences().get(word)
    if valence is not None and abs(valence) >= VALENCE_MIN:
        found[f"v {round(valence):+d}"] = None
    if word[0] not in "!?":
        padded = " " + word + " "
        for size in CHAR_NGRAMS:
            for start in range(len(padded) - size + 1):
                found["c " + padded[start : start + size]] = None
    return tuple((feature, bucket(feature)) for feature in found)


@functools.lru_cache(maxsize=None)
def _valences() -> Mapping[str, float]:
    """VADER's word valences (its lexicon ships inside its wheel)."""
    from rasa_handover.signals.sentiment import vader_lexicon

    return vader_lexicon()


def bucket(feature: str) -> int:
    """The hash bucket of one feature (CRC-32: stable across runs and machines)."""
    return zlib.crc32(feature.encode("utf-8")) & ((1 << FEATURE_BITS) - 1)


@dataclass(frozen=True)
class LearnedModel:
    """The shipped classifier: weights per bucket, bias and decision thresholds.

    Attributes:
        weights: One float per hash bucket (``2 ** FEATURE_BITS``).
        bias: The intercept.
        threshold: The probability at or above which the signal fires (counts
            as one sign of frustration).
        strong_threshold: The probability at or above which the signal counts
            as two signs, so that it is enough on its own.
        meta: Everything else the training script recorded (data, licence,
            hyper-parameters, figures).

    """

    weights: Any
    bias: float
    threshold: float
    strong_threshold: float
    meta: Mapping[str, Any]

    def probability(self, text: str) -> float:
        """The probability that ``text`` reads angry, annoyed or disgusted."""
        buckets = feature_buckets(text)
        if not buckets:
            return 0.0
        # Binary features scaled to unit length, as in training.
        total = float(self.weights.take(buckets).sum(dtype="float64"))
        score = self.bias + total / math.sqrt(len(buckets))
        return 1.0 / (1.0 + math.exp(-score))


def load_model(path: Path) -> LearnedModel:
    """Read a model file written by ``scripts/train_frustration_model.py``.

    Raises:
        ValueError: If the file is not a frustration model of this format.

    """
    import numpy as np

    with np.load(path, allow_pickle=False) as archive:
        meta: Dict[str, Any] = json.loads(str(archive["meta"]))
        weights = archive["weights"].astype(np.float32)
    if meta.get("format") != MODEL_FORMAT or meta.get("feature_bits") != FEATURE_BITS:
        raise ValueError(
            f"{path} is not a frustration model this version can read (format "
            f"{meta.get('format')!r}, feature_bits {meta.get('feature_bits')!r}; "
            f"expected {MODEL_FORMAT} and {FEATURE_BITS}). Retrain it with "
            f"scripts/train_frustration_model.py or reinstall rasa-handover."
        )
    if weights.shape != (1 << FEATURE_BITS,):
        raise ValueError(
            f"{path} holds {weights.shape} weights, expected {1 << FEATURE_BITS}; "
            f"retrain it with scripts/train_frustration_model.py."
        )
    return LearnedModel(
        weights=weights,
        bias=float(meta["bias"]),
        threshold=float(meta["threshold"]),
        strong_threshold=float(meta["strong_threshold"]),
        meta=meta,
    )


@functools.lru_cache(maxsize=None)
def learned_model() -> LearnedModel:
    """The shipped model, loaded once per process."""
    return load_model(FRUSTRATION_MODEL_FILE)


def angry_probability(text: str) -> float:
    """The shipped model's probability that ``text`` is angry/annoyed/disgusted."""
    return learned_model().probability(text)


def angry_tone(text: str) -> Tuple[Signal, ...]:
    """The ``angry_tone`` signal of one message, or nothing.

    Fires at the model's ``threshold``; the signal carries the probability
    (``score``, 3 decimals) and counts as two signs (``weight`` 2) at the
    model's ``strong_threshold``. Its evidence text is the whole message,
    trimmed and capped like the sentiment signal's. A message without a word
    ("???", "!!", an emoji) has no tone to read: its marks are
    ``punctuation_burst``'s sign, not a second one.
    """
    if not _LETTER_RE.search(text):
        return ()
    model = learned_model()
    probability = model.probability(text)
    if probability < model.threshold:
        return ()
    start, end = message_span(text)
    weight = 2 if probability >= model.strong_threshold else 1
    return (
        Signal(
            SIGNAL_ANGRY_TONE,
            text[start:end],
            start,
            end,
            score=round(probability, 3),
            weight=weight,
        ),
    )
