"""The context payload: everything the bot learned, for the agent who takes over.

The cardinal rule of rasa-handover is that the customer never re-explains. This
module turns a conversation (Rasa's serialised events, as rasa_sdk's
`tracker.events` gives them, and the current slot values) into one versioned JSON
document with the transcript, the intent history, the entities, the slots, the
sentiment, the trigger and its evidence, the customer's language, and a summary.
`docs/payload.md` describes every field; `docs/payload.schema.json` is its JSON
Schema (the canonical copy ships in the package, see `validate_payload`).

Before the payload is returned:

* PII is masked (`redaction`), and the summariser only ever sees redacted facts,
  so nothing that redaction removes is sent to an LLM either;
* it is bounded to `PayloadConfig.max_bytes`: long transcripts lose their
  *middle* (the opening and the latest messages are what an agent needs) with an
  explicit marker, and if that is not enough long strings are shortened with an
  explicit marker too. Nothing is dropped silently and every field stays.

This module is pure: it imports nothing from Rasa or rasa_sdk, only plain event
and slot dictionaries. Building a payload is synchronous and, on its first call,
loads the language models (about a second); from async code (an action's `run`),
use `build_payload_async`, and call `preload_language_detector` at start-up.
"""

import asyncio
import copy
import functools
import json
import logging
import re
import time
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import (
    Any,
    Callable,
    Dict,
    FrozenSet,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
)

from rasa_handover.constants import (
    ACTION_LISTEN,
    ALL_SIGNALS,
    POLICY_SLOTS,
    SLOT_ACCOUNT_TIER,
    SLOT_HANDOVER_EVIDENCE,
    SLOT_HANDOVER_OFFERED,
    SLOT_HANDOVER_REASON,
    SLOT_HANDOVER_TURN,
)
from rasa_handover.redaction import RedactionConfig, redact_payload
from rasa_handover.summary import (
    RULE_BASED_NAME,
    FactTurn,
    RuleBasedSummariser,
    Summariser,
    Summary,
    SummaryFacts,
)

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_LANGUAGES",
    "DEFAULT_MAX_BYTES",
    "PAYLOAD_VERSION",
    "SCHEMA_FILE",
    "TRANSCRIPT_HEAD",
    "TRANSCRIPT_TAIL",
    "InvalidPayloadError",
    "LanguageGuess",
    "PayloadConfig",
    "build_payload",
    "build_payload_async",
    "detect_language",
    "load_schema",
    "payload_size",
    "preload_language_detector",
    "validate_payload",
]

# The payload format's version. A consumer may rely on every field of its major
# version; a minor bump only adds fields.
PAYLOAD_VERSION = "1.0"
SCHEMA_FILE = Path(__file__).resolve().parent / "data" / "payload.schema.json"

# --- Size bound. --------------------------------------------------------------

# 64 KiB holds a long support conversation (a few hundred messages) whole, and is
# far below what web servers, databases and message brokers accept by default.
DEFAULT_MAX_BYTES = 64 * 1024
# When the transcript must be cut, its opening (how the customer put the problem)
# and its end (where things stand now) matter most; the middle goes.
TRANSCRIPT_HEAD = 4
# At least this many of the latest messages are kept; more if they fit.
TRANSCRIPT_TAIL = 12
# The same for the intent history (one entry per user turn), which is only cut
# when the transcript alone could not make the payload fit.
INTENT_HISTORY_HEAD = 3
INTENT_HISTORY_TAIL = 8
# No chat message is this long; a string this long (a slot holding a document
# or a data blob) is shortened before any message is dropped.
LONG_STRING_CHARS = 2000
# Strings are never shortened below this: shorter is no longer readable.
MIN_STRING_CHARS = 80

# --- Conversation facts. ------------------------------------------------------

# Mean sentiment over this many latest user messages: one curt "no" does not
# make a customer angry, three in a row might.
SENTIMENT_WINDOW = 3
# Frustration signals are looked for in this many latest user messages, the
# same window the frustration trigger uses by default.
FRUSTRATION_WINDOW = 3
# Confidences are rounded for readability; four places still tell 0.5501 from
# 0.55 (a floor).
CONFIDENCE_DECIMALS = 4
SENTIMENT_DECIMALS = 4

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
# The customer's latest messages say the most about their language; older
# ones add little and cost detection time.
LANGUAGE_SAMPLE_MESSAGES = 10
LANGUAGE_SAMPLE_CHARS = 1000
# The stop-word detector needs at least this many function words to decide.
STOPWORD_MIN_HITS = 2
# Below this many letters no detector is reliable: lingua reads "ok" as Dutch
# with 51 % confidence. The language then stays undecided (or the default).
LANGUAGE_MIN_LETTERS = 10

