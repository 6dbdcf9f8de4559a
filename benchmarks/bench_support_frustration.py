"""Frustration on support-style messages: the trigger against VADER alone.

Reads the hand-written sets of benchmarks/data (benchmarks/data/README.md):
`support_frustration.yml` (dev: detectors and thresholds were chosen on it)
and, when present, `support_frustration_heldout.yml` (written after the design,
never tuned on), `support_frustration_third.yml` (320 messages in the styles of
real support traffic, written apart from the code and from the model's training
messages), and `banking77_frustration.yml`: 1,000 real customer queries
of Banking77 (read from ../shared/datasets, CC BY 4.0) labelled by reading,
apart from the code (5.7% frustrated; skipped without the dataset). Reports each
apart:

- the real trigger (`check_frustration`, default settings plus the opt-in
  `complaint` signal; the default settings alone; the high-value rule too) on a
  one-turn conversation per message;
- windows of three: each class shuffled with a fixed seed and cut into
  consecutive triples, a window being one conversation of three user turns of
  the same class, judged on its third turn (as bench_goemotions.py does);
- VADER's compound score alone, at the cut that is best on the dev set (the
  same cut applied to the held-out set, whose own best cut is reported too, as
  an upper bound);
- each signal alone, and the recall / false alarms per category.

Prints one line per set and writes benchmarks/results/support_frustration.json.

    .venv/bin/python benchmarks/bench_support_frustration.py
"""

import csv
import random
import time
from typing import Dict, List, Sequence

import yaml
from bench_goemotions import VADER_AUTHORS_CUT, VADER_CUTS, fires
from common import REPO, dataset, precision_recall, write_result

from rasa_handover.constants import ALL_SIGNALS
from rasa_handover.settings import parse_settings
from rasa_handover.signals import detect_signals, sentiment_score

DATA = REPO / "benchmarks" / "data"
SETS = {
    "dev": DATA / "support_frustration.yml",
    "heldout": DATA / "support_frustration_heldout.yml",
    # Written apart from the code and the training messages, in the styles of
    # real support traffic (tweets, chat, email, messaging), mostly calm.
    "third": DATA / "support_frustration_third.yml",
}
BANKING77_LABELS = DATA / "banking77_frustration.yml"
WINDOW = 3
WINDOW_SEED = 13


def load(path) -> List[Dict[str, object]]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_banking77() -> List[Dict[str, object]]:
    """The labelled Banking77 rows joined with their text (empty: no dataset)."""
    source = dataset("banking77", "train.csv")
    if source is None:
        return []
    with open(source, encoding="utf-8", newline="") as handle:
        texts = [row[0] for row in list(csv.reader(handle))[1:]]
    return [
        {"text": texts[label["row"]], "category": "banking77", **label}
        for label in load(BANKING77_LABELS)
    ]


def scored(flags: Sequence[bool], gold: Sequence[bool]) -> Dict[str, object]:
    return precision_recall(
        sum(f and g for f, g in zip(flags, gold)),
        sum(f and not g for f, g in zip(flags, gold)),
        sum(gold),
    )


def vader_at(scores: Sequence[float], gold: Sequence[bool], cut: float):
    return {"cut": cut, **scored([s <= cut for s in scores], gold)}


def best_vader_cut(scores: Sequence[float], gold: Sequence[bool]) -> float:
    return max(VADER_CUTS, key=lambda c: vader_at(scores, gold, c)["f1"] or 0.0)


def windows(texts: Sequence[str], gold: Sequence[bool]) -> Dict[bool, List[List[str]]]:
    rng = random.Random(WINDOW_SEED)
    out: Dict[bool, List[List[str]]] = {}
    for label in (True, False):
        members = [t for t, g in zip(texts, gold) if g is label]
        rng.shuffle(members)
        out[label] = [
            members[i : i + WINDOW] for i in range(0, len(members) - WINDOW + 1, WINDOW)
        ]
    return out


def per_category(
    rows: Sequence[Dict[str, object]], flags: Sequence[bool]
) -> Dict[str, str]:
    """For each category: flagged / size (recall for frustrated, false alarms else)."""
    counts: Dict[str, List[int]] = {}
    for row, flag in zip(rows, flags):
        key = f"{'frustrated' if row['frustrated'] else 'calm'}/{row['category']}"
        hit, size = counts.get(key, [0, 0])
        counts[key] = [hit + flag, size + 1]
    return {key: f"{hit}/{size}" for key, (hit, size) in sorted(counts.items())}


