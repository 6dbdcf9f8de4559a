"""Train the learned frustration signal (`angry_tone`) and choose its thresholds.

Reads GoEmotions (Demszky et al. 2020, Apache-2.0) in place from
../shared/datasets/goemotions/ (or $RASA_HANDOVER_DATASETS/goemotions/); no text
is copied into the repository. Writes rasa_handover/data/frustration_model.npz:
the weights of a logistic regression over hashed word and character n-grams
(the features of `rasa_handover.signals.learned.features`, which the run-time
scorer uses too), its bias, the two decision thresholds and the figures below,
as plain arrays and JSON (no pickle).

1. Labels: a comment is positive when raters labelled it anger, annoyance or
   disgust (other labels allowed), negative otherwise (neutral and every other
   emotion: a confused, sad or disapproving customer is not necessarily angry).
2. The regularisation C and the class weighting are chosen on dev by average
   precision of positives against neutral-only comments (the benchmark's
   protocol, benchmarks/bench_goemotions.py).
3. The combination, chosen on dev: the trigger counts signs of frustration, a
   rule signal as one sign and `angry_tone` as one sign at `threshold` or two
   at `strong_threshold`, and fires at 2 signs (`frustration_signals`). The
   script sweeps both thresholds and keeps the pair with the best F1 on single
   comments whose precision is at least MIN_PRECISION, among the pairs whose
   windows of three (same protocol as the benchmark) keep precision at least
   MIN_WINDOW_PRECISION.
4. Honesty check: the same choice made on odd dev rows and scored on even rows.

Deterministic: fixed seeds, a stable hash (CRC-32), sorted grids. Takes 5 to 10
minutes on a busy 2-core machine (6 fits of a logistic regression).

    .venv/bin/python scripts/train_frustration_model.py [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence, Set, Tuple

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_goemotions import vader_alone  # noqa: E402
from common import dataset, precision_recall  # noqa: E402

from rasa_handover.constants import ALL_SIGNALS, SIGNAL_ANGRY_TONE  # noqa: E402
from rasa_handover.signals import detect_signals  # noqa: E402
from rasa_handover.signals.learned import (  # noqa: E402
    FEATURE_BITS,
    FRUSTRATION_MODEL_FILE,
    MODEL_FORMAT,
    feature_buckets,
    load_model,
)

EMOTIONS = ("anger", "annoyance", "disgust")
NEUTRAL = "neutral"
SEED = 13
WINDOW = 3
C_GRID = (2.0, 4.0, 8.0)
CLASS_WEIGHTS = (None, "balanced")
THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(4, 20))
# Precision floors for the combination on dev: a margin over the 0.70 target
# because Reddit is not a support chat and dev is also where we choose.
MIN_PRECISION = 0.75
MIN_WINDOW_PRECISION = 0.70
RULE_SIGNALS = tuple(name for name in ALL_SIGNALS if name != SIGNAL_ANGRY_TONE)
SIGNS_TO_FIRE = 2

Rows = List[Tuple[str, Set[str]]]


def load(split: str) -> Rows:
    """The rows of one GoEmotions split: text and label names."""
    data = dataset("goemotions", f"{split}.tsv")
    labels = dataset("goemotions", "labels.txt")
    if data is None or labels is None:
        sys.exit(1)
    names = labels.read_text(encoding="utf-8").split()
    rows: Rows = []
    for line in data.read_text(encoding="utf-8").splitlines():
        if line.strip():
            text, ids, _ = line.split("\t")
            rows.append((text, {names[int(i)] for i in ids.split(",")}))
    return rows


def matrix(texts: Sequence[str]) -> sparse.csr_matrix:
    """Binary hashed features scaled to unit length (repeated buckets add up)."""
    indptr, indices, values = [0], [], []
    for text in texts:
        buckets = feature_buckets(text)
        indices.extend(buckets)
        values.extend([1.0 / max(1, len(buckets)) ** 0.5] * len(buckets))
        indptr.append(len(indices))
    shape = (len(texts), 1 << FEATURE_BITS)
    result = sparse.csr_matrix((values, indices, indptr), shape=shape)
    result.sum_duplicates()
    return result


def is_positive(labels: Set[str]) -> bool:
    """Anger, annoyance or disgust among the labels."""
    return bool(labels & set(EMOTIONS))


def fit(x: Any, y: np.ndarray, c: float, weight: Any) -> LogisticRegression:
    """One logistic regression (liblinear, seeded)."""
    model = LogisticRegression(
        C=c, class_weight=weight, solver="liblinear", random_state=SEED, max_iter=1000
    )
    return model.fit(x, y)


def choose_model(
    train: Rows, dev: Rows, dev_kept: List[int]
) -> Tuple[np.ndarray, float, Dict[str, Any], List[Dict[str, Any]]]:
    """Fit the grid on train; keep the best by dev average precision."""
    x_train = matrix([t for t, _ in train])
    y_train = np.array([is_positive(labels) for _, labels in train])
    x_dev = matrix([dev[i][0] for i in dev_kept])
    y_dev = np.array([is_positive(dev[i][1]) for i in dev_kept])
    grid: List[Dict[str, Any]] = []
    best: Tuple[float, Any, Dict[str, Any]] = (-1.0, None, {})
    for weight in CLASS_WEIGHTS:
        for c in C_GRID:
            model = fit(x_train, y_train, c, weight)
            ap = float(average_precision_score(y_dev, model.decision_function(x_dev)))
            row = {"C": c, "class_weight": weight or "none", "dev_ap": round(ap, 4)}
            grid.append(row)
            print(f"  C={c:<5} class_weight={row['class_weight']:<8} dev AP {ap:.4f}")
            if ap > best[0]:
                best = (ap, model, row)
    model = best[1]
    # Stored as float16: the figures below are computed from the stored weights.
    weights = model.coef_[0].astype(np.float16)
    return weights, float(model.intercept_[0]), best[2], grid


def probabilities(texts: Sequence[str], weights: np.ndarray, bias: float) -> np.ndarray:
    """The stored model's probabilities (as the run-time scorer computes them)."""
    scores = matrix(texts) @ weights.astype(np.float32) + bias
    return 1.0 / (1.0 + np.exp(-scores))


