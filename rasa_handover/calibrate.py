"""`rasa-handover calibrate`: per-intent confidence floors from the bot's own NLU.

A single floor (0.55) treats every intent alike, but NLU confidence does not
mean the same for each: a classifier spreads its probability over similar
intents, so a well-learned `check_balance` may be right at 0.4 while a vague
`chitchat` is wrong at 0.7. Calibration asks the bot's own pipeline:

1. Cross-validate the NLU pipeline of `config.yml` on the bot's NLU data with
   Rasa's own machinery (`rasa.nlu.test.generate_folds`,
   `rasa.model_training.train_nlu`, `rasa.nlu.test.get_eval_data`): every
   example is predicted by a model that did not see it.
2. Per predicted intent, the floor is the highest one that still keeps `keep`
   (95 %) of its correct predictions, within the tuning file's bounds and never
   above `max_floor` (by default the configured `confidence_floor`: calibration
   makes the bot escalate less on what it knows, unless asked otherwise).
3. Intents predicted fewer than `min_correct` times correctly keep the default.

The result is written to the tuning file (`rasa_handover/tuning_file.py`) with
a reason per intent ("keeps 95% (38/40) of correct check_balance predictions;
catches 70% (7/10) of wrong ones"). Values written by `rasa-handover tune`
(from agents' labels) are kept. The floor choice is a pure function
(`choose_floors`); only `cross_validated_predictions` needs Rasa.
"""

import argparse
import asyncio
import logging
import math
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

import yaml

from rasa_handover.evaluation.baseline import read_config, settings_for
from rasa_handover.settings import default_config
from rasa_handover.tuning_file import (
    BOUNDS,
    TunedValue,
    TuningFile,
    dump_tuning,
    load_tuning,
)

if TYPE_CHECKING:  # pragma: no cover - Rasa is imported lazily
    from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

SETTING = "confidence_floor"
DEFAULT_KEEP = 0.95
DEFAULT_MIN_CORRECT = 5
DEFAULT_FOLDS = 5
DEFAULT_SEED = 42
# The policy's own default floor (one place: settings.default_config).
DEFAULT_FLOOR: float = default_config()["confidence_floor"]
DEFAULT_OUT = "handover_tuning.yml"
# Config keys that describe the NLU pipeline; policies are not needed.
NLU_CONFIG_KEYS = ("recipe", "language", "pipeline", "assistant_id")


@dataclass(frozen=True)
class Prediction:
    """One cross-validated NLU prediction."""

    target: str
    predicted: Optional[str]
    confidence: float

    @property
    def correct(self) -> bool:
        """Whether NLU predicted the labelled intent."""
        return self.target == self.predicted


@dataclass(frozen=True)
class FloorChoice:
    """The floor chosen for one intent (or why none was)."""

    intent: str
    floor: Optional[float]
    kept: int
    correct: int
    caught: int
    wrong: int
    reason: str


def _round_down(value: float) -> float:
    """Two decimals, rounded down so that the example at the floor is kept."""
    return math.floor(value * 100 + 1e-9) / 100


def _share(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}% ({part}/{whole})" if whole else "0"


def choose_floor(
    intent: str,
    predictions: Sequence[Prediction],
    keep: float = DEFAULT_KEEP,
    min_correct: int = DEFAULT_MIN_CORRECT,
    max_floor: float = DEFAULT_FLOOR,
) -> FloorChoice:
    """Chooses one intent's floor from the predictions of that intent.

    Args:
        intent: The predicted intent.
        predictions: Cross-validated predictions whose predicted intent it is.
        keep: Share of correct predictions that must stay at or above the floor.
        min_correct: Fewer correct predictions than this choose no floor.
        max_floor: The floor never goes above this.

    Returns:
        The choice, with the reason written to the tuning file.

    """
    correct = sorted(p.confidence for p in predictions if p.correct)
    wrong = [p.confidence for p in predictions if not p.correct]
    if len(correct) < min_correct:
        return FloorChoice(
            intent,
            None,
            0,
            len(correct),
            0,
            len(wrong),
            f"only {len(correct)} correct predictions in cross-validation "
            f"(fewer than {min_correct}): the default applies",
        )
    low, high = BOUNDS[SETTING]
    index = math.floor(len(correct) * (1 - keep) + 1e-9)
    floor = min(max(_round_down(correct[index]), low), min(max_floor, high))
    kept = sum(1 for c in correct if c >= floor)
    caught = sum(1 for w in wrong if w < floor)
    caught_text = (
        f"catches {_share(caught, len(wrong))} of wrong ones"
        if wrong
        else "no wrong predictions of it in cross-validation"
    )
    return FloorChoice(
        intent,
        floor,
        kept,
        len(correct),
        caught,
        len(wrong),
        f"keeps {_share(kept, len(correct))} of correct {intent} predictions; "
        f"{caught_text}",
    )


