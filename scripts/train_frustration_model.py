"""Train the learned frustration signal (`angry_tone`) and choose its thresholds.

Reads GoEmotions (Demszky et al. 2020, Apache-2.0) in place from
../shared/datasets/goemotions/ (or $RASA_HANDOVER_DATASETS/goemotions/); no text
is copied into the repository. Beside it, support messages written by hand for
training (scripts/training_data/support_messages.yml, Apache-2.0): Reddit
comments seldom say "third call this week and still no engineer", which a
support lead reads as frustration; and the in-scope and out-of-scope training
queries of CLINC150 (Larson et al. 2019, CC BY 3.0; ../shared/datasets/clinc150/)
as calm: a request to a bot ("how do I cancel my membership") is not a sign of
frustration, however often its words turn up in complaints. Writes
rasa_handover/data/frustration_model.npz: the weights of a logistic
regression over hashed word and character n-grams (the features of
`rasa_handover.signals.learned.features`, which the run-time scorer uses too),
its bias, the two decision thresholds and the figures below, as plain arrays and
JSON (no pickle).

1. Labels: a comment is positive when raters labelled it anger, annoyance or
   disgust (other labels allowed), negative otherwise (neutral and every other
   emotion: a confused, sad or disapproving customer is not necessarily angry).
   A support message is positive when it is labelled `frustrated`; a CLINC150
   query is negative.
2. Two dev sets choose everything: GoEmotions dev (positives against
   neutral-only comments, the protocol of benchmarks/bench_goemotions.py) and
   the support dev set (benchmarks/data/support_frustration.yml). The
   held-out support sets are never read here.
3. For each weight of a support message (SUPPORT_WEIGHTS, against 1 for a
   Reddit comment) and each regularisation C, one fit; for each fit, the
   combination: the trigger counts signs of frustration with its default
   signals (their weights), `angry_tone` as one sign at `threshold` or two at
   `strong_threshold`, and fires at 2 signs (`frustration_signals`). The script
   sweeps both thresholds and keeps the pair with the best mean per-message F1
   over the two dev sets whose precision is at least MIN_PRECISION on
   GoEmotions, MIN_SUPPORT_PRECISION on the support dev set, whose GoEmotions
   windows of three keep precision at least MIN_WINDOW_PRECISION and F1 at
   least MIN_WINDOW_F1, and under
   which at most MAX_REQUESTS_ALONE of CLINC150's validation queries would be
   handed over on their own (2 signs).
   The fit with the best such mean is kept.
4. Honesty check: the thresholds chosen on odd dev rows, scored on even rows.

Deterministic: fixed seeds, a stable hash (CRC-32), sorted grids. Takes 10 to
15 minutes on a busy 2-core machine (6 fits of a logistic regression).

    .venv/bin/python scripts/train_frustration_model.py [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence, Set, Tuple

import numpy as np
import yaml
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_goemotions import vader_alone, windows_of  # noqa: E402
from common import dataset, precision_recall  # noqa: E402

from rasa_handover.constants import DEFAULT_SIGNALS, SIGNAL_ANGRY_TONE  # noqa: E402
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
SUPPORT_TRAIN = REPO / "scripts" / "training_data" / "support_messages.yml"
SUPPORT_DEV = REPO / "benchmarks" / "data" / "support_frustration.yml"
SEED = 13
# A support message weighs this many Reddit comments in the fit (2k of them
# against 43k comments); more moves the model towards support chats and away
# from GoEmotions (dev AP 0.70 with none, 0.63 at 10).
SUPPORT_WEIGHTS = (1.0, 2.0, 3.0)
C_GRID = (4.0, 8.0)
THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(4, 20))
# Precision floors for the combination: a margin over the 0.70 on
# GoEmotions (dev is also where we choose); support messages are judged alone,
# and a false handover there is an agent's time.
MIN_PRECISION = 0.72
MIN_SUPPORT_PRECISION = 0.85
MIN_WINDOW_PRECISION = 0.65
# Issue 9's target for windows of three on GoEmotions dev, kept as a floor.
MIN_WINDOW_F1 = 0.70
# Requests to a bot that would be handed over as frustration on their own.
MAX_REQUESTS_ALONE = 0.005
GOEMOTIONS, SUPPORT, REQUESTS = "goemotions", "support", "requests"
FLOORS = {GOEMOTIONS: MIN_PRECISION, SUPPORT: MIN_SUPPORT_PRECISION}
# The rule signals counted by default, as the trigger counts them.
RULE_SIGNALS = tuple(name for name in DEFAULT_SIGNALS if name != SIGNAL_ANGRY_TONE)
SIGNS_TO_FIRE = 2

Rows = List[Tuple[str, Set[str]]]
Items = Dict[str, List[int]]


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


def load_requests(split: str) -> List[str]:
    """The queries of one CLINC150 split, in-scope and out-of-scope."""
    data = dataset("clinc150", "data_full.json")
    if data is None:
        sys.exit(1)
    splits = json.loads(data.read_text(encoding="utf-8"))
    return [text for text, _ in splits[split] + splits[f"oos_{split}"]]


def load_support(path: Path) -> Tuple[List[str], List[bool]]:
    """The texts and labels of a support message file (text, frustrated)."""
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [str(r["text"]) for r in rows], [bool(r["frustrated"]) for r in rows]


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


class Dev:
    """One dev set: texts, labels, features and the rule's signs per message."""

    def __init__(self, texts: List[str], gold: List[bool], windowed: bool) -> None:
        self.texts = texts
        self.y = np.array(gold or [False] * len(texts), dtype=bool)
        self.x = matrix(texts)
        self.rules = np.array(
            [sum(s.weight for s in detect_signals(t, RULE_SIGNALS)) for t in texts]
        )
        self.windowed = windowed
        self.every = list(range(len(texts)))
        self._windows: Dict[Tuple[int, ...], List[List[List[int]]]] = {}

    def windows(self, items: List[int]) -> List[List[List[int]]]:
        """The benchmark's windows over these items (angry, calm), cut once."""
        key = tuple(items)
        if key not in self._windows:
            self._windows[key] = windows_of(
                [[i for i in items if self.y[i]], [i for i in items if not self.y[i]]]
            )
        return self._windows[key]