# Where a language came from (payload `language_detection.source`).
SOURCE_SLOT = "slot"
SOURCE_METADATA = "metadata"
SOURCE_DETECTED = "detected"
SOURCE_DEFAULT = "default"
SOURCE_UNKNOWN = "unknown"

_LANGUAGE_CODE_RE = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]+)*$", re.IGNORECASE)
_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
# Button clicks arrive as "/intent{...}" payloads, which are not the customer's
# words (for language and sentiment).
_PAYLOAD_TEXT_PREFIX = "/"


def _words(text: str) -> FrozenSet[str]:
    return frozenset(text.split())


# Frequent function words: they make up a large share of any sentence and
# differ between these languages. Words shared by several languages ("de",
# "no") count for each, weighted down by how many share them.
# fmt: off
STOPWORDS: Mapping[str, FrozenSet[str]] = {
    "en": _words("""
        the and is are was were my you your it its to of for with have has not
        this that what can please want need how why i i'm don't me be been will
        would could do does did an at on from but if or there they their we our
        any just hi hello thanks thank yes no"""),
    "de": _words("""
        der die das und ist nicht ich mein meine sie wir ein eine einen mit für
        auf bitte habe hat warum wie was kann möchte noch schon aber auch zu den
        dem des bei sind wurde keine mir mich ja nein hallo danke sehr oder wenn
        wo mein bestellung geld"""),
    "es": _words("""
        el la los las y es no que de por para con mi mis una un está estoy quiero
        necesito pero como qué gracias hola favor sí también muy del al se lo su
        yo tengo puedo dónde cuándo"""),
    "fr": _words("""
        le la les et est je ne pas un une des du mon ma mes pour avec que qui
        vous nous bonjour merci veux voudrais c'est j'ai mais très sur dans au
        aux il elle oui non ce cette est-ce"""),
    "it": _words("""
        il lo la gli le e è non che di un una per con mio mia sono ho voglio
        vorrei grazie ciao buongiorno perché come ma anche del della nel questo
        sì no mi ti è"""),
    "nl": _words("""
        de het een en is niet ik mijn je jij u wij met voor op van dat wat
        waarom hoe graag bedankt hallo wil kan maar ook geen heb heeft zijn er
        naar bij ja nee dank alstublieft"""),
    "pt": _words("""
        o a os as e é não que de um uma para com meu minha eu você obrigado
        obrigada olá quero preciso mas também está estou do da dos das no na
        por favor sim tenho posso onde"""),
}
# fmt: on


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
    # The slot holding the account tier (the policy's `high_value.slot`).
    tier_slot: str = SLOT_ACCOUNT_TIER
    # Tiers that mark a high-value account when the evidence does not say
    # (the policy's `high_value.values`).
    high_value_tiers: Tuple[str, ...] = ("enterprise", "vip")
    # Slots left out of `slots` besides the plugin's own (always left out).
    exclude_slots: Tuple[str, ...] = ("session_started_metadata",)
    # Include slots whose value is None (the agent rarely needs them).
    include_empty_slots: bool = False
    # Mean sentiment over this many latest user messages.
    sentiment_window: int = SENTIMENT_WINDOW
    # Frustration signals are looked for in this many latest user messages.
    frustration_window: int = FRUSTRATION_WINDOW
    # The team when neither the evidence nor the caller names one ...
    default_team: Optional[str] = None
    # ... or per intent, e.g. {"request_refund": "billing"}.
    intent_teams: Mapping[str, str] = field(default_factory=dict)

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
        if not isinstance(raw, Mapping):
            raise ValueError(f"payload config: expected a mapping, got {raw!r}.")
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise ValueError(
                f"payload config: unknown key(s) {unknown}; valid keys are "
                f"{sorted(known)}."
            )
        values: Dict[str, Any] = {}
        for key, value in raw.items():
            if key == "redaction":
                values[key] = RedactionConfig.from_dict(value)
            else:
                values[key] = _FIELD_CHECKS[key](key, value)
        config = cls(**values)
        if config.language_detector == DETECTOR_LINGUA and not _lingua_installed():
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