def choose_floors(
    predictions: Sequence[Prediction],
    keep: float = DEFAULT_KEEP,
    min_correct: int = DEFAULT_MIN_CORRECT,
    max_floor: float = DEFAULT_FLOOR,
) -> List[FloorChoice]:
    """Chooses a floor per predicted intent (sorted by intent name)."""
    by_intent: Dict[str, List[Prediction]] = {}
    for prediction in predictions:
        if prediction.predicted:
            by_intent.setdefault(prediction.predicted, []).append(prediction)
    return [
        choose_floor(intent, by_intent[intent], keep, min_correct, max_floor)
        for intent in sorted(by_intent)
    ]


def merged_tuning(
    choices: Sequence[FloorChoice], existing: Optional[TuningFile]
) -> TuningFile:
    """The new tuning file: calibrated floors, plus everything `tune` wrote.

    A floor written by `tune` (from agents' outcomes) is more specific than
    cross-validation and is kept; earlier calibrated floors are replaced.
    """
    intents: Dict[str, Dict[str, TunedValue]] = {}
    for intent, settings in (existing.intents if existing else {}).items():
        kept = {k: v for k, v in settings.items() if v.by != "calibrate"}
        if kept:
            intents[intent] = kept
    for choice in choices:
        if choice.floor is None:
            continue
        settings = intents.setdefault(choice.intent, {})
        current = settings.get(SETTING)
        if current is None or current.by == "calibrate":
            settings[SETTING] = TunedValue(choice.floor, "calibrate", choice.reason)
    return TuningFile(intents=intents)


# --- Running Rasa. ---------------------------------------------------------------


def nlu_config(config_path: Path) -> Dict[str, Any]:
    """The NLU part of a bot's config.yml (the policies are not needed)."""
    raw = read_config(config_path)
    return {key: raw[key] for key in NLU_CONFIG_KEYS if key in raw}


def configured_floor(config_path: Path) -> float:
    """HandoverPolicy's `confidence_floor` in config.yml, or the default."""
    return settings_for(config_path).confidence_floor


def load_nlu(path: Path) -> "TrainingData":
    """The NLU examples of a file or a bot's data folder (stories and rules skipped).

    Rasa's `load_data` fails on a folder that also holds `rules.yml`; the NLU
    files are picked as `rasa train` picks them.
    """
    from rasa.shared.data import get_nlu_directory
    from rasa.shared.nlu.training_data.loading import load_data

    return load_data(get_nlu_directory(str(path)))


async def cross_validated_predictions(
    config_path: Path, nlu_path: Path, folds: int, seed: int
) -> List[Prediction]:
    """Every NLU example predicted by a model trained on the other folds."""
    import numpy as np
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu
    from rasa.nlu.test import drop_intents_below_freq, generate_folds, get_eval_data
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter

    data = drop_intents_below_freq(load_nlu(nlu_path), cutoff=folds)
    predictions: List[Prediction] = []
    with tempfile.TemporaryDirectory(prefix="rasa-handover-calibrate-") as tmp:
        work = Path(tmp)
        config_file = work / "config.yml"
        config_file.write_text(yaml.safe_dump(nlu_config(config_path)), "utf-8")
        # generate_folds shuffles with numpy's global generator.
        np.random.seed(seed)
        for number, (train, test) in enumerate(generate_folds(folds, data), 1):
            logger.info("Calibration fold %d of %d: training NLU", number, folds)
            train_file = work / f"fold{number}.yml"
            RasaYAMLWriter().dump(train_file, train)
            model = train_nlu(str(config_file), str(train_file), str(work))
            if not model:
                raise RuntimeError(f"NLU training failed on fold {number}.")
            processor = Agent.load(model).processor
            results, _, _ = await get_eval_data(processor, test)
            predictions.extend(
                Prediction(
                    str(r.intent_target),
                    None if r.intent_prediction is None else str(r.intent_prediction),
                    float(r.confidence or 0.0),
                )
                for r in results
            )
    return predictions


