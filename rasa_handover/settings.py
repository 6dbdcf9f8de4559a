"""HandoverPolicy's configuration: defaults, validation, and the resolved settings.

`default_config()` is what `HandoverPolicy.get_default_config()` returns and doubles
as the reference documentation of every key. `parse_settings()` turns a user's
`config.yml` entry into a frozen `HandoverSettings`, or raises `HandoverConfigError`
that says which key is wrong, why, and how to fix it. This module is pure: the
policy turns the error into Rasa's `InvalidConfigException`.

`HandoverSettings` is configuration only. Which threshold applies to an intent
for a customer (per-intent overrides, domain.yml, a tuning file, high-value
tightening) is resolved in one place: `rasa_handover.thresholds`.
"""

import copy
import re
from dataclasses import dataclass, field, replace
from typing import Any, Dict, FrozenSet, Iterable, Mapping, Optional, Tuple

from rasa_handover.constants import (
    ACTION_CLARIFY,
    ACTION_HANDOVER,
    ACTION_OFFER_HANDOVER,
    ALL_SIGNALS,
    BOT_LANGUAGES_AUTO,
    DEFAULT_SIGNALS,
    INTENT_AFFIRM,
    INTENT_CSAT,
    INTENT_DENY,
    INTENT_HUMAN_HANDOFF,
    REASON_CODES,
    SLOT_ACCOUNT_TIER,
)
from rasa_handover.languages import languages_written_in
from rasa_handover.validation import (
    DOCS_URL,
    HandoverConfigError,
    IntentOverride,
    boolean,
    choices,
    names,
    parse_intent_overrides,
    positive_int,
    probability,
    setting_error,
)

# An ISO 639-1 language code, as `bot_languages` lists them.
_LANGUAGE_CODE_RE = re.compile(r"[a-z]{2}")


def default_config() -> Dict[str, Any]:
    """Returns the default configuration of `HandoverPolicy`, one comment per key."""
    return {
        # Which triggers run. Remove a reason code to switch its trigger off; the
        # order in which they run is fixed (see `constants.REASON_CODES`).
        "triggers": list(REASON_CODES),
        # --- explicit_request ---------------------------------------------------
        # Intents that mean "let me talk to a person": hand over at once when NLU
        # is at or above the intent's confidence floor (below it NLU is guessing,
        # and the turn is asked about like any unclear one). A clear request is
        # never gatekept; the phrases below catch the ones NLU misses.
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
        # Ask once first ("did you mean ...?", `clarify_action`), and hand over
        # when the next turn is unclear too or the customer picks "something
        # else". High-value accounts and regulated intents are handed over at
        # once. Off: hand over on the first unclear turn.
        "clarify_before_handover": True,
        # The languages the bot speaks (ISO 639-1 codes, e.g. [en]): a message
        # clearly written in another one is unclear whatever NLU says (docs/
        # policy.md). "auto": read from the domain's responses; []: off.
        "bot_languages": BOT_LANGUAGES_AUTO,
        # --- frustration --------------------------------------------------------
        # How many signs of frustration must appear (each signal on each turn is
        # one sign; a confident `angry_tone` counts two) ...
        "frustration_signals": 2,
        # ... within this many of the latest user turns.
        "frustration_window": 3,
        # Which signals count (see docs/policy.md for what each one matches);
        # add `complaint` for support-style complaints (docs/frustration.md).
        "frustration_signal_types": list(DEFAULT_SIGNALS),
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
            # Two answers to the CSAT question are no loop.
            INTENT_CSAT,
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
        # The action that asks what an unclear turn meant (low_confidence).
        "clarify_action": ACTION_CLARIFY,
        # --- per-intent overrides -----------------------------------------------
        # e.g. {"cancel_subscription": {"confidence_floor": 0.7}}. Keys:
        # confidence_floor, ambiguity_threshold. Domain intent properties
        # (handover_confidence_floor, ...) do the same from domain.yml; this
        # mapping wins over them, key by key (see `rasa_handover.thresholds`).
        "intent_overrides": {},
        # A tuning file of per-intent floors learned from data, written by
        # `rasa-handover calibrate` (e.g. handover_tuning.yml, relative to the
        # folder Rasa runs in); null: none. Read at training and at load.
        "tuning_file": None,
    }


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
    """The validated `config.yml` entry every trigger reads. See `default_config()`.

    Configuration only: per-conversation state (is this customer high value?)
    and the per-intent thresholds live in `rasa_handover.thresholds`.
    """

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
    clarify_before_handover: bool = True
    clarify_action: str = ACTION_CLARIFY
    # None: "auto", the languages of the domain's responses (the policy fills
    # them in per domain); (): the other-language rule is off.
    bot_languages: Optional[Tuple[str, ...]] = None
    tuning_file: Optional[str] = None
    # config.yml's per-intent thresholds (see `rasa_handover.thresholds` for
    # how they combine with domain.yml and the high-value settings).
    intent_overrides: Mapping[str, IntentOverride] = field(default_factory=dict)

    @property
    def known_bot_languages(self) -> Tuple[str, ...]:
        """The bot's languages, or none while `auto` is unresolved (rule off)."""
        return self.bot_languages or ()

    @property
    def lookback_turns(self) -> int:
        """How many latest user turns any trigger may look at."""
        return max(
            self.frustration_window,
            self.repeat_window,
            self.regulated_window,
            1,
        )


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