def _name_mapping(key: str, value: Any) -> Dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()
    ):
        raise ValueError(
            f"payload config: {key} must map names to names, e.g. "
            f"{{request_refund: billing}}, got {value!r}."
        )
    return dict(value)


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
    code = _language_code(value)
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
    "tier_slot": _name,
    "high_value_tiers": _names,
    "exclude_slots": _names,
    "include_empty_slots": _flag,
    "sentiment_window": _positive_int,
    "frustration_window": _positive_int,
    "default_team": _optional_name,
    "intent_teams": _name_mapping,
}


# --- Language detection. ------------------------------------------------------


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


def _lingua_installed() -> bool:
    try:
        import lingua  # noqa: F401
    except ImportError:
        return False
    return True


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
    if _lingua_installed():
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
        code, confidence = _detect_with_stopwords(text, config.languages)
    if code is None or confidence < config.language_min_confidence:
        return LanguageGuess(None, round(confidence, 4), detector)
    return LanguageGuess(code, round(confidence, 4), detector)


def _detect_with_lingua(
    text: str, config: PayloadConfig
) -> Tuple[Optional[str], float]:
    detector = _lingua_detector(config.languages, config.language_accuracy, False)
    if detector is None:
        return _detect_with_stopwords(text, config.languages)
    values = detector.compute_language_confidence_values(text)
    if not values or values[0].value <= 0:
        return None, 0.0
    best = values[0]
    return best.language.iso_code_639_1.name.lower(), float(best.value)


def _detect_with_stopwords(
    text: str, languages: Sequence[str]
) -> Tuple[Optional[str], float]:
    candidates = [code for code in languages if code in STOPWORDS]
    scores = dict.fromkeys(candidates, 0.0)
    hits = 0
    for word in _WORD_RE.findall(text.lower().replace("\u2019", "'")):
        owners = [code for code in candidates if word in STOPWORDS[code]]
        if owners:
            hits += 1
            for code in owners:
                scores[code] += 1.0 / len(owners)
    if hits < STOPWORD_MIN_HITS or not scores:
        return None, 0.0
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    total = sum(scores.values())
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None, ranked[0][1] / total
    return ranked[0][0], ranked[0][1] / total


def _language_code(value: Any) -> Optional[str]:
    """Reads "de", "de-DE", "pt_BR" as an ISO 639 code; None otherwise."""
    if not isinstance(value, str):
        return None
    match = _LANGUAGE_CODE_RE.match(value.strip())
    return match.group(1).lower() if match else None


# --- Reading the events. ------------------------------------------------------


@dataclass
class _UserMessage:
    """A user event, numbered the way the policy numbers turns."""

    text: str
    timestamp: Optional[float]
    intent: Optional[str]
    confidence: Optional[float]
    entities: List[Dict[str, Any]]
    metadata: Mapping[str, Any]
    session: int
    turn: Optional[int] = None  # None for a message that was rewound


@dataclass
class _Conversation:
    """What one forward pass over the events finds."""

    transcript: List[Dict[str, Any]] = field(default_factory=list)
    messages: List[_UserMessage] = field(default_factory=list)
    bot_actions: List[str] = field(default_factory=list)
    forms: List[str] = field(default_factory=list)
    customer_slots: List[str] = field(default_factory=list)
    input_channel: Optional[str] = None

    @property
    def turns(self) -> List[_UserMessage]:
        """The user messages that count as turns (not rewound), in order."""
        return [m for m in self.messages if m.turn is not None]

    def latest_metadata(self, keys: Sequence[str]) -> Optional[Any]:
        """The latest user metadata value under any of `keys`."""
        for message in reversed(self.messages):
            for key in keys:
                value = message.metadata.get(key)
                if value not in (None, ""):
                    return value
        return None


def _applied_user_events(events: Sequence[Mapping[str, Any]]) -> Dict[int, int]:
    """Numbers the user events that count, the way the policy does.

    Rasa's `applied_events()` drops what a rewind (`UserUtteranceReverted`) or an
    undo (`ActionReverted`) takes back; the policy numbers the remaining user
    messages from 1 within each session. `handover_turn` uses those numbers, so
    the intent history must too.

    Returns:
        Event index -> turn number, for the user events that count.

    """
    numbers: Dict[int, int] = {}
    stack: List[Tuple[str, int]] = []

    def flush() -> None:
        turn = 0
        for kind, index in stack:
            if kind == "user":
                turn += 1
                numbers[index] = turn
        stack.clear()

    def undo_till(kind: str) -> None:
        while stack:
            if stack.pop()[0] == kind:
                return

    for index, event in enumerate(events):
        kind = event.get("event")
        if kind in ("restart", "session_started"):
            flush()
        elif kind == "rewind":
            undo_till("user")
            undo_till("action")
        elif kind == "undo":
            undo_till("action")
        elif kind in ("user", "action"):
            stack.append((str(kind), index))
        else:
            stack.append(("other", index))
    flush()
    return numbers