def fit(x: Any, y: np.ndarray, c: float, sample_weight: np.ndarray) -> Any:
    """One logistic regression (liblinear, seeded)."""
    model = LogisticRegression(
        C=c, solver="liblinear", random_state=SEED, max_iter=1000
    )
    return model.fit(x, y, sample_weight=sample_weight)


def probabilities(x: sparse.csr_matrix, weights: np.ndarray, bias: float) -> np.ndarray:
    """The stored model's probabilities (as the run-time scorer computes them)."""
    scores = x @ weights.astype(np.float32) + bias
    return 1.0 / (1.0 + np.exp(-scores))


def score_pair(
    dev: Dev, p: np.ndarray, items: List[int], weak: float, strong: float
) -> Dict[str, Any]:
    """Per-message (and, for GoEmotions, window) figures of one threshold pair."""
    signs = dev.rules + np.where(p >= strong, 2, np.where(p >= weak, 1, 0))
    fired = signs >= SIGNS_TO_FIRE
    chosen = np.array(items)
    figures: Dict[str, Any] = {
        "single": precision_recall(
            int((fired[chosen] & dev.y[chosen]).sum()),
            int((fired[chosen] & ~dev.y[chosen]).sum()),
            int(dev.y[chosen].sum()),
        )
    }
    if dev.windowed:
        angry, calm = dev.windows(items)

        def window_fires(window: List[int]) -> bool:
            return bool(signs[window[-1]] >= 1 and signs[window].sum() >= SIGNS_TO_FIRE)

        figures["windows"] = precision_recall(
            sum(window_fires(w) for w in angry),
            sum(window_fires(w) for w in calm),
            len(angry),
        )
    return figures