# Lists of intent names a bot author may extend instead of replacing:
# `repeat_ignore_intents: {add: [product_updates]}` keeps the default list.
EXTENDABLE_LISTS: Tuple[str, ...] = (
    "explicit_request_intents",
    "repeat_ignore_intents",
    "affirm_intents",
    "deny_intents",
)


def _extended(merged: Mapping[str, Any], key: str) -> Any:
    """A list setting written as `{add: [...], remove: [...]}`: the default changed.

    A plain list replaces the default, as before.
    """
    value = merged[key]
    if not isinstance(value, Mapping):
        return value
    unknown = sorted(set(value) - {"add", "remove"})
    if unknown:
        raise setting_error(
            key,
            f"has the keys {unknown}",
            "Write a list (it replaces the default list), or "
            f"`{key}: {{add: [...], remove: [...]}}` to change the default list.",
        )
    add = names({key: value.get("add") or []}, key)
    remove = names({key: value.get("remove") or []}, key)
    default = list(default_config()[key])
    kept = [name for name in default if name not in remove]
    return kept + sorted(add - set(default))


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
    for key in EXTENDABLE_LISTS:
        merged[key] = _extended(merged, key)
    high_value = _parse_high_value(merged["high_value"])
    overrides = parse_intent_overrides(merged["intent_overrides"], "intent_overrides")
    repeat_limit, repeat_window = _parse_repeat(merged)
    threshold = _sentiment_threshold(merged["negative_sentiment_threshold"])
    for key in ("handover_action", "offer_action", "clarify_action"):
        if not isinstance(merged[key], str) or not merged[key]:
            raise setting_error(
                key, f"is {merged[key]!r}", "Name an action of your domain."
            )

    return HandoverSettings(
        triggers=choices(merged, "triggers", REASON_CODES),
        explicit_request_intents=names(merged, "explicit_request_intents"),
        explicit_request_phrases=boolean(merged, "explicit_request_phrases"),
        confidence_floor=probability(merged, "confidence_floor"),
        ambiguity_threshold=probability(merged, "ambiguity_threshold"),
        frustration_signals=positive_int(merged, "frustration_signals"),
        frustration_window=positive_int(merged, "frustration_window"),
        frustration_signal_types=choices(
            merged, "frustration_signal_types", ALL_SIGNALS
        ),
        negative_sentiment_threshold=threshold,
        regulated_window=positive_int(merged, "regulated_window"),
        repeat_limit=repeat_limit,
        repeat_window=repeat_window,
        repeat_ignore_intents=names(merged, "repeat_ignore_intents"),
        affirm_intents=names(merged, "affirm_intents"),
        deny_intents=names(merged, "deny_intents"),
        high_value=high_value,
        handover_action=merged["handover_action"],
        offer_action=merged["offer_action"],
        clarify_before_handover=boolean(merged, "clarify_before_handover"),
        clarify_action=merged["clarify_action"],
        bot_languages=_bot_languages(merged["bot_languages"]),
        tuning_file=_tuning_file(merged["tuning_file"]),
        intent_overrides=overrides,
    )