def _read_events(events: Sequence[Mapping[str, Any]]) -> _Conversation:
    conversation = _Conversation()
    numbers = _applied_user_events(events)
    forms = {
        str(e.get("name"))
        for e in events
        if e.get("event") == "active_loop" and e.get("name")
    }
    session = 1
    latest_action: Optional[str] = None
    # Slots set right after a user message, before any action, come from the
    # domain's slot mappings (Rasa's action_extract_slots is not logged as an
    # action): the customer gave them. So did slots a form validated.
    after_user = False
    for index, event in enumerate(events):
        kind = event.get("event")
        if kind in ("restart", "session_started") and index > 0:
            if conversation.messages and conversation.messages[-1].session == session:
                session += 1
        elif kind == "user":
            conversation.messages.append(
                _user_message(event, session, numbers.get(index))
            )
            conversation.transcript.append(_user_entry(event))
            if event.get("input_channel"):
                conversation.input_channel = str(event["input_channel"])
            after_user = True
        elif kind == "bot":
            conversation.transcript.append(_bot_entry(event, latest_action))
        elif kind == "action":
            name = event.get("name")
            after_user = False
            if name and name != ACTION_LISTEN:
                latest_action = str(name)
                # A form or a fallback runs over and over; once per run of
                # the same action is what the bot "tried".
                if not conversation.bot_actions or (
                    conversation.bot_actions[-1] != latest_action
                ):
                    conversation.bot_actions.append(latest_action)
        elif kind == "active_loop" and event.get("name"):
            name = str(event["name"])
            if name not in conversation.forms:
                conversation.forms.append(name)
        elif kind == "slot":
            name = event.get("name")
            from_customer = after_user or (
                latest_action is not None
                and (latest_action in forms or latest_action.startswith("validate_"))
            )
            if (
                name
                and from_customer
                and name not in POLICY_SLOTS
                and name != "requested_slot"
                and name not in conversation.customer_slots
            ):
                conversation.customer_slots.append(str(name))
    return conversation


def _round(value: Any, places: int) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return round(float(value), places)


def _user_message(
    event: Mapping[str, Any], session: int, turn: Optional[int]
) -> _UserMessage:
    parse_data = event.get("parse_data") or {}
    intent = parse_data.get("intent") or event.get("intent") or {}
    entities = parse_data.get("entities") or event.get("entities") or []
    metadata = event.get("metadata") or parse_data.get("metadata") or {}
    return _UserMessage(
        text=str(event.get("text") or ""),
        timestamp=_round(event.get("timestamp"), 6),
        intent=intent.get("name"),
        confidence=_round(intent.get("confidence"), CONFIDENCE_DECIMALS),
        entities=[
            _json_safe(
                {
                    key: entity[key]
                    for key in ("entity", "value", "role", "group")
                    if entity.get(key) is not None
                }
            )
            for entity in entities
            if isinstance(entity, Mapping) and entity.get("entity")
        ],
        metadata=metadata if isinstance(metadata, Mapping) else {},
        session=session,
        turn=turn,
    )


def _user_entry(event: Mapping[str, Any]) -> Dict[str, Any]:
    intent = (event.get("parse_data") or {}).get("intent") or {}
    return {
        "role": "user",
        "text": str(event.get("text") or ""),
        "timestamp": _round(event.get("timestamp"), 6),
        "intent": intent.get("name"),
    }


def _bot_entry(
    event: Mapping[str, Any], latest_action: Optional[str]
) -> Dict[str, Any]:
    metadata = event.get("metadata") or {}
    data = event.get("data") or {}
    action = metadata.get("utter_action") if isinstance(metadata, Mapping) else None
    entry: Dict[str, Any] = {
        "role": "bot",
        "text": str(event.get("text") or _describe_rich_message(data)),
        "timestamp": _round(event.get("timestamp"), 6),
        "action": action or latest_action,
    }
    buttons = [
        str(button.get("title"))
        for button in (data.get("buttons") or data.get("quick_replies") or [])
        if isinstance(button, Mapping) and button.get("title")
    ]
    if buttons:
        entry["buttons"] = buttons
    return entry


