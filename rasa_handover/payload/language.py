"""The customer's language: from a slot, the channel's metadata, or detection.

Detection uses lingua (when installed) or a small stop-word model, and only
chooses among `PayloadConfig.languages`. Short texts stay undecided rather than
wrong.
"""

import functools
import logging
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

from rasa_handover.conversation import Transcript
from rasa_handover.languages import guess_by_function_words
from rasa_handover.payload.config import (
    ACCURACY_LOW,
    DETECTOR_LINGUA,
    DETECTOR_OFF,
    DETECTOR_STOPWORDS,
    PayloadConfig,
    language_code,
    lingua_installed,
)

logger = logging.getLogger(__name__)

# The customer's latest messages say the most about their language; older
# ones add little and cost detection time.
LANGUAGE_SAMPLE_MESSAGES = 10
LANGUAGE_SAMPLE_CHARS = 1000
# Below this many letters no detector is reliable: lingua reads "ok" as Dutch
# with 51 % confidence. The language then stays undecided (or the default).
LANGUAGE_MIN_LETTERS = 10

# Where a language came from (payload `language_detection.source`).
SOURCE_SLOT = "slot"
SOURCE_METADATA = "metadata"
SOURCE_DETECTED = "detected"
SOURCE_DEFAULT = "default"
SOURCE_UNKNOWN = "unknown"

# Button clicks arrive as "/intent{...}" payloads, which are not the customer's
# words (for language and sentiment).
BUTTON_PAYLOAD_PREFIX = "/"


@dataclass(frozen=True)
class LanguageGuess:
    """A detected language.

    Attributes:
        code: ISO 639-1 code, or None when undecided.
        confidence: The detector's confidence (0-1), if it gives one.
        detector: "lingua", "stopwords", or None when detection was off.

    """

    code: Optional[str]
    confidence: Optional[float]
    detector: Optional[str]


@functools.lru_cache(maxsize=4)
def _lingua_detector(languages: Tuple[str, ...], accuracy: str, preload: bool) -> Any:
    """Builds (once per settings) lingua's detector for `languages`."""
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    chosen = []
    for code in languages:
        try:
            chosen.append(Language.from_iso_code_639_1(IsoCode639_1.from_str(code)))
        except ValueError:
            logger.warning("rasa_handover: lingua does not know the language %r.", code)
    if len(chosen) < 2:
        return None
    builder = LanguageDetectorBuilder.from_languages(*chosen)
    if accuracy == ACCURACY_LOW:
        builder = builder.with_low_accuracy_mode()
    if preload:
        builder = builder.with_preloaded_language_models()
    return builder.build()


def preload_language_detector(config: Optional[PayloadConfig] = None) -> Optional[str]:
    """Loads the language models now rather than on the first handover.

    Call it when the action server starts, so that the first customer who is
    handed over does not wait for the models (about a second).

    Returns:
        The detector that will be used ("lingua", "stopwords") or None (off).

    """
    config = config or PayloadConfig()
    detector = _detector_name(config)
    if detector == DETECTOR_LINGUA:
        _lingua_detector(config.languages, config.language_accuracy, True)
    return detector


def _detector_name(config: PayloadConfig) -> Optional[str]:
    if config.language_detector == DETECTOR_OFF:
        return None
    if config.language_detector == DETECTOR_STOPWORDS:
        return DETECTOR_STOPWORDS
    if lingua_installed():
        return DETECTOR_LINGUA
    if config.language_detector == DETECTOR_LINGUA:
        logger.warning(
            "rasa_handover: lingua-language-detector is not installed; "
            "detecting the language from stop words."
        )
    return DETECTOR_STOPWORDS


def detect_language(text: str, config: Optional[PayloadConfig] = None) -> LanguageGuess:
    """Detects the language of the customer's text.

    Args:
        text: The customer's messages (one or several, joined by newlines).
        config: `languages`, `language_detector`, `language_accuracy` and
            `language_min_confidence` are used.

    Returns:
        The guess; `code` is None when the text is too short or too ambiguous
        for a confident answer.

    """
    config = config or PayloadConfig()
    detector = _detector_name(config)
    if detector is None:
        return LanguageGuess(None, None, None)
    if sum(char.isalpha() for char in text) < LANGUAGE_MIN_LETTERS:
        return LanguageGuess(None, None, detector)
    if detector == DETECTOR_LINGUA:
        code, confidence = _detect_with_lingua(text, config)
    else:
        code, confidence = guess_by_function_words(text, config.languages)
    if code is None or confidence < config.language_min_confidence:
        return LanguageGuess(None, round(confidence, 4), detector)
    return LanguageGuess(code, round(confidence, 4), detector)


def _detect_with_lingua(
    text: str, config: PayloadConfig
) -> Tuple[Optional[str], float]:
    detector = _lingua_detector(config.languages, config.language_accuracy, False)
    if detector is None:
        return guess_by_function_words(text, config.languages)
    values = detector.compute_language_confidence_values(text)
    if not values or values[0].value <= 0:
        return None, 0.0
    best = values[0]
    return best.language.iso_code_639_1.name.lower(), float(best.value)


def language_section(
    slots: Mapping[str, Any], transcript: Transcript, config: PayloadConfig
) -> Tuple[Optional[str], Dict[str, Any]]:
    """The payload's `language` and `language_detection`: slot, metadata, detection."""
    from_slot = language_code(slots.get(config.language_slot))
    if from_slot:
        return from_slot, {"source": SOURCE_SLOT, "confidence": None, "detector": None}
    from_metadata = language_code(
        transcript.latest_metadata(config.language_metadata_keys)
    )
    if from_metadata:
        return from_metadata, {
            "source": SOURCE_METADATA,
            "confidence": None,
            "detector": None,
        }
    texts = [
        m.text
        for m in transcript.user_messages[-LANGUAGE_SAMPLE_MESSAGES:]
        if m.text and not m.text.startswith(BUTTON_PAYLOAD_PREFIX)
    ]
    sample = "\n".join(texts)[-LANGUAGE_SAMPLE_CHARS:]
    guess = detect_language(sample, config)
    details = {"confidence": guess.confidence, "detector": guess.detector}
    if guess.code:
        return guess.code, {"source": SOURCE_DETECTED, **details}
    if config.default_language:
        return config.default_language, {"source": SOURCE_DEFAULT, **details}
    return None, {"source": SOURCE_UNKNOWN, **details}
