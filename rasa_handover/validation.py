"""The configuration error and the checks that `config.yml` and `domain.yml` share.

A leaf module: it imports nothing else of the package, so that `settings.py`
(config.yml), `intent_properties.py` (domain.yml) and `thresholds.py` (the
tuning file) can all use it without importing each other. Every check raises
`HandoverConfigError` with a message that says which key is wrong, why, and how
to fix it.
"""

from dataclasses import dataclass
from typing import Any, FrozenSet, Iterable, Mapping, Optional, Tuple

DOCS_URL = "https://github.com/rasa-handover/rasa-handover/blob/main/docs/policy.md"

# Keys a per-intent override may set (config.yml `intent_overrides`, the
# domain's `handover_*` properties, a tuning file), each replacing the global
# setting of the same name for that intent.
OVERRIDABLE_KEYS: Tuple[str, ...] = ("confidence_floor", "ambiguity_threshold")


class HandoverConfigError(ValueError):
    """A `config.yml` or `domain.yml` declaration the plugin cannot use."""


def setting_error(key: str, problem: str, fix: str) -> HandoverConfigError:
    """The error for one bad setting, in the plugin's usual wording."""
    return HandoverConfigError(
        f"HandoverPolicy: the setting '{key}' {problem}. {fix} "
        f"See {DOCS_URL} for every setting and its default."
    )


def probability(config: Mapping[str, Any], key: str, name: str = "") -> float:
    """`config[key]` as a number between 0 and 1 (`name` is the key's full path)."""
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise setting_error(
            name or key,
            f"is {value!r}, but it must be a number between 0 and 1",
            "Write it as e.g. 0.55.",
        )
    if not 0.0 <= float(value) <= 1.0:
        raise setting_error(
            name or key,
            f"is {value}, outside the range 0 to 1",
            "Confidences are probabilities; pick a value between 0 and 1.",
        )
    return float(value)


def positive_int(config: Mapping[str, Any], key: str, name: str = "") -> int:
    """`config[key]` as a whole number of at least 1."""
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise setting_error(
            name or key,
            f"is {value!r}, but it must be a whole number of at least 1",
            "Write it as e.g. 2.",
        )
    return value


def names(config: Mapping[str, Any], key: str) -> FrozenSet[str]:
    """`config[key]` as a set of non-empty names (a YAML list)."""
    value = config[key]
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise setting_error(
            key,
            f"is {value!r}, but it must be a list of names",
            f"Write it as a YAML list, e.g. {key}: [{value}].",
        )
    listed = list(value)
    if not all(isinstance(name, str) and name for name in listed):
        raise setting_error(key, f"contains {listed!r}", "Every entry must be a name.")
    return frozenset(listed)


def choices(
    config: Mapping[str, Any], key: str, allowed: Tuple[str, ...]
) -> Tuple[str, ...]:
    """`config[key]` as a subset of `allowed`, in `allowed`'s order."""
    chosen = names(config, key)
    unknown = sorted(chosen - set(allowed))
    if unknown:
        raise setting_error(
            key,
            f"contains unknown entries {unknown}",
            f"Valid entries are {list(allowed)}.",
        )
    return tuple(name for name in allowed if name in chosen)


def boolean(config: Mapping[str, Any], key: str, name: str = "") -> bool:
    """`config[key]` as true or false."""
    value = config[key]
    if not isinstance(value, bool):
        raise setting_error(
            name or key,
            f"is {value!r}, but it must be true or false",
            "Use true/false.",
        )
    return value


@dataclass(frozen=True)
class IntentOverride:
    """Thresholds that apply when a given intent is the top prediction.

    `None` means "not set here": the next source in the precedence of
    `rasa_handover.thresholds` decides.
    """

    confidence_floor: Optional[float] = None
    ambiguity_threshold: Optional[float] = None


def parse_intent_override(
    intent: str, raw: Any, where: str = "intent_overrides"
) -> IntentOverride:
    """Validates one per-intent override mapping.

    Args:
        intent: The intent it applies to.
        raw: e.g. `{confidence_floor: 0.7}`.
        where: Where it was written, for the message (`intent_overrides`,
            `domain.yml intent`, `tuning file`).

    Raises:
        HandoverConfigError: if the mapping has unknown keys or bad values.

    """
    if not isinstance(raw, Mapping):
        raise setting_error(
            f"{where}.{intent}",
            f"is {raw!r}, but it must be a mapping",
            "Write it as e.g. {confidence_floor: 0.7}.",
        )
    unknown = sorted(set(raw) - set(OVERRIDABLE_KEYS))
    if unknown:
        raise setting_error(
            f"{where}.{intent}",
            f"has unknown keys {unknown}",
            f"Per-intent overrides may set {list(OVERRIDABLE_KEYS)}.",
        )
    values = {key: probability(raw, key, f"{where}.{intent}.{key}") for key in raw}
    return IntentOverride(**values)


def parse_intent_overrides(raw: Any, where: str) -> Mapping[str, IntentOverride]:
    """Validates a mapping of intent names to overrides (see `parse_intent_override`).

    Raises:
        HandoverConfigError: if it is not a mapping, or an entry is bad.

    """
    if not isinstance(raw, Mapping):
        raise setting_error(
            where,
            f"is {raw!r}, but it must be a mapping of intent names",
            "Write it as e.g. {cancel_subscription: {confidence_floor: 0.7}}.",
        )
    return {
        str(intent): parse_intent_override(str(intent), entry, where)
        for intent, entry in raw.items()
    }