# --- The command. ----------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `rasa-handover calibrate`."""
    parser.add_argument("--config", default="config.yml", help="the bot's config.yml")
    parser.add_argument("--nlu", default="data", help="NLU data: a file or a folder")
    parser.add_argument("--out", default=DEFAULT_OUT, help="the tuning file to write")
    parser.add_argument("--folds", type=int, default=DEFAULT_FOLDS)
    parser.add_argument(
        "--keep",
        type=float,
        default=DEFAULT_KEEP,
        help="share of correct predictions each floor keeps",
    )
    parser.add_argument("--min-correct", type=int, default=DEFAULT_MIN_CORRECT)
    parser.add_argument(
        "--max-floor",
        type=float,
        default=None,
        help="highest floor (default: the configured confidence_floor)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--dry-run", action="store_true", help="print the floors, write nothing"
    )


def _check_arguments(args: argparse.Namespace) -> Optional[str]:
    if not Path(args.config).is_file():
        return f"config file '{args.config}' not found (use --config)."
    if not Path(args.nlu).exists():
        return f"NLU data '{args.nlu}' not found (use --nlu)."
    if args.folds < 2:
        return "--folds must be at least 2."
    if not 0.5 <= args.keep < 1:
        return "--keep must be at least 0.5 and below 1 (e.g. 0.95)."
    return None


def format_choices(choices: Sequence[FloorChoice]) -> str:
    """A table of the chosen floors for the terminal."""
    lines = [f"{'intent':<28} {'floor':>6}  reason"]
    for c in choices:
        floor = "-" if c.floor is None else f"{c.floor:.2f}"
        lines.append(f"{c.intent:<28} {floor:>6}  {c.reason}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Runs `rasa-handover calibrate`; returns the exit code."""
    problem = _check_arguments(args)
    if problem:
        print(f"rasa-handover calibrate: {problem}")
        return 2
    config = Path(args.config)
    max_floor = (
        args.max_floor if args.max_floor is not None else configured_floor(config)
    )
    predictions = asyncio.run(
        cross_validated_predictions(config, Path(args.nlu), args.folds, args.seed)
    )
    choices = choose_floors(predictions, args.keep, args.min_correct, max_floor)
    print(format_choices(choices))
    out = Path(args.out)
    existing = load_tuning(out) if out.is_file() else None
    tuning = merged_tuning(choices, existing)
    if args.dry_run:
        return 0
    header = _header(args, len(predictions), max_floor)
    out.write_text(dump_tuning(tuning, header), encoding="utf-8")
    print(f"Wrote {out}. Point HandoverPolicy at it: `tuning_file: {out}`.")
    return 0


def _header(args: argparse.Namespace, examples: int, max_floor: float) -> str:
    moment = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Written by `rasa-handover calibrate` on {moment}: {args.folds}-fold\n"
        f"cross-validation of {args.config}'s NLU pipeline on {args.nlu} "
        f"({examples} examples),\n"
        f"keep={args.keep}, min_correct={args.min_correct}, "
        f"max_floor={max_floor}, seed={args.seed}.\n"
        "Values by `tune` come from agents' outcome labels. Format: docs/calibrate.md"
    )


__all__: Tuple[str, ...] = (
    "FloorChoice",
    "Prediction",
    "choose_floor",
    "choose_floors",
    "merged_tuning",
    "run",
)