def signs(rule_count: int, probability: float, weak: float, strong: float) -> int:
    """The trigger's count for one message (see triggers/frustration.py)."""
    learned = 2 if probability >= strong else 1 if probability >= weak else 0
    return rule_count + learned


def windows(indices: List[int], seed: int) -> List[List[int]]:
    """Shuffled, non-overlapping triples (as in bench_goemotions.py)."""
    shuffled = indices[:]
    random.Random(seed).shuffle(shuffled)
    return [
        shuffled[i : i + WINDOW] for i in range(0, len(shuffled) - WINDOW + 1, WINDOW)
    ]


def score_pair(
    items: List[int],
    y: Dict[int, bool],
    rules: Dict[int, int],
    p: Dict[int, float],
    weak: float,
    strong: float,
    window_sets: Dict[bool, List[List[int]]],
) -> Dict[str, Any]:
    """Single-comment and window figures of one (threshold, strong) pair."""
    fired = {i: signs(rules[i], p[i], weak, strong) for i in items}
    tp = sum(1 for i in items if y[i] and fired[i] >= SIGNS_TO_FIRE)
    fp = sum(1 for i in items if not y[i] and fired[i] >= SIGNS_TO_FIRE)
    single = precision_recall(tp, fp, sum(1 for i in items if y[i]))

    def window_fires(window: List[int]) -> bool:
        return fired[window[-1]] >= 1 and sum(fired[i] for i in window) >= SIGNS_TO_FIRE

    wtp = sum(window_fires(w) for w in window_sets[True])
    wfp = sum(window_fires(w) for w in window_sets[False])
    return {
        "single": single,
        "windows": precision_recall(wtp, wfp, len(window_sets[True])),
    }


def choose_thresholds(
    items: List[int], y: Dict[int, bool], rules: Dict[int, int], p: Dict[int, float]
) -> Tuple[Tuple[float, float], Dict[str, Any]]:
    """The pair with the best single F1 within the precision floors."""
    window_sets = {
        label: windows([i for i in items if y[i] == label], SEED)
        for label in (True, False)
    }
    best: Tuple[float, Tuple[float, float], Dict[str, Any]] = (-1.0, (1.0, 1.0), {})
    for weak in THRESHOLD_GRID:
        for strong in THRESHOLD_GRID:
            if strong < weak:
                continue
            figures = score_pair(items, y, rules, p, weak, strong, window_sets)
            single, windowed = figures["single"], figures["windows"]
            if (single["precision"] or 0) < MIN_PRECISION:
                continue
            if (windowed["precision"] or 0) < MIN_WINDOW_PRECISION:
                continue
            if (single["f1"] or 0) > best[0]:
                best = (single["f1"] or 0, (weak, strong), figures)
    return best[1], best[2]


