"""HandoverPolicy's configuration: defaults, validation, and the resolved settings.

`default_config()` is what `HandoverPolicy.get_default_config()` returns and doubles
as the reference documentation of every key. `parse_settings()` turns a user's
`config.yml` entry into a frozen `HandoverSettings`, or raises `HandoverConfigError`
that says which key is wrong, why, and how to fix it. This module is pure: the
policy turns the error into Rasa's `InvalidConfigException`.
"""

import copy
from dataclasses import dataclass, field, replace
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    FrozenSet,
    Iterable,
    Mapping,
    Optional,
    Tuple,
)

from rasa_handover.constants import (
    ACTION_HANDOVER,
    ACTION_OFFER_HANDOVER,
    ALL_SIGNALS,
    INTENT_AFFIRM,
    INTENT_DENY,
    INTENT_HUMAN_HANDOFF,
    REASON_CODES,
    SLOT_ACCOUNT_TIER,
)

if TYPE_CHECKING:
    from rasa_handover.intent_properties import IntentDeclaration

DOCS_URL = "https://github.com/rasa-handover/rasa-handover/blob/main/docs/policy.md"

# Keys a per-intent override may set, and the global key each one replaces.
OVERRIDABLE_KEYS: Tuple[str, ...] = ("confidence_floor", "ambiguity_threshold")


class HandoverConfigError(ValueError):
    """A `config.yml` or `domain.yml` declaration the plugin cannot use."""


def default_config() -> Dict[str, Any]:
    """Returns the default configuration of `HandoverPolicy`, one comment per key."""
    return {
        # Which triggers run. Remove a reason code to switch its trigger off; the
        # order in which they run is fixed (see `constants.REASON_CODES`).
        "triggers": list(REASON_CODES),
        # --- explicit_request ---------------------------------------------------
        # Intents that mean "let me talk to a person". Always hand over at once,
        # whatever their confidence: never gatekeep a customer who asks.
        "explicit_request_intents": [INTENT_HUMAN_HANDOFF],
        # Also match phrases such as "talk to a human", "agent please" or
        # "representative" in the text, as a safety net when NLU misses them.
        "explicit_request_phrases": True,
        # --- low_confidence -----------------------------------------------------
        # Hand over when the top intent's confidence is below this floor.
        "confidence_floor": 0.55,
        # ... or when the top two intents are closer than this (NLU cannot tell
        # them apart). 0 switches the ambiguity check off.
        "ambiguity_threshold": 0.1,
        # --- frustration --------------------------------------------------------
        # How many *distinct* frustration signals must appear ...
        "frustration_signals": 2,
        # ... within this many of the latest user turns.
        "frustration_window": 3,
        # Which signals count (see docs/policy.md for what each one matches).
        "frustration_signal_types": list(ALL_SIGNALS),
        # VADER compound score at or below which a message is strongly negative.
        "negative_sentiment_threshold": -0.6,
        # --- regulated_topic ----------------------------------------------------
        # How many latest user turns a regulated intent stays "open" for, so that
        # a condition met later (the refund amount given on the next turn) fires.
        "regulated_window": 3,
        # --- repeat_loop --------------------------------------------------------
        # Offer a person when the same intent is asked this many times ...
        "repeat_limit": 2,
        # ... within this many latest user turns. Asked once more after the
        # offer (or the offer is accepted) -> hand over.
        "repeat_window": 4,
        # Intents that are naturally repeated and never form a loop.
        "repeat_ignore_intents": [
            INTENT_AFFIRM,
            INTENT_DENY,
            "greet",
            "goodbye",
            "thankyou",
            "thanks",
            "bot_challenge",
            "chitchat",
            "inform",
        ],
        # Intents that accept the bot's offer of a person ...
        "affirm_intents": [INTENT_AFFIRM],
        # ... and that decline it (a declined offer is not repeated).
        "deny_intents": [INTENT_DENY],
        # --- high-value accounts ------------------------------------------------
        "high_value": {
            # The slot that holds the account's tier.
            "slot": SLOT_ACCOUNT_TIER,
            # Slot values that mark a high-value account (compared
            # case-insensitively).
            "values": ["enterprise", "vip"],
            # Stricter confidence floor for them.
            "confidence_floor": 0.7,
            # Stricter ambiguity threshold for them.
            "ambiguity_threshold": 0.15,
            # One frustration signal is enough.
            "frustration_signals": 1,
            # Hand over on the first repeat instead of offering.
            "hand_over_on_first_repeat": True,
        },
        # --- actions ------------------------------------------------------------
        # The action that hands the conversation to a human.
        "handover_action": ACTION_HANDOVER,
        # The action that offers a human (repeat loop).
        "offer_action": ACTION_OFFER_HANDOVER,
        # --- per-intent overrides -----------------------------------------------
        # e.g. {"cancel_subscription": {"confidence_floor": 0.7}}. Keys:
        # confidence_floor, ambiguity_threshold. Domain intent properties
        # (handover_confidence_floor, ...) do the same from domain.yml; this
        # mapping wins over them.
        "intent_overrides": {},
    }