def with_bot_languages(
    settings: HandoverSettings, response_texts: Iterable[str]
) -> HandoverSettings:
    """`settings` with `bot_languages: auto` read from the bot's responses.

    Args:
        settings: The parsed settings.
        response_texts: The texts of the domain's responses.

    Returns:
        `settings` itself when `bot_languages` was given, else a copy with the
        languages the responses are written in (none found: the rule is off).

    """
    if settings.bot_languages is not None:
        return settings
    return replace(settings, bot_languages=languages_written_in(response_texts))


def _bot_languages(value: Any) -> Optional[Tuple[str, ...]]:
    if value == BOT_LANGUAGES_AUTO:
        return None
    if isinstance(value, (list, tuple)) and all(
        isinstance(code, str) and _LANGUAGE_CODE_RE.fullmatch(code) for code in value
    ):
        return tuple(dict.fromkeys(value))
    raise setting_error(
        "bot_languages",
        f"is {value!r}",
        f"Give the languages your bot speaks as ISO 639-1 codes, e.g. [en] or "
        f"[fr, en]; {BOT_LANGUAGES_AUTO!r} to read them from the domain's "
        f"responses; or [] to switch the other-language rule off.",
    )


def _tuning_file(value: Any) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise setting_error(
            "tuning_file",
            f"is {value!r}",
            "Give the path of the file `rasa-handover calibrate` wrote "
            "(e.g. handover_tuning.yml), or leave it out.",
        )
    return value


def _parse_high_value(high: Any) -> HighValue:
    if not isinstance(high, Mapping):
        raise setting_error(
            "high_value",
            f"is {high!r}, but it must be a mapping",
            "See the default for its keys.",
        )
    unknown_high = sorted(set(high) - set(default_config()["high_value"]))
    if unknown_high:
        raise setting_error(
            "high_value",
            f"has unknown keys {unknown_high}",
            f"Valid keys are {sorted(default_config()['high_value'])}.",
        )
    if not isinstance(high["slot"], str) or not high["slot"]:
        raise setting_error("high_value.slot", f"is {high['slot']!r}", "Name a slot.")
    return HighValue(
        slot=high["slot"],
        values=frozenset(
            str(v).lower() for v in names({"values": high["values"]}, "values")
        ),
        confidence_floor=probability(
            high, "confidence_floor", "high_value.confidence_floor"
        ),
        ambiguity_threshold=probability(
            high, "ambiguity_threshold", "high_value.ambiguity_threshold"
        ),
        frustration_signals=positive_int(
            high, "frustration_signals", "high_value.frustration_signals"
        ),
        hand_over_on_first_repeat=boolean(
            high, "hand_over_on_first_repeat", "high_value.hand_over_on_first_repeat"
        ),
    )


def _parse_repeat(merged: Mapping[str, Any]) -> Tuple[int, int]:
    repeat_limit = positive_int(merged, "repeat_limit")
    if repeat_limit < 2:
        raise setting_error(
            "repeat_limit",
            f"is {repeat_limit}, but a loop needs at least 2 asks",
            "Use 2 to offer a person on the second ask.",
        )
    repeat_window = positive_int(merged, "repeat_window")
    if repeat_window < repeat_limit:
        raise setting_error(
            "repeat_window",
            f"is {repeat_window}, smaller than repeat_limit ({repeat_limit}), "
            "so the loop could never be seen",
            "Make the window at least as large as the limit.",
        )
    return repeat_limit, repeat_window


def _sentiment_threshold(threshold: Any) -> float:
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float))
        or not -1.0 <= threshold <= 1.0
    ):
        raise setting_error(
            "negative_sentiment_threshold",
            f"is {threshold!r}, but it must be a number between -1 and 1",
            "VADER scores range from -1 (very negative) to 1; -0.6 is the default.",
        )
    return float(threshold)
