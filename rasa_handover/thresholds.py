"""Which thresholds apply to an intent, for this customer, and why: one table.

The table is built once, when the policy is created or loaded, from the
defaults, `config.yml`, the domain's intent properties and (optionally) a tuning
file. Triggers ask it instead of reading settings:

    thresholds = Thresholds.build(settings, declarations, tuning=None)
    limits = thresholds.for_intent("cancel_subscription", high_value=True)
    limits.confidence_floor, limits.sources["confidence_floor"]  # 0.7, "domain.yml"

Precedence, one rule for every value, the first that sets it wins:

1. `config.yml`, `intent_overrides: {<intent>: {...}}`;
2. `domain.yml`, the intent's `handover_confidence_floor` /
   `handover_ambiguity_threshold` properties;
3. the tuning file's entry for the intent;
4. `config.yml`'s global setting (source `config.yml` when it differs from the
   default, else `default`).

Per-intent values exist for `confidence_floor` and `ambiguity_threshold` only
(`validation.OVERRIDABLE_KEYS`); the frustration and repeat settings come from
step 4. Then, for a high-value account, each value only ever becomes stricter:
the higher of it and `high_value.confidence_floor` / `ambiguity_threshold`, the
lower of it and `high_value.frustration_signals`, and a repeated question is
handed over at once if `high_value.hand_over_on_first_repeat`. A value the
high-value setting changed has the source `high-value`.
"""

from dataclasses import dataclass, field, fields, replace
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from rasa_handover.intent_properties import IntentDeclaration
from rasa_handover.settings import HandoverSettings, default_config
from rasa_handover.validation import (
    OVERRIDABLE_KEYS,
    IntentOverride,
    parse_intent_overrides,
)

# Where a threshold came from, as shown in the trigger evidence.
SOURCE_DEFAULT = "default"
SOURCE_CONFIG = "config.yml"
SOURCE_DOMAIN = "domain.yml"
SOURCE_TUNING = "tuning file"
SOURCE_HIGH_VALUE = "high-value"


@dataclass(frozen=True)
class IntentThresholds:
    """The thresholds that apply to one intent for one kind of customer.

    Attributes:
        confidence_floor: Below it, `low_confidence` hands over (and a
            regulated intent is not trusted).
        ambiguity_threshold: Top two intents closer than this are ambiguous.
        frustration_signals: Distinct frustration signals needed ...
        frustration_window: ... within this many latest user turns.
        repeat_limit: The same request this many times is a loop ...
        repeat_window: ... within this many latest user turns.
        hand_over_on_first_repeat: Hand over at the loop instead of offering.
        sources: Each attribute's name -> where its value came from
            (`SOURCE_*`).

    """

    confidence_floor: float
    ambiguity_threshold: float
    frustration_signals: int
    frustration_window: int
    repeat_limit: int
    repeat_window: int
    hand_over_on_first_repeat: bool
    sources: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Thresholds:
    """The table: `for_intent(intent, high_value)` answers with a dictionary lookup.

    Build it with `Thresholds.build`; the constructor takes the finished rows.

    Attributes:
        declarations: The domain's per-intent declarations the table was built
            from (regulated topics and teams are read from them too).

    """

    declarations: Mapping[str, IntentDeclaration]
    # (intent, high_value) -> row; intent "" is the row of every other intent.
    rows: Mapping[Tuple[str, bool], IntentThresholds]

    @classmethod
    def build(
        cls,
        settings: HandoverSettings,
        declarations: Mapping[str, IntentDeclaration],
        tuning: Optional[Mapping[str, Any]] = None,
    ) -> "Thresholds":
        """Resolves every threshold once (precedence: see the module docs).

        Args:
            settings: The validated `config.yml` entry.
            declarations: The domain's declarations (`parse_declarations`).
            tuning: A tuning file's content, intent -> `{confidence_floor: ...,
                ambiguity_threshold: ...}`; validated here.

        Raises:
            HandoverConfigError: if the tuning file has unknown keys or values
                outside 0..1.

        """
        # Per-intent sources in precedence order (steps 1-3 above).
        per_source: Dict[str, Mapping[str, IntentOverride]] = {
            SOURCE_CONFIG: settings.intent_overrides,
            SOURCE_DOMAIN: {
                intent: declaration.override
                for intent, declaration in declarations.items()
            },
            SOURCE_TUNING: parse_intent_overrides(tuning or {}, SOURCE_TUNING),
        }
        general = _general_row(settings)
        intents = {"", *(i for by in per_source.values() for i in by)}
        rows = {}
        for intent in intents:
            overrides = [(source, by.get(intent)) for source, by in per_source.items()]
            row = _intent_row(general, overrides)
            rows[(intent, False)] = row
            rows[(intent, True)] = _tightened(row, settings)
        return cls(dict(declarations), rows)

    def for_intent(self, intent: Optional[str], high_value: bool) -> IntentThresholds:
        """The thresholds when `intent` is the top intent, for this customer.

        Args:
            intent: The intent (`None` or an intent without overrides: the
                general thresholds).
            high_value: Whether the account is high value.

        """
        row = self.rows.get((intent or "", high_value))
        return row if row is not None else self.rows[("", high_value)]