@dataclass(frozen=True)
class IntentOverride:
    """Thresholds that apply when a given intent is the top prediction."""

    confidence_floor: Optional[float] = None
    ambiguity_threshold: Optional[float] = None


@dataclass(frozen=True)
class HighValue:
    """How high-value accounts are recognised and how much triggers tighten."""

    slot: str
    values: FrozenSet[str]
    confidence_floor: float
    ambiguity_threshold: float
    frustration_signals: int
    hand_over_on_first_repeat: bool


@dataclass(frozen=True)
class HandoverSettings:
    """The resolved configuration every trigger reads. See `default_config()`."""

    triggers: Tuple[str, ...]
    explicit_request_intents: FrozenSet[str]
    explicit_request_phrases: bool
    confidence_floor: float
    ambiguity_threshold: float
    frustration_signals: int
    frustration_window: int
    frustration_signal_types: Tuple[str, ...]
    negative_sentiment_threshold: float
    regulated_window: int
    repeat_limit: int
    repeat_window: int
    repeat_ignore_intents: FrozenSet[str]
    affirm_intents: FrozenSet[str]
    deny_intents: FrozenSet[str]
    high_value: HighValue
    handover_action: str
    offer_action: str
    intent_overrides: Mapping[str, IntentOverride] = field(default_factory=dict)
    # What domain.yml declares per intent (regulated topics, teams, ...).
    declarations: Mapping[str, "IntentDeclaration"] = field(default_factory=dict)
    # Set by `tighten_for_high_value`, so that evidence can say so.
    is_high_value: bool = False

    @property
    def lookback_turns(self) -> int:
        """How many latest user turns any trigger may look at."""
        return max(
            self.frustration_window,
            self.repeat_window,
            self.regulated_window,
            1,
        )

    def floor_for(self, intent: Optional[str]) -> float:
        """The confidence floor that applies when `intent` is the top intent."""
        override = self.intent_overrides.get(intent or "")
        if override and override.confidence_floor is not None:
            return override.confidence_floor
        return self.confidence_floor

    def ambiguity_for(self, intent: Optional[str]) -> float:
        """The ambiguity threshold that applies when `intent` is the top intent."""
        override = self.intent_overrides.get(intent or "")
        if override and override.ambiguity_threshold is not None:
            return override.ambiguity_threshold
        return self.ambiguity_threshold

    def with_declarations(
        self, declarations: Mapping[str, "IntentDeclaration"]
    ) -> "HandoverSettings":
        """Returns a copy that knows the domain's per-intent declarations.

        Thresholds declared in domain.yml apply unless the config's own
        `intent_overrides` set them for the same intent: the config wins.
        """
        merged = {
            intent: declaration.override
            for intent, declaration in declarations.items()
            if declaration.override != IntentOverride()
        }
        merged.update(self.intent_overrides)
        return replace(self, intent_overrides=merged, declarations=dict(declarations))


# --- Validation helpers. ---------------------------------------------------------


def _error(key: str, problem: str, fix: str) -> HandoverConfigError:
    return HandoverConfigError(
        f"HandoverPolicy: the setting '{key}' {problem}. {fix} "
        f"See {DOCS_URL} for every setting and its default."
    )