def _describe_rich_message(data: Mapping[str, Any]) -> str:
    """A text stand-in for a bot message without text (image, card, custom)."""
    if data.get("image"):
        return f"[image] {data['image']}"
    if data.get("attachment"):
        return "[attachment]"
    if data.get("elements"):
        return "[carousel]"
    if data.get("custom"):
        # Never the custom payload itself: an earlier handover's payload would
        # nest inside this one.
        return "[custom message]"
    return ""


def _json_safe(value: Any) -> Any:
    """A JSON-serialisable copy (tuples become lists, unknown objects text)."""
    return json.loads(json.dumps(value, default=str))


# --- Building the sections. ---------------------------------------------------


def _customer(
    slots: Mapping[str, Any], conversation: _Conversation, config: PayloadConfig
) -> Dict[str, Any]:
    def first_slot(names: Sequence[str]) -> Optional[str]:
        for name in names:
            value = slots.get(name)
            if value not in (None, ""):
                return str(value)
        return None

    name = first_slot(config.name_slots)
    if name is None:
        from_metadata = conversation.latest_metadata(config.name_metadata_keys)
        name = str(from_metadata) if from_metadata is not None else None
    return {
        "name": name,
        "id": first_slot(config.id_slots),
        "email": first_slot(config.email_slots),
    }


def _language(
    slots: Mapping[str, Any], conversation: _Conversation, config: PayloadConfig
) -> Tuple[Optional[str], Dict[str, Any]]:
    from_slot = _language_code(slots.get(config.language_slot))
    if from_slot:
        return from_slot, {"source": SOURCE_SLOT, "confidence": None, "detector": None}
    from_metadata = _language_code(
        conversation.latest_metadata(config.language_metadata_keys)
    )
    if from_metadata:
        return from_metadata, {
            "source": SOURCE_METADATA,
            "confidence": None,
            "detector": None,
        }
    texts = [
        m.text
        for m in conversation.messages[-LANGUAGE_SAMPLE_MESSAGES:]
        if m.text and not m.text.startswith(_PAYLOAD_TEXT_PREFIX)
    ]
    sample = "\n".join(texts)[-LANGUAGE_SAMPLE_CHARS:]
    guess = detect_language(sample, config)
    details = {"confidence": guess.confidence, "detector": guess.detector}
    if guess.code:
        return guess.code, {"source": SOURCE_DETECTED, **details}
    if config.default_language:
        return config.default_language, {"source": SOURCE_DEFAULT, **details}
    return None, {"source": SOURCE_UNKNOWN, **details}


def _evidence(raw: Any) -> Dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {"text": raw}
    if isinstance(raw, Mapping):
        return dict(_json_safe(dict(raw)))
    return {"value": _json_safe(raw)}


def _turn_number(value: Any) -> Optional[int]:
    # The policy's slot is a float slot in most domains ("3.0").
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _trigger(
    slots: Mapping[str, Any],
    intent_history: Sequence[Mapping[str, Any]],
    team: Optional[str],
    config: PayloadConfig,
) -> Dict[str, Any]:
    evidence = _evidence(slots.get(SLOT_HANDOVER_EVIDENCE))
    chosen_team = evidence.get("team") or team
    if not chosen_team:
        # The intent the trigger names, else the latest one with a team.
        intents = [evidence.get("intent")] + [
            item.get("intent") for item in reversed(intent_history)
        ]
        chosen_team = next(
            (
                config.intent_teams[intent]
                for intent in intents
                if isinstance(intent, str) and intent in config.intent_teams
            ),
            None,
        )
    reason = slots.get(SLOT_HANDOVER_REASON)
    return {
        "reason": str(reason) if reason else None,
        "evidence": evidence,
        "turn": _turn_number(slots.get(SLOT_HANDOVER_TURN)),
        "team": str(chosen_team) if chosen_team else config.default_team,
        "offered_before": bool(slots.get(SLOT_HANDOVER_OFFERED)),
    }


def _intent_history(conversation: _Conversation) -> List[Dict[str, Any]]:
    return [
        {
            "turn": message.turn,
            "session": message.session,
            "intent": message.intent,
            "confidence": message.confidence,
            "text": message.text,
            "entities": message.entities,
        }
        for message in conversation.turns
    ]


