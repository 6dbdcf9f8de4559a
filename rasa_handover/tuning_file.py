"""The tuning file: per-intent thresholds learned from data, kept beside the bot.

`rasa-handover calibrate` writes it from the bot's own NLU (cross-validation on
its training data); the feedback loop's `rasa-handover tune` writes into the
same file from agents' outcome labels. `HandoverPolicy` reads it through its
`tuning_file` setting when it is trained and again when it is loaded, so a new
file takes effect without retraining.

The format (version 1)::

    # Written by rasa-handover calibrate ...
    version: 1
    intents:
      check_balance:
        confidence_floor:
          value: 0.41
          by: calibrate          # who wrote it: calibrate or tune
          reason: keeps 95% (38/40) of correct check_balance predictions, ...

Each intent maps a setting (`TUNABLE_SETTINGS`) to its value, who wrote it and
why. A value outside `BOUNDS` is refused: the file is data, a typo in it must
not make the bot hand everyone (or no one) over. Precedence, lowest first:
the default, `config.yml`'s global value, this file, `domain.yml`'s intent
properties, `config.yml`'s `intent_overrides`; explicit declarations by the bot
author always win over learned values. High-value tightening applies on top.

This module is pure (PyYAML only), like the decision modules.
"""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import yaml

from rasa_handover.validation import HandoverConfigError

FORMAT_VERSION = 1

DOCS_URL = (
    "https://github.com/rasa-handover/rasa-handover/blob/main/docs/calibrate.md"
    "#the-tuning-file"
)

# Who may write a value: `rasa-handover calibrate` (from NLU cross-validation)
# and `rasa-handover tune` (from agents' outcome labels).
WRITERS: Tuple[str, ...] = ("calibrate", "tune")

# The settings a tuning file may set per intent (the per-intent thresholds of
# `rasa_handover.thresholds`), with the bounds no learned value may leave. A
# floor below 0.2 would accept almost any guess; above 0.9, almost every new
# wording of a known question would reach an agent.
BOUNDS: Mapping[str, Tuple[float, float]] = {
    "confidence_floor": (0.2, 0.9),
    "ambiguity_threshold": (0.0, 0.5),
}
TUNABLE_SETTINGS: Tuple[str, ...] = tuple(BOUNDS)


@dataclass(frozen=True)
class TunedValue:
    """One learned setting for one intent, with who wrote it and why."""

    value: float
    by: str
    reason: str

    def as_dict(self) -> Dict[str, Any]:
        """The value as it is written in the file."""
        return {"value": self.value, "by": self.by, "reason": self.reason}


@dataclass(frozen=True)
class TuningFile:
    """A parsed tuning file: intent -> setting -> `TunedValue`."""

    intents: Mapping[str, Mapping[str, TunedValue]]
    path: Optional[str] = None

    def value(self, intent: Optional[str], setting: str) -> Optional[TunedValue]:
        """The learned value of `setting` for `intent`, if the file has one."""
        return (self.intents.get(intent or "") or {}).get(setting)

    def thresholds(self) -> Dict[str, Dict[str, float]]:
        """Intent -> setting -> value, as `Thresholds.build(tuning=...)` takes it."""
        return {
            intent: {setting: tuned.value for setting, tuned in settings.items()}
            for intent, settings in self.intents.items()
        }

    def as_dict(self) -> Dict[str, Any]:
        """The file's content as plain data (sorted, for stable diffs)."""
        return {
            "version": FORMAT_VERSION,
            "intents": {
                intent: {
                    setting: self.intents[intent][setting].as_dict()
                    for setting in sorted(self.intents[intent])
                }
                for intent in sorted(self.intents)
            },
        }


def _error(where: str, problem: str, fix: str) -> HandoverConfigError:
    return HandoverConfigError(
        f"The tuning file {where}: {problem} {fix} See {DOCS_URL}"
    )