def _probability(config: Mapping[str, Any], key: str, name: str = "") -> float:
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _error(
            name or key,
            f"is {value!r}, but it must be a number between 0 and 1",
            "Write it as e.g. 0.55.",
        )
    if not 0.0 <= float(value) <= 1.0:
        raise _error(
            name or key,
            f"is {value}, outside the range 0 to 1",
            "Confidences are probabilities; pick a value between 0 and 1.",
        )
    return float(value)


def _positive_int(config: Mapping[str, Any], key: str, name: str = "") -> int:
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _error(
            name or key,
            f"is {value!r}, but it must be a whole number of at least 1",
            "Write it as e.g. 2.",
        )
    return value


def _names(config: Mapping[str, Any], key: str) -> FrozenSet[str]:
    value = config[key]
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise _error(
            key,
            f"is {value!r}, but it must be a list of names",
            f"Write it as a YAML list, e.g. {key}: [{value}].",
        )
    names = list(value)
    if not all(isinstance(name, str) and name for name in names):
        raise _error(key, f"contains {names!r}", "Every entry must be a name.")
    return frozenset(names)


def _choices(
    config: Mapping[str, Any], key: str, allowed: Tuple[str, ...]
) -> Tuple[str, ...]:
    chosen = _names(config, key)
    unknown = sorted(chosen - set(allowed))
    if unknown:
        raise _error(
            key,
            f"contains unknown entries {unknown}",
            f"Valid entries are {list(allowed)}.",
        )
    return tuple(name for name in allowed if name in chosen)


def _bool(config: Mapping[str, Any], key: str, name: str = "") -> bool:
    value = config[key]
    if not isinstance(value, bool):
        raise _error(
            name or key,
            f"is {value!r}, but it must be true or false",
            "Use true/false.",
        )
    return value


def _merged(config: Mapping[str, Any]) -> Dict[str, Any]:
    """Fills in defaults, including the keys of nested mappings.

    Rasa merges a component's defaults with the user's config one level deep, so
    a user who writes `high_value: {values: [gold]}` would otherwise lose the
    other high-value settings.
    """
    defaults = default_config()
    merged = copy.deepcopy(defaults)
    for key, value in config.items():
        if (
            key in defaults
            and isinstance(defaults[key], dict)
            and isinstance(value, Mapping)
        ):
            if key == "intent_overrides":
                merged[key] = dict(value)
            else:
                merged[key] = {**defaults[key], **value}
        else:
            merged[key] = value
    return merged


def parse_intent_override(
    intent: str, raw: Any, where: str = "intent_overrides"
) -> IntentOverride:
    """Validates one per-intent override mapping.

    Raises:
        HandoverConfigError: if the mapping has unknown keys or bad values.

    """
    if not isinstance(raw, Mapping):
        raise _error(
            f"{where}.{intent}",
            f"is {raw!r}, but it must be a mapping",
            "Write it as e.g. {confidence_floor: 0.7}.",
        )
    unknown = sorted(set(raw) - set(OVERRIDABLE_KEYS))
    if unknown:
        raise _error(
            f"{where}.{intent}",
            f"has unknown keys {unknown}",
            f"Per-intent overrides may set {list(OVERRIDABLE_KEYS)}.",
        )
    values = {key: _probability(raw, key, f"{where}.{intent}.{key}") for key in raw}
    return IntentOverride(**values)