def _entities(conversation: _Conversation) -> List[Dict[str, Any]]:
    latest: Dict[Tuple[Any, ...], Dict[str, Any]] = {}
    for message in conversation.turns:
        for entity in message.entities:
            key = (entity.get("entity"), entity.get("role"), entity.get("group"))
            latest.pop(key, None)  # re-inserted: latest mention last
            latest[key] = {**entity, "turn": message.turn, "session": message.session}
    return list(latest.values())


def _slots(slots: Mapping[str, Any], config: PayloadConfig) -> Dict[str, Any]:
    excluded = set(POLICY_SLOTS) | set(config.exclude_slots)
    return {
        name: _json_safe(value)
        for name, value in slots.items()
        if name not in excluded and (value is not None or config.include_empty_slots)
    }


def _account(
    slots: Mapping[str, Any], evidence: Mapping[str, Any], config: PayloadConfig
) -> Dict[str, Any]:
    tier = slots.get(config.tier_slot)
    high_value = evidence.get("high_value")
    if not isinstance(high_value, bool):
        tiers = {t.lower() for t in config.high_value_tiers}
        high_value = tier is not None and str(tier).strip().lower() in tiers
    return {"tier": None if tier is None else str(tier), "high_value": high_value}


def _sentiment(conversation: _Conversation, config: PayloadConfig) -> Dict[str, Any]:
    # Imported here: signals pulls in spaCy, which only this section needs.
    from rasa_handover.signals import detect_signals, sentiment_score

    texts = [
        m.text
        for m in conversation.messages
        if m.text.strip() and not m.text.startswith(_PAYLOAD_TEXT_PREFIX)
    ]
    recent = texts[-config.sentiment_window :]
    scores = [sentiment_score(text) for text in recent]
    seen: Set[str] = set()
    for text in texts[-config.frustration_window :]:
        seen.update(signal.name for signal in detect_signals(text))
    return {
        "score": round(sum(scores) / len(scores), SENTIMENT_DECIMALS)
        if scores
        else None,
        "latest": round(scores[-1], SENTIMENT_DECIMALS) if scores else None,
        "frustration_signals": [name for name in ALL_SIGNALS if name in seen],
    }


def _facts(payload: Mapping[str, Any], conversation: _Conversation) -> SummaryFacts:
    """The summariser's input, taken from the already redacted payload."""
    turns = tuple(
        FactTurn(
            turn=int(item["turn"]),
            text=str(item.get("text") or ""),
            intent=item.get("intent"),
            confidence=item.get("confidence"),
            entities=tuple(
                (str(e.get("entity")), e.get("value"))
                for e in item.get("entities") or []
            ),
        )
        for item in payload["intent_history"]
    )
    trigger = payload["trigger"]
    return SummaryFacts(
        user_turns=turns,
        bot_actions=tuple(conversation.bot_actions),
        slots=dict(payload["slots"]),
        customer_slots=tuple(
            s for s in conversation.customer_slots if s in payload["slots"]
        ),
        forms=tuple(conversation.forms),
        trigger_reason=trigger["reason"],
        trigger_evidence=dict(trigger["evidence"]),
        frustration_signals=tuple(payload["sentiment"]["frustration_signals"]),
        customer_name=payload["customer"]["name"],
    )


def _summarise(summariser: Summariser, facts: SummaryFacts) -> Dict[str, Any]:
    try:
        summary = summariser.summarise(facts)
        name = summary.summariser or summariser.name
    except Exception as error:  # a summary must never block a handover
        logger.exception("rasa_handover: the summariser %r failed.", summariser)
        summary = RuleBasedSummariser().summarise(facts)
        failed = getattr(summariser, "name", "summariser")
        name = f"{RULE_BASED_NAME} ({failed}_failed: {type(error).__name__})"
    return _summary_dict(summary, name)


def _summary_dict(summary: Summary, name: str) -> Dict[str, Any]:
    return {
        "goal": summary.goal,
        "tried": list(summary.tried),
        "provided": list(summary.provided),
        "text": summary.text,
        "summariser": name,
    }


# --- Size bound. --------------------------------------------------------------