def choose_thresholds(
    devs: Dict[str, Dev], p: Dict[str, np.ndarray], items: Items
) -> Tuple[Tuple[float, float], Dict[str, Any], float]:
    """The pair with the best mean per-message F1 within the precision floors."""
    best: Tuple[float, Tuple[float, float], Dict[str, Any]] = (-1.0, (1.0, 1.0), {})
    for weak in THRESHOLD_GRID:
        for strong in THRESHOLD_GRID:
            if strong < weak:
                continue
            figures = {
                name: score_pair(dev, p[name], items[name], weak, strong)
                for name, dev in devs.items()
            }
            if any(
                (figures[name]["single"]["precision"] or 0) < floor
                for name, floor in FLOORS.items()
            ):
                continue
            windowed = figures[GOEMOTIONS]["windows"]
            if (windowed["precision"] or 0) < MIN_WINDOW_PRECISION:
                continue
            if (windowed["f1"] or 0) < MIN_WINDOW_F1:
                continue
            requests = figures[REQUESTS]["single"]["flagged"]
            if requests > MAX_REQUESTS_ALONE * len(items[REQUESTS]):
                continue
            mean = float(
                np.mean([figures[name]["single"]["f1"] or 0 for name in FLOORS])
            )
            if mean > best[0]:
                best = (mean, (weak, strong), figures)
    return best[1], best[2], best[0]


def choose_model(
    train_x: sparse.csr_matrix,
    train_y: np.ndarray,
    support_count: int,
    devs: Dict[str, Dev],
) -> Tuple[np.ndarray, float, Dict[str, Any], List[Dict[str, Any]]]:
    """Fit the grid; keep the fit whose chosen thresholds score best on dev."""
    grid: List[Dict[str, Any]] = []
    best: Tuple[float, Any, float, Dict[str, Any]] = (-1.0, None, 0.0, {})
    for support_weight in SUPPORT_WEIGHTS:
        sample_weight = np.ones(train_x.shape[0])
        sample_weight[-support_count:] = support_weight
        for c in C_GRID:
            model = fit(train_x, train_y, c, sample_weight)
            weights = model.coef_[0].astype(np.float16)
            bias = float(model.intercept_[0])
            p = {
                name: probabilities(dev.x, weights, bias) for name, dev in devs.items()
            }
            pair, _, mean = choose_thresholds(
                devs, p, {n: d.every for n, d in devs.items()}
            )
            row = {
                "C": c,
                "support_weight": support_weight,
                **{
                    f"dev_ap_{name}": round(
                        float(average_precision_score(dev.y, p[name])), 4
                    )
                    for name, dev in devs.items()
                    if name in FLOORS
                },
                "thresholds": list(pair),
                "dev_mean_f1": round(mean, 4),
            }
            grid.append(row)
            print("  " + json.dumps(row), flush=True)
            if mean > best[0]:
                best = (mean, weights, bias, row)
    if best[1] is None:
        sys.exit("No fit has thresholds that meet the floors (see the docstring).")
    # Stored as float16: the figures are computed from the stored weights.
    return best[1], best[2], best[3], grid