def parse_settings(config: Mapping[str, Any]) -> HandoverSettings:
    """Validates a HandoverPolicy configuration and resolves it.

    Args:
        config: The policy's entry in `config.yml` (Rasa's own keys such as
            `name` and `priority` are ignored here).

    Returns:
        The settings the triggers read.

    Raises:
        HandoverConfigError: naming the first key that is wrong, why, and how to
            fix it.

    """
    known = set(default_config()) | {"name", "priority", "__class__"}
    unknown = sorted(set(config) - known)
    if unknown:
        raise HandoverConfigError(
            f"HandoverPolicy: unknown settings {unknown}. Check their spelling; "
            f"valid settings are {sorted(default_config())}. See {DOCS_URL}."
        )
    merged = _merged(config)

    high = merged["high_value"]
    if not isinstance(high, Mapping):
        raise _error(
            "high_value",
            f"is {high!r}, but it must be a mapping",
            "See the default for its keys.",
        )
    unknown_high = sorted(set(high) - set(default_config()["high_value"]))
    if unknown_high:
        raise _error(
            "high_value",
            f"has unknown keys {unknown_high}",
            f"Valid keys are {sorted(default_config()['high_value'])}.",
        )
    if not isinstance(high["slot"], str) or not high["slot"]:
        raise _error("high_value.slot", f"is {high['slot']!r}", "Name a slot.")
    high_value = HighValue(
        slot=high["slot"],
        values=frozenset(
            str(v).lower() for v in _names({"values": high["values"]}, "values")
        ),
        confidence_floor=_probability(
            high, "confidence_floor", "high_value.confidence_floor"
        ),
        ambiguity_threshold=_probability(
            high, "ambiguity_threshold", "high_value.ambiguity_threshold"
        ),
        frustration_signals=_positive_int(
            high, "frustration_signals", "high_value.frustration_signals"
        ),
        hand_over_on_first_repeat=_bool(
            high, "hand_over_on_first_repeat", "high_value.hand_over_on_first_repeat"
        ),
    )

    overrides_raw = merged["intent_overrides"]
    if not isinstance(overrides_raw, Mapping):
        raise _error(
            "intent_overrides",
            f"is {overrides_raw!r}, but it must be a mapping of intent names",
            "Write it as e.g. {cancel_subscription: {confidence_floor: 0.7}}.",
        )
    overrides = {
        str(intent): parse_intent_override(str(intent), raw)
        for intent, raw in overrides_raw.items()
    }

    repeat_limit = _positive_int(merged, "repeat_limit")
    if repeat_limit < 2:
        raise _error(
            "repeat_limit",
            f"is {repeat_limit}, but a loop needs at least 2 asks",
            "Use 2 to offer a person on the second ask.",
        )
    repeat_window = _positive_int(merged, "repeat_window")
    if repeat_window < repeat_limit:
        raise _error(
            "repeat_window",
            f"is {repeat_window}, smaller than repeat_limit ({repeat_limit}), "
            "so the loop could never be seen",
            "Make the window at least as large as the limit.",
        )
    threshold = merged["negative_sentiment_threshold"]
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float))
        or not -1.0 <= threshold <= 1.0
    ):
        raise _error(
            "negative_sentiment_threshold",
            f"is {threshold!r}, but it must be a number between -1 and 1",
            "VADER scores range from -1 (very negative) to 1; -0.6 is the default.",
        )
    for key in ("handover_action", "offer_action"):
        if not isinstance(merged[key], str) or not merged[key]:
            raise _error(key, f"is {merged[key]!r}", "Name an action of your domain.")

    return HandoverSettings(
        triggers=_choices(merged, "triggers", REASON_CODES),
        explicit_request_intents=_names(merged, "explicit_request_intents"),
        explicit_request_phrases=_bool(merged, "explicit_request_phrases"),
        confidence_floor=_probability(merged, "confidence_floor"),
        ambiguity_threshold=_probability(merged, "ambiguity_threshold"),
        frustration_signals=_positive_int(merged, "frustration_signals"),
        frustration_window=_positive_int(merged, "frustration_window"),
        frustration_signal_types=_choices(
            merged, "frustration_signal_types", ALL_SIGNALS
        ),
        negative_sentiment_threshold=float(threshold),
        regulated_window=_positive_int(merged, "regulated_window"),
        repeat_limit=repeat_limit,
        repeat_window=repeat_window,
        repeat_ignore_intents=_names(merged, "repeat_ignore_intents"),
        affirm_intents=_names(merged, "affirm_intents"),
        deny_intents=_names(merged, "deny_intents"),
        high_value=high_value,
        handover_action=merged["handover_action"],
        offer_action=merged["offer_action"],
        intent_overrides=overrides,
    )