def table_for(
    settings: HandoverSettings, thresholds: Optional[Thresholds] = None
) -> Thresholds:
    """`thresholds`, else the table of `settings` alone (no domain, no tuning).

    The policy always passes its table; a trigger called on its own (a test, a
    benchmark) falls back to the configuration's thresholds.
    """
    return thresholds if thresholds is not None else Thresholds.build(settings, {})


def _general_row(settings: HandoverSettings) -> IntentThresholds:
    """The global settings; `config.yml` where they differ from the default."""
    defaults = default_config()
    values = {
        f.name: getattr(settings, f.name)
        for f in fields(IntentThresholds)
        if f.name not in ("sources", "hand_over_on_first_repeat")
    }
    sources = {
        name: SOURCE_DEFAULT if value == defaults[name] else SOURCE_CONFIG
        for name, value in values.items()
    }
    sources["hand_over_on_first_repeat"] = SOURCE_DEFAULT
    return IntentThresholds(**values, hand_over_on_first_repeat=False, sources=sources)


def _intent_row(
    general: IntentThresholds,
    overrides: Sequence[Tuple[str, Optional[IntentOverride]]],
) -> IntentThresholds:
    """The general row with each key's first per-intent override, if any."""
    values: Dict[str, Any] = {}
    sources = dict(general.sources)
    for key in OVERRIDABLE_KEYS:
        for source, override in overrides:
            value = None if override is None else getattr(override, key)
            if value is not None:
                values[key], sources[key] = value, source
                break
    return replace(general, **values, sources=sources)


def _tightened(row: IntentThresholds, settings: HandoverSettings) -> IntentThresholds:
    """The row for a high-value account: each value only ever becomes stricter."""
    high = settings.high_value
    stricter: Dict[str, Any] = {
        "confidence_floor": max(row.confidence_floor, high.confidence_floor),
        "ambiguity_threshold": max(row.ambiguity_threshold, high.ambiguity_threshold),
        "frustration_signals": min(row.frustration_signals, high.frustration_signals),
        "hand_over_on_first_repeat": high.hand_over_on_first_repeat,
    }
    values = {k: v for k, v in stricter.items() if v != getattr(row, k)}
    sources = {**row.sources, **{key: SOURCE_HIGH_VALUE for key in values}}
    return replace(row, **values, sources=sources)


__all__ = [
    "SOURCE_CONFIG",
    "SOURCE_DEFAULT",
    "SOURCE_DOMAIN",
    "SOURCE_HIGH_VALUE",
    "SOURCE_TUNING",
    "IntentThresholds",
    "Thresholds",
    "table_for",
]