def training_matrix(
    train: Rows, requests: List[str], support: Tuple[List[str], List[bool]]
) -> Tuple[Any, Any]:
    """GoEmotions train, the requests (calm), then the support messages (last)."""
    texts = [t for t, _ in train] + requests + support[0]
    labels = [is_positive(labels) for _, labels in train]
    labels += [False] * len(requests) + support[1]
    return matrix(texts), np.array(labels)


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
    support_train = load_support(SUPPORT_TRAIN)
    requests = load_requests("train")
    kept = [
        i
        for i, (_, labels) in enumerate(dev)
        if is_positive(labels) or labels == {NEUTRAL}
    ]
    devs = {
        GOEMOTIONS: Dev(
            [dev[i][0] for i in kept], [is_positive(dev[i][1]) for i in kept], True
        ),
        SUPPORT: Dev(*load_support(SUPPORT_DEV), windowed=False),
        REQUESTS: Dev(load_requests("val"), [], windowed=False),
    }
    print(
        f"GoEmotions train {len(train)} comments + {len(support_train[0])} support "
        f"messages + {len(requests)} requests; dev {len(kept)} comments (positive "
        f"or neutral-only) + {len(devs[SUPPORT].texts)} support messages + "
        f"{len(devs[REQUESTS].texts)} requests"
    )
    if args.reuse:
        with np.load(args.reuse, allow_pickle=False) as archive:
            reused = json.loads(str(archive["meta"]))
            weights = archive["weights"]
        bias, chosen, grid = reused["bias"], reused["hyper_parameters"], reused["grid"]
    else:
        train_x, train_y = training_matrix(train, requests, support_train)
        weights, bias, chosen, grid = choose_model(
            train_x, train_y, len(support_train[0]), devs
        )
        # Kept at once, so that a failure below does not cost the fitting.
        np.savez_compressed(
            args.out.with_suffix(".fitted.npz"),
            weights=weights,
            meta=np.array(
                json.dumps({"bias": bias, "hyper_parameters": chosen, "grid": grid})
            ),
        )
    p = {name: probabilities(d.x, weights, bias) for name, d in devs.items()}
    every = {name: d.every for name, d in devs.items()}
    (weak, strong), figures, mean = choose_thresholds(devs, p, every)
    if mean < 0:
        sys.exit("No pair of thresholds meets the floors (see the docstring).")
    odd = {name: items[1::2] for name, items in every.items()}
    even = {name: items[0::2] for name, items in every.items()}
    (half_weak, half_strong), _, _ = choose_thresholds(devs, p, odd)
    held = {
        name: score_pair(d, p[name], even[name], half_weak, half_strong)
        for name, d in devs.items()
    }
    go = devs[GOEMOTIONS]
    learned_alone = {
        name: precision_recall(
            int(((p[name] >= weak) & d.y).sum()),
            int(((p[name] >= weak) & ~d.y).sum()),
            int(d.y.sum()),
        )
        for name, d in devs.items()
    }
    meta = {
        "format": MODEL_FORMAT,
        "feature_bits": FEATURE_BITS,
        "bias": bias,
        "threshold": weak,
        "strong_threshold": strong,
        "labels": {
            "positive": [*EMOTIONS, "frustrated (support messages)"],
            "negative": "every other comment or message",
        },
        "data": [
            "GoEmotions train (Demszky et al. 2020), "
            "github.com/google-research/google-research/tree/master/goemotions",
            "scripts/training_data/support_messages.yml (written for training)",
            "CLINC150 train, in-scope and out-of-scope queries (Larson et al. 2019), "
            "github.com/clinc/oos-eval",
        ],
        "licence": "Apache-2.0",
        "data_licences": {
            "GoEmotions": "Apache-2.0",
            "CLINC150": "CC BY 3.0 (credited in `data`)",
            "support_messages.yml": "Apache-2.0 (this project)",
        },
        "trained_by": "scripts/train_frustration_model.py",
        "train_comments": len(train),
        "train_support_messages": len(support_train[0]),
        "train_requests": len(requests),
        "hyper_parameters": {**chosen, "solver": "liblinear", "seed": SEED},
        "min_precision": {
            "single": MIN_PRECISION,
            "support": MIN_SUPPORT_PRECISION,
            "windows": MIN_WINDOW_PRECISION,
            "windows_f1": MIN_WINDOW_F1,
            "max_requests_alone": MAX_REQUESTS_ALONE,
        },
        "grid": grid,
        "dev": {
            "protocol": (
                "GoEmotions: anger/annoyance/disgust vs neutral-only comments; "
                "support: benchmarks/data/support_frustration.yml, one message alone; "
                "requests: CLINC150 validation queries, all calm"
            ),
            "rule_at_2_signs": figures,
            "angry_tone_alone_at_threshold": learned_alone,
            "vader_alone": vader_alone(go.texts, go.y.tolist()),
            "split_half_check": {
                "thresholds_from_odd_rows": [half_weak, half_strong],
                "scored_on_even_rows": held,
            },
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, weights=weights, meta=np.array(json.dumps(meta)))
    model = load_model(args.out)
    drift = max(
        abs(model.probability(t) - float(q))
        for t, q in zip(go.texts[:200], p[GOEMOTIONS])
    )
    assert drift < 1e-4, f"run-time scorer disagrees with training by {drift}"
    args.out.with_suffix(".fitted.npz").unlink(missing_ok=True)
    print(json.dumps(meta["dev"], indent=1))
    single = {name: f["single"] for name, f in figures.items()}
    print(
        f"chosen: C={chosen['C']} support_weight={chosen['support_weight']} "
        f"threshold={weak} strong_threshold={strong}; "
        f"per message {json.dumps(single)}; "
        f"GoEmotions windows of 3 F1 {figures[GOEMOTIONS]['windows']['f1']}; "
        f"{args.out} {args.out.stat().st_size / 1e6:.2f} MB; "
        f"{time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