def evaluate(rows: Sequence[Dict[str, object]], vader_cut: float) -> Dict[str, object]:
    # `complaint` is opt-in (docs/frustration.md): measured enabled.
    signals = list(ALL_SIGNALS)
    default = parse_settings({"frustration_signal_types": signals})
    shipped = parse_settings({})
    high_value = parse_settings(
        {"frustration_signals": 1, "frustration_signal_types": signals}
    )
    texts = [str(row["text"]) for row in rows]
    gold = [bool(row["frustrated"]) for row in rows]
    rule = [fires([text], default) for text in texts]
    found = [{s.name for s in detect_signals(text)} for text in texts]
    scores = [sentiment_score(text) for text in texts]
    triples = windows(texts, gold)
    window_flags = [fires(w, default) for w in triples[True] + triples[False]]
    window_gold = [True] * len(triples[True]) + [False] * len(triples[False])
    own_cut = best_vader_cut(scores, gold)
    window_vader = [
        min(sentiment_score(t) for t in w) <= vader_cut
        for w in triples[True] + triples[False]
    ]
    return {
        "messages": {"frustrated": sum(gold), "calm": len(gold) - sum(gold)},
        "rule_2_signs": scored(rule, gold),
        "rule_2_signs_default_signals": scored(
            [fires([text], shipped) for text in texts], gold
        ),
        "rule_1_sign_high_value": scored(
            [fires([text], high_value) for text in texts], gold
        ),
        "vader_alone_dev_cut": vader_at(scores, gold, vader_cut),
        "vader_alone_authors_cut": vader_at(scores, gold, VADER_AUTHORS_CUT),
        "vader_alone_own_best_cut": vader_at(scores, gold, own_cut),
        "windows_of_3": {
            "frustrated_windows": len(triples[True]),
            "calm_windows": len(triples[False]),
            "rule_2_signs": scored(window_flags, window_gold),
            "vader_alone_dev_cut_any_turn": scored(window_vader, window_gold),
        },
        "signals": {
            name: scored([name in names for names in found], gold)
            for name in ALL_SIGNALS
        },
        "rule_by_category": per_category(rows, rule),
        "missed": [t for t, r, g in zip(texts, rule, gold) if g and not r],
        "false_alarms": [t for t, r, g in zip(texts, rule, gold) if r and not g],
    }


def main() -> None:
    started = time.perf_counter()
    dev = load(SETS["dev"])
    dev_scores = [sentiment_score(str(row["text"])) for row in dev]
    cut = best_vader_cut(dev_scores, [bool(row["frustrated"]) for row in dev])
    result: Dict[str, object] = {"benchmark": "support_frustration", "vader_cut": cut}
    labelled = {name: load(path) for name, path in SETS.items() if path.exists()}
    labelled["banking77"] = load_banking77()
    for name, rows in labelled.items():
        if not rows:
            continue
        report = evaluate(rows, cut)
        result[name] = report
        shipped = report["rule_2_signs_default_signals"]
        rule, vader = report["rule_2_signs"], report["vader_alone_dev_cut"]
        authors = report["vader_alone_authors_cut"]
        window = report["windows_of_3"]["rule_2_signs"]
        print(
            f"support frustration {name} ({report['messages']}): default rule P "
            f"{shipped['precision']} R {shipped['recall']} F1 {shipped['f1']} "
            f"(with complaint: P {rule['precision']} R {rule['recall']} F1 "
            f"{rule['f1']}; windows of 3 F1 {window['f1']}); VADER alone at "
            f"{cut} P {vader['precision']} R {vader['recall']} F1 {vader['f1']}, "
            f"at {VADER_AUTHORS_CUT} F1 {authors['f1']} (own best cut "
            f"{report['vader_alone_own_best_cut']['cut']}: F1 "
            f"{report['vader_alone_own_best_cut']['f1']})"
        )
    result["seconds"] = round(time.perf_counter() - started, 1)
    path = write_result("support_frustration", result)
    print(f"-> {path.name}")


if __name__ == "__main__":
    main()