def main() -> None:
    """Train, choose, write and check the model file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=FRUSTRATION_MODEL_FILE)
    parser.add_argument(
        "--reuse",
        type=Path,
        help="take the weights from this model file instead of fitting (to "
        "re-choose the thresholds only; the shipped file is always fitted)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    train, dev = load("train"), load("dev")
    kept = [
        i
        for i, (_, labels) in enumerate(dev)
        if is_positive(labels) or labels == {NEUTRAL}
    ]
    print(
        f"GoEmotions train {len(train)} comments, dev {len(kept)} kept "
        f"(positive or neutral-only)"
    )
    if args.reuse:
        with np.load(args.reuse, allow_pickle=False) as archive:
            reused = json.loads(str(archive["meta"]))
            weights = archive["weights"]
        bias, chosen, grid = reused["bias"], reused["hyper_parameters"], reused["grid"]
    else:
        weights, bias, chosen, grid = choose_model(train, dev, kept)
        # Kept at once, so that a failure below does not cost the fitting.
        np.savez_compressed(
            args.out.with_suffix(".fitted.npz"),
            weights=weights,
            meta=np.array(
                json.dumps({"bias": bias, "hyper_parameters": chosen, "grid": grid})
            ),
        )
    texts = [t for t, _ in dev]
    p = dict(zip(kept, probabilities([texts[i] for i in kept], weights, bias).tolist()))
    y = {i: is_positive(dev[i][1]) for i in kept}
    rules = {i: len(detect_signals(texts[i], RULE_SIGNALS)) for i in kept}
    (weak, strong), figures = choose_thresholds(kept, y, rules, p)
    odd, even = kept[1::2], kept[0::2]
    (half_weak, half_strong), _ = choose_thresholds(odd, y, rules, p)
    held = score_pair(
        even,
        y,
        rules,
        p,
        half_weak,
        half_strong,
        {
            label: windows([i for i in even if y[i] == label], SEED)
            for label in (True, False)
        },
    )
    learned_alone = precision_recall(
        sum(1 for i in kept if y[i] and p[i] >= weak),
        sum(1 for i in kept if not y[i] and p[i] >= weak),
        sum(y.values()),
    )
    meta = {
        "format": MODEL_FORMAT,
        "feature_bits": FEATURE_BITS,
        "bias": bias,
        "threshold": weak,
        "strong_threshold": strong,
        "labels": {"positive": list(EMOTIONS), "negative": "every other comment"},
        "data": (
            "GoEmotions train (Demszky et al. 2020), "
            "github.com/google-research/google-research/tree/master/goemotions"
        ),
        "licence": "Apache-2.0",
        "trained_by": "scripts/train_frustration_model.py",
        "train_comments": len(train),
        "hyper_parameters": {**chosen, "solver": "liblinear", "seed": SEED},
        "min_precision": {"single": MIN_PRECISION, "windows": MIN_WINDOW_PRECISION},
        "grid": grid,
        "dev": {
            "protocol": "anger/annoyance/disgust vs neutral-only comments",
            "rule_at_2_signs": figures,
            "angry_tone_alone_at_threshold": learned_alone,
            "vader_alone": vader_alone([texts[i] for i in kept], [y[i] for i in kept]),
            "split_half_check": {
                "thresholds_from_odd_rows": [half_weak, half_strong],
                "scored_on_even_rows": held,
            },
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, weights=weights, meta=np.array(json.dumps(meta)))
    model = load_model(args.out)
    drift = max(abs(model.probability(texts[i]) - p[i]) for i in kept[:200])
    assert drift < 1e-4, f"run-time scorer disagrees with training by {drift}"
    args.out.with_suffix(".fitted.npz").unlink(missing_ok=True)
    print(json.dumps(meta["dev"], indent=1))
    print(
        f"chosen: C={chosen['C']} class_weight={chosen['class_weight']} "
        f"threshold={weak} strong_threshold={strong}; dev per comment "
        f"P {figures['single']['precision']} R {figures['single']['recall']} "
        f"F1 {figures['single']['f1']}; windows of 3 F1 {figures['windows']['f1']}; "
        f"{args.out} {args.out.stat().st_size / 1e6:.2f} MB; "
        f"{time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
