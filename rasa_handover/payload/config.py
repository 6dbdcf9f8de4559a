"""How the payload is built: `PayloadConfig`, its defaults and its validation.

The account tier, high value and the team are not payload settings: the policy
decides them once (`high_value.slot` / `high_value.values` in config.yml, and
`handover_team` in domain.yml) and the payload reads its decision's evidence.
"""

import re
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

from rasa_handover.config_keys import checked_section
from rasa_handover.redaction import RedactionConfig

# --- Size bound. --------------------------------------------------------------

# 64 KiB holds a long support conversation (a few hundred messages) whole, and is
# far below what web servers, databases and message brokers accept by default.
DEFAULT_MAX_BYTES = 64 * 1024
# When the transcript must be cut, its opening (how the customer put the problem)
# and its end (where things stand now) matter most; the middle goes.
TRANSCRIPT_HEAD = 4
# At least this many of the latest messages are kept; more if they fit.
TRANSCRIPT_TAIL = 12

# --- Conversation facts. ------------------------------------------------------

# Mean sentiment over this many latest user messages: one curt "no" does not
# make a customer angry, three in a row might.
SENTIMENT_WINDOW = 3
# Frustration signals are looked for in this many latest user messages, the
# same window the frustration trigger uses by default.
FRUSTRATION_WINDOW = 3

# --- Language detection. ------------------------------------------------------

DEFAULT_LANGUAGES: Tuple[str, ...] = ("en", "de", "es", "fr", "it", "nl", "pt")
DETECTOR_AUTO = "auto"
DETECTOR_LINGUA = "lingua"
DETECTOR_STOPWORDS = "stopwords"
DETECTOR_OFF = "off"
LANGUAGE_DETECTORS: Tuple[str, ...] = (
    DETECTOR_AUTO,
    DETECTOR_LINGUA,
    DETECTOR_STOPWORDS,
    DETECTOR_OFF,
)
ACCURACY_HIGH = "high"
ACCURACY_LOW = "low"

_LANGUAGE_CODE_RE = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]+)*$", re.IGNORECASE)


# --- Configuration. -----------------------------------------------------------


@dataclass(frozen=True)
class PayloadConfig:
    """How the payload is built. Every field has a working default.

    `PayloadConfig.from_dict()` reads the same keys from a mapping (e.g. a YAML
    section of the action server's configuration) and names any bad key.
    """

    # Upper bound of the payload serialised as compact UTF-8 JSON, in bytes.
    max_bytes: int = DEFAULT_MAX_BYTES
    # When the transcript is cut to fit, keep this many opening messages ...
    transcript_head: int = TRANSCRIPT_HEAD
    # ... and at least this many latest ones (as many more as fit).
    transcript_tail: int = TRANSCRIPT_TAIL
    # PII masking applied before the payload (or any summariser) sees the
    # texts; see `redaction.RedactionConfig` for its keys.
    redaction: RedactionConfig = field(default_factory=RedactionConfig)
    # The languages the customer may write in (ISO 639-1 codes); detection
    # only chooses among these.
    languages: Tuple[str, ...] = DEFAULT_LANGUAGES
    # "auto" (lingua when installed, else stop words), "lingua",
    # "stopwords", or "off".
    language_detector: str = DETECTOR_AUTO
    # lingua's accuracy: "high" (about 210 MB and 1 s to load for 7
    # languages) or "low" (about 25 MB, but mixes up close languages such as
    # Spanish and Portuguese on short texts).
    language_accuracy: str = ACCURACY_HIGH
    # A detection below this confidence (0-1) is not trusted.
    language_min_confidence: float = 0.5
    # The language when no slot, metadata or confident detection says
    # (e.g. "en" for an English-only bot); None leaves it unknown.
    default_language: Optional[str] = None
    # A slot holding the customer's language; it wins over everything else.
    language_slot: str = "language"
    # User message metadata keys holding the language ("de-DE" reads "de").
    language_metadata_keys: Tuple[str, ...] = ("language", "lang", "locale")
    # Slots holding the customer's name, first set one wins ...
    name_slots: Tuple[str, ...] = ("name", "first_name", "customer_name")
    # ... else these keys of the latest user message's metadata.
    name_metadata_keys: Tuple[str, ...] = ("name", "customer_name", "first_name")
    # Slots holding the customer's id in your systems, first set one wins.
    id_slots: Tuple[str, ...] = ("customer_id", "user_id", "account_id")
    # Slots holding the customer's e-mail address, first set one wins.
    email_slots: Tuple[str, ...] = ("email", "customer_email", "user_email")
    # Slots left out of `slots` besides the plugin's own (always left out).
    exclude_slots: Tuple[str, ...] = ("session_started_metadata",)
    # Include slots whose value is None (the agent rarely needs them).
    include_empty_slots: bool = False
    # Mean sentiment over this many latest user messages.
    sentiment_window: int = SENTIMENT_WINDOW
    # Frustration signals are looked for in this many latest user messages.
    frustration_window: int = FRUSTRATION_WINDOW
    # The team when neither the evidence nor the caller (the domain's
    # `handover_team` of the latest intent) names one.
    default_team: Optional[str] = None

    @classmethod
    def default(cls) -> Dict[str, Any]:
        """Returns the default configuration as a plain mapping (for docs/YAML)."""
        config = cls()
        result: Dict[str, Any] = {}
        for item in fields(cls):
            value = getattr(config, item.name)
            if isinstance(value, RedactionConfig):
                value = {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
            result[item.name] = _plain(value)
        return result

    @classmethod
    def from_dict(cls, raw: Optional[Mapping[str, Any]]) -> "PayloadConfig":
        """Builds the configuration from a mapping; missing keys keep defaults.

        Args:
            raw: Keys as in `PayloadConfig.default()`; `redaction` is a mapping
                of `RedactionConfig` keys.

        Returns:
            The configuration.

        Raises:
            ValueError: naming the unknown key or the key with a bad value.

        """
        if raw is None:
            return cls()
        if isinstance(raw, Mapping):
            _check_moved_keys(raw)
        checked_section(raw, [f.name for f in fields(cls)], "payload config")
        values: Dict[str, Any] = {}
        for key, value in raw.items():
            if key == "redaction":
                values[key] = RedactionConfig.from_dict(value)
            else:
                values[key] = _FIELD_CHECKS[key](key, value)
        config = cls(**values)
        if config.language_detector == DETECTOR_LINGUA and not lingua_installed():
            raise ValueError(
                "payload config: language_detector is 'lingua' but the package "
                "lingua-language-detector is not installed (pip install "
                "lingua-language-detector), or use 'auto'."
            )
        return config


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


def _positive_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"payload config: {key} must be a positive integer, got {value!r}."
        )
    return value