def payload_size(payload: Mapping[str, Any]) -> int:
    """The payload's size in bytes, serialised as compact UTF-8 JSON."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
    return len(text.encode("utf-8"))


def _transcript_marker(omitted: int) -> Dict[str, Any]:
    return {
        "role": "system",
        "text": f"[... {omitted} messages omitted ...]",
        "omitted": omitted,
    }


def _history_marker(omitted: int) -> Dict[str, Any]:
    return {
        "turn": None,
        "session": None,
        "intent": None,
        "confidence": None,
        "text": f"[... {omitted} turns omitted ...]",
        "entities": [],
        "omitted": omitted,
    }


def _cut_middle(
    payload: Dict[str, Any],
    key: str,
    head: int,
    min_tail: int,
    marker: Callable[[int], Dict[str, Any]],
    max_bytes: int,
) -> bool:
    """Drops the middle of `payload[key]`, keeping as many latest items as fit.

    Returns:
        True if items were dropped.

    """
    items = payload[key]
    if len(items) <= head + min_tail + 1:
        return False

    def with_tail(tail: int) -> List[Dict[str, Any]]:
        omitted = len(items) - head - tail
        return [*items[:head], marker(omitted), *items[len(items) - tail :]]

    def fits(tail: int) -> bool:
        return payload_size({**payload, key: with_tail(tail)}) <= max_bytes

    # The largest tail that fits (the size grows with the tail).
    low, high = min_tail, len(items) - head - 1
    if not fits(low):
        best = low
    else:
        best = low
        while low <= high:
            middle = (low + high) // 2
            if fits(middle):
                best, low = middle, middle + 1
            else:
                high = middle - 1
    payload[key] = with_tail(best)
    return True


def _shorten_strings(value: Any, limit: int) -> Tuple[Any, int]:
    """Shortens every string longer than `limit`; returns how many it shortened."""
    if isinstance(value, str):
        if len(value) <= limit:
            return value, 0
        marker_room = len(f"…[truncated {len(value)} chars]")
        keep = max(limit - marker_room, 0)
        return f"{value[:keep]}…[truncated {len(value) - keep} chars]", 1
    if isinstance(value, dict):
        result, count = {}, 0
        for k, v in value.items():
            result[k], n = _shorten_strings(v, limit)
            count += n
        return result, count
    if isinstance(value, list):
        shortened = [_shorten_strings(v, limit) for v in value]
        return [v for v, _ in shortened], sum(n for _, n in shortened)
    return value, 0


def _bound(payload: Dict[str, Any], config: PayloadConfig) -> Dict[str, Any]:
    """Makes the payload fit `config.max_bytes` (see the module docstring)."""
    limit = config.max_bytes
    if payload_size(payload) <= limit:
        return payload
    # 1. A giant string (a document in a slot) goes first: cutting it loses less
    #    than dropping messages.
    shortened, count = _shorten_strings(payload, LONG_STRING_CHARS)
    if count:
        payload = {**shortened, "strings_truncated": True}
    # 2. The middle of the transcript, then of the intent history.
    if payload_size(payload) > limit and _cut_middle(
        payload,
        "transcript",
        config.transcript_head,
        config.transcript_tail,
        _transcript_marker,
        limit,
    ):
        payload["transcript_truncated"] = True
    if payload_size(payload) > limit and _cut_middle(
        payload,
        "intent_history",
        INTENT_HISTORY_HEAD,
        INTENT_HISTORY_TAIL,
        _history_marker,
        limit,
    ):
        payload["intent_history_truncated"] = True
    # 3. Shorter and shorter strings everywhere.
    original = payload
    max_chars = LONG_STRING_CHARS
    while payload_size(payload) > limit and max_chars > MIN_STRING_CHARS:
        max_chars = max(max_chars // 2, MIN_STRING_CHARS)
        shortened, count = _shorten_strings(original, max_chars)
        if count:
            payload = {**shortened, "strings_truncated": True}
    size = payload_size(payload)
    if size > limit:
        logger.warning(
            "rasa_handover: the payload of conversation %s is %d bytes after "
            "truncation, above max_bytes=%d (too many slots or entities?); "
            "sending it anyway.",
            payload.get("conversation_id"),
            size,
            limit,
        )
    return payload


# --- Public API. --------------------------------------------------------------


def build_payload(
    conversation_id: str,
    events: Sequence[Mapping[str, Any]],
    slots: Mapping[str, Any],
    *,
    channel: Optional[str],
    attempt: int,
    config: PayloadConfig = PayloadConfig(),
    summariser: Optional[Summariser] = None,
    now: Optional[float] = None,
    team: Optional[str] = None,
) -> Dict[str, Any]:
    """Builds the context payload the agent receives.

    Args:
        conversation_id: The conversation (sender) id.
        events: Rasa's serialised events, oldest first (rasa_sdk's
            `tracker.events`).
        slots: Current slot values (rasa_sdk's `tracker.slots`).
        channel: The input channel's name; None takes it from the latest user
            message (`input_channel`).
        attempt: The handover attempt number, from 1; with `conversation_id`
            it makes ticket creation idempotent.
        config: How to build it.
        summariser: Writes the summary; the rule-based one by default.
        now: Unix time of `created_at`; the current time by default.
        team: The team to route to when the trigger's evidence names none
            (e.g. the latest intent's `handover_team` from the domain).

    Returns:
        The payload, redacted and within `config.max_bytes` (see
        docs/payload.md); `validate_payload` accepts it.

    Raises:
        ValueError: if `attempt` is not a positive integer.

    """
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        raise ValueError(f"attempt must be a positive integer, got {attempt!r}.")
    slots = dict(slots or {})
    conversation = _read_events(events)
    intent_history = _intent_history(conversation)
    trigger = _trigger(slots, intent_history, team, config)
    language, language_detection = _language(slots, conversation, config)
    created = datetime.fromtimestamp(time.time() if now is None else now, timezone.utc)
    latest = intent_history[-1] if intent_history else None
    raw: Dict[str, Any] = {
        "version": PAYLOAD_VERSION,
        "conversation_id": str(conversation_id),
        "attempt": attempt,
        "created_at": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "channel": channel or conversation.input_channel,
        "customer": _customer(slots, conversation, config),
        "language": language,
        "language_detection": language_detection,
        "trigger": trigger,
        "intent": (
            {"name": latest["intent"], "confidence": latest["confidence"]}
            if latest
            else None
        ),
        "intent_history": intent_history,
        "entities": _entities(conversation),
        "slots": _slots(slots, config),
        "account": _account(slots, trigger["evidence"], config),
        "sentiment": _sentiment(conversation, config),
        "transcript": conversation.transcript,
        "transcript_truncated": False,
        "intent_history_truncated": False,
        "strings_truncated": False,
        "redaction": {
            "detectors": list(config.redaction.active_detectors),
            "masked_slots": list(config.redaction.slots_to_mask)
            if config.redaction.enabled
            else [],
            "masked_entities": list(config.redaction.entities_to_mask)
            if config.redaction.enabled
            else [],
        },
    }
    payload = redact_payload(raw, config.redaction)
    summary = _summarise(
        summariser or RuleBasedSummariser(), _facts(payload, conversation)
    )
    # The summary is written from redacted facts; redacting it once more, with the
    # original values to look for, catches anything a summariser added back.
    payload["summary"] = redact_payload(
        {"slots": raw["slots"], "entities": raw["entities"], "summary": summary},
        config.redaction,
    )["summary"]
    return _bound(payload, config)


async def build_payload_async(
    conversation_id: str,
    events: Sequence[Mapping[str, Any]],
    slots: Mapping[str, Any],
    **options: Any,
) -> Dict[str, Any]:
    """`build_payload` in a worker thread, for async code such as an action's run.

    Language models load and LLM summarisers answer in seconds; this keeps the
    action server's event loop free meanwhile. Takes the same arguments.
    """
    loop = asyncio.get_running_loop()
    call = functools.partial(build_payload, conversation_id, events, slots, **options)
    return await loop.run_in_executor(None, call)


# --- Schema. ------------------------------------------------------------------


class InvalidPayloadError(ValueError):
    """A payload that does not match `docs/payload.schema.json`."""


@functools.lru_cache(maxsize=1)
def load_schema() -> Dict[str, Any]:
    """The payload's JSON Schema, as shipped in the package."""
    with SCHEMA_FILE.open(encoding="utf-8") as handle:
        schema: Dict[str, Any] = json.load(handle)
    return schema


def validate_payload(payload: Mapping[str, Any]) -> None:
    """Checks a payload against the JSON Schema.

    Args:
        payload: A payload (e.g. as received by the inbox).

    Raises:
        InvalidPayloadError: naming the first offending field and why.
        ImportError: if the `jsonschema` package is not installed.

    """
    import jsonschema

    validator_class = jsonschema.validators.validator_for(load_schema())
    validator = validator_class(load_schema())
    errors = sorted(validator.iter_errors(copy.deepcopy(dict(payload))), key=str)
    if errors:
        error = jsonschema.exceptions.best_match(errors)
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise InvalidPayloadError(f"payload field {where}: {error.message}") from error