def _number(setting: str, raw: Any, where: str) -> float:
    low, high = BOUNDS[setting]
    ok = isinstance(raw, (int, float)) and not isinstance(raw, bool)
    if not ok or not math.isfinite(raw) or not low <= raw <= high:
        raise _error(
            where,
            f"`{setting}` is {raw!r}, but it must be a number from {low} to {high}.",
            "Rerun the command that wrote the file, or correct the value by hand.",
        )
    return float(raw)


def _tuned_value(setting: str, raw: Any, where: str) -> TunedValue:
    if not isinstance(raw, Mapping) or "value" not in raw:
        raise _error(
            where,
            f"`{setting}` must be a mapping with `value`, `by` and `reason`, "
            f"not {raw!r}.",
            f"Write e.g. `{setting}: {{value: 0.4, by: calibrate, reason: ...}}`.",
        )
    by = raw.get("by", "calibrate")
    if by not in WRITERS:
        raise _error(
            where,
            f"`by` is {by!r}; the writers are {', '.join(WRITERS)}.",
            "Use one of them.",
        )
    return TunedValue(
        value=_number(setting, raw["value"], where),
        by=str(by),
        reason=str(raw.get("reason") or ""),
    )


def parse_tuning(raw: Any, path: Optional[str] = None) -> TuningFile:
    """Validates a tuning file's content.

    Args:
        raw: The loaded YAML.
        path: Where it came from, for error messages.

    Returns:
        The parsed file.

    Raises:
        HandoverConfigError: naming what is wrong, why, and how to fix it.

    """
    name = f"'{path}'" if path else "content"
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise _error(name, "must be a YAML mapping.", "Start it with `version: 1`.")
    version = raw.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise _error(
            name,
            f"has version {version!r}; this rasa-handover reads version "
            f"{FORMAT_VERSION}.",
            "Upgrade rasa-handover, or rewrite the file with this version's "
            "`rasa-handover calibrate`.",
        )
    unknown = sorted(set(raw) - {"version", "intents"})
    if unknown:
        raise _error(
            name,
            f"has unknown keys {unknown}.",
            "Only `version` and `intents` are read.",
        )
    intents = raw.get("intents")
    intents = {} if intents is None else intents
    if not isinstance(intents, Mapping):
        raise _error(name, "`intents` must map intent names to settings.", "")
    parsed: Dict[str, Dict[str, TunedValue]] = {}
    for intent, settings in intents.items():
        where = f"{name}, intent `{intent}`"
        if not isinstance(settings, Mapping):
            raise _error(where, "must map settings to values.", "")
        bad = sorted(set(settings) - set(TUNABLE_SETTINGS))
        if bad:
            raise _error(
                where,
                f"sets {bad}, which a tuning file cannot set.",
                f"It may set {', '.join(TUNABLE_SETTINGS)}.",
            )
        parsed[str(intent)] = {
            str(setting): _tuned_value(str(setting), value, where)
            for setting, value in settings.items()
        }
    return TuningFile(intents=parsed, path=path)


def load_tuning(path: Union[str, Path]) -> TuningFile:
    """Reads and validates a tuning file.

    Raises:
        HandoverConfigError: if the file is missing, is not YAML, or holds a
            value the plugin cannot use.

    """
    file = Path(path)
    if not file.is_file():
        raise _error(
            f"'{file}'",
            "does not exist.",
            "Write it with `rasa-handover calibrate`, or remove `tuning_file` "
            "from HandoverPolicy's settings in config.yml. A relative path is "
            "read from the folder in which Rasa runs.",
        )
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise _error(f"'{file}'", f"is not valid YAML ({error}).", "") from error
    return parse_tuning(raw, str(file))


def dump_tuning(tuning: TuningFile, header: str = "") -> str:
    """The file's text: an optional comment header, then the YAML."""
    comment = "".join(
        f"# {line}\n".replace("# \n", "#\n") for line in header.splitlines()
    )
    body = yaml.safe_dump(
        tuning.as_dict(), sort_keys=False, allow_unicode=True, width=100
    )
    return comment + body