def _non_negative_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"payload config: {key} must be an integer >= 0, got {value!r}."
        )
    return value


def _probability(key: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (0 <= value <= 1)
    ):
        raise ValueError(
            f"payload config: {key} must be a number from 0 to 1, got {value!r}."
        )
    return float(value)


def _name(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            f"payload config: {key} must be a non-empty name, got {value!r}."
        )
    return value


def _optional_name(key: str, value: Any) -> Optional[str]:
    return None if value is None else _name(key, value)


def _names(key: str, value: Any) -> Tuple[str, ...]:
    if (
        isinstance(value, str)
        or not isinstance(value, (list, tuple))
        or not all(isinstance(item, str) and item for item in value)
    ):
        raise ValueError(
            f"payload config: {key} must be a list of names, got {value!r}."
        )
    return tuple(value)


def _flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"payload config: {key} must be true or false, got {value!r}.")
    return value


def _choice(options: Sequence[str]) -> Callable[[str, Any], str]:
    def check(key: str, value: Any) -> str:
        if value not in options:
            raise ValueError(
                f"payload config: {key} must be one of {list(options)}, got {value!r}."
            )
        return str(value)

    return check


def _languages(key: str, value: Any) -> Tuple[str, ...]:
    codes = _names(key, value)
    bad = [code for code in codes if not _LANGUAGE_CODE_RE.match(code)]
    if bad or not codes:
        raise ValueError(
            f"payload config: {key} must be a non-empty list of ISO 639-1 codes "
            f"such as ['en', 'de'], got {value!r}."
        )
    return tuple(code.lower() for code in codes)


def _optional_language(key: str, value: Any) -> Optional[str]:
    if value is None:
        return None
    code = language_code(value)
    if code is None:
        raise ValueError(
            f"payload config: {key} must be a language code such as 'en', "
            f"got {value!r}."
        )
    return code


_FIELD_CHECKS: Dict[str, Callable[[str, Any], Any]] = {
    "max_bytes": _positive_int,
    "transcript_head": _non_negative_int,
    "transcript_tail": _non_negative_int,
    "languages": _languages,
    "language_detector": _choice(LANGUAGE_DETECTORS),
    "language_accuracy": _choice((ACCURACY_HIGH, ACCURACY_LOW)),
    "language_min_confidence": _probability,
    "default_language": _optional_language,
    "language_slot": _name,
    "language_metadata_keys": _names,
    "name_slots": _names,
    "name_metadata_keys": _names,
    "id_slots": _names,
    "email_slots": _names,
    "exclude_slots": _names,
    "include_empty_slots": _flag,
    "sentiment_window": _positive_int,
    "frustration_window": _positive_int,
    "default_team": _optional_name,
}

# Settings that moved out of the payload configuration, and where they live now.
MOVED_KEYS: Mapping[str, str] = {
    "tier_slot": (
        "the account tier is read from the slot the policy uses, "
        "`high_value.slot` of HandoverPolicy in config.yml"
    ),
    "high_value_tiers": (
        "high value is decided once, by the policy: set `high_value.values` of "
        "HandoverPolicy in config.yml"
    ),
    "intent_teams": (
        "the team of an intent is declared once, in domain.yml: "
        "`intents: [request_refund: {handover_team: billing}]`"
    ),
}


def _check_moved_keys(raw: Mapping[str, Any]) -> None:
    moved = [key for key in MOVED_KEYS if key in raw]
    if moved:
        where = "; ".join(f"`{key}`: {MOVED_KEYS[key]}" for key in moved)
        raise ValueError(
            f"payload config: {moved} are no longer payload settings, so that a "
            f"bot author sets each thing once and the payload cannot disagree "
            f"with the policy. {where}. Remove them from the `payload:` section."
        )


def lingua_installed() -> bool:
    """Whether the optional lingua-language-detector package is installed."""
    try:
        import lingua  # noqa: F401
    except ImportError:
        return False
    return True


def language_code(value: Any) -> Optional[str]:
    """Reads "de", "de-DE", "pt_BR" as an ISO 639 code; None otherwise."""
    if not isinstance(value, str):
        return None
    match = _LANGUAGE_CODE_RE.match(value.strip())
    return match.group(1).lower() if match else None
