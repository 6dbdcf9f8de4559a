"""Frustration signals against GoEmotions: anger / annoyance / disgust vs neutral.

Reads the GoEmotions dev split in place (../shared/datasets/goemotions/dev.tsv,
Reddit comments labelled by raters; label ids index labels.txt).

- Positives: comments labelled anger, annoyance or disgust (any of them, other
  labels allowed). Negatives: comments labelled neutral and nothing else.
  Comments with other emotions only are left out.
- Each signal of `rasa_handover.signals.detect_signals` (default settings), the learned
  `angry_tone` included:
  precision and recall, per emotion and pooled. Precision is at the dev set's
  natural mix (see `base_rate`), so it is comparable across rows, not across
  data sets.
- VADER's compound score alone, as the baseline the issue names: at its
  authors' negative cut (-0.05) and at its best cut on dev (an upper bound).
- The rules, by calling the real trigger (`check_frustration`) on a
  conversation view: the default rule (2 distinct signals in the last 3 turns,
  the latest carrying one) and the high-value rule (1 signal).
  - One comment = one turn (a one-turn conversation). Also scored against
    every other comment (all emotions but the three, not only neutral):
    `single_comment_vs_all_others`.
  - Windows of 3: the positives and the negatives are each shuffled with a
    fixed seed and cut into consecutive, non-overlapping triples; a window is
    one conversation of three user turns of the same class, judged on its third
    turn. (GoEmotions comments are independent, so windows are synthetic: they
    model a customer who stays angry, or stays calm, for three messages.)

Prints a one-line summary and writes benchmarks/results/goemotions.json.

    .venv/bin/python benchmarks/bench_goemotions.py
"""

import random
import time
from typing import Dict, List, Sequence, Set, Tuple, TypeVar

from common import dataset, precision_recall, write_result

from rasa_handover.constants import ALL_SIGNALS
from rasa_handover.conversation import UserTurn, view_from_turns
from rasa_handover.settings import HandoverSettings, parse_settings
from rasa_handover.signals import detect_signals, sentiment_score
from rasa_handover.triggers import check_frustration

T = TypeVar("T")
EMOTIONS = ("anger", "annoyance", "disgust")
NEUTRAL = "neutral"
WINDOW = 3
WINDOW_SEED = 13
RULE_DEFAULT = "rule_2_signals"
RULE_HIGH_VALUE = "rule_1_signal_high_value"
VADER_AUTHORS_CUT = -0.05
VADER_CUTS = tuple(round(0.05 * k, 2) for k in range(-19, 2))


def windows_of(classes: Sequence[Sequence[T]]) -> List[List[List[T]]]:
    """Each class shuffled and cut into consecutive triples: the windows.

    One seeded generator for the classes in the order given (angry first, then
    neutral), so the training script and this benchmark judge the same windows.
    """
    rng = random.Random(WINDOW_SEED)
    out: List[List[List[T]]] = []
    for members in classes:
        shuffled = list(members)
        rng.shuffle(shuffled)
        out.append(
            [
                shuffled[i : i + WINDOW]
                for i in range(0, len(shuffled) - WINDOW + 1, WINDOW)
            ]
        )
    return out


def vader_alone(texts: Sequence[str], positive: Sequence[bool]) -> Dict[str, object]:
    """VADER's compound score alone: at -0.05 and at its best cut on these texts."""
    scores = [sentiment_score(text) for text in texts]
    rows = {
        cut: precision_recall(
            sum(p and s <= cut for s, p in zip(scores, positive)),
            sum(not p and s <= cut for s, p in zip(scores, positive)),
            sum(positive),
        )
        for cut in VADER_CUTS
    }
    best = max(rows, key=lambda cut: rows[cut]["f1"] or 0.0)
    return {"at_-0.05": rows[VADER_AUTHORS_CUT], "best": {"cut": best, **rows[best]}}


def load() -> Tuple[List[Tuple[str, Set[str]]], str]:
    data = dataset("goemotions", "dev.tsv")
    labels_file = dataset("goemotions", "labels.txt")
    if data is None or labels_file is None:
        return [], ""
    names = labels_file.read_text(encoding="utf-8").split()
    rows = []
    for line in data.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        text, ids, _ = line.split("\t")
        rows.append((text, {names[int(i)] for i in ids.split(",")}))
    return rows, str(data)


def fires(texts: Sequence[str], settings: HandoverSettings) -> bool:
    turns = [
        UserTurn(index=i, text=text, intent=None, confidence=None)
        for i, text in enumerate(texts, start=1)
    ]
    return check_frustration(view_from_turns(turns), settings) is not None


def scores(
    flags: Dict[str, List[bool]], classes: Dict[str, List[bool]]
) -> Dict[str, Dict[str, object]]:
    """Per detector: pooled and per-emotion precision / recall vs neutral."""
    negatives = classes[NEUTRAL]
    pooled = classes["positive"]
    out: Dict[str, Dict[str, object]] = {}
    for name, flagged in flags.items():
        false_positives = sum(f and n for f, n in zip(flagged, negatives))
        row: Dict[str, object] = {
            "pooled": precision_recall(
                sum(f and p for f, p in zip(flagged, pooled)),
                false_positives,
                sum(pooled),
            ),
            "neutral_flagged_share": round(false_positives / sum(negatives), 3),
        }
        for emotion in EMOTIONS:
            members = classes[emotion]
            row[emotion] = precision_recall(
                sum(f and m for f, m in zip(flagged, members)),
                false_positives,
                sum(members),
            )
        out[name] = row
    return out


def main() -> None:
    started = time.perf_counter()
    rows, source = load()
    if not rows:
        return
    default = parse_settings({})
    high_value = parse_settings({"frustration_signals": 1})
    kept = [
        (text, labels)
        for text, labels in rows
        if labels & set(EMOTIONS) or labels == {NEUTRAL}
    ]
    classes: Dict[str, List[bool]] = {
        "positive": [bool(labels & set(EMOTIONS)) for _, labels in kept],
        NEUTRAL: [labels == {NEUTRAL} for _, labels in kept],
        **{e: [e in labels for _, labels in kept] for e in EMOTIONS},
    }
    found = [{s.name for s in detect_signals(text)} for text, _ in kept]
    flags: Dict[str, List[bool]] = {
        signal: [signal in names for names in found] for signal in ALL_SIGNALS
    }
    flags["any_signal"] = [bool(names) for names in found]
    flags[RULE_DEFAULT] = [fires([text], default) for text, _ in kept]
    flags[RULE_HIGH_VALUE] = [fires([text], high_value) for text, _ in kept]
    single = scores(flags, classes)
    single_texts = [text for text, _ in kept]
    vader = vader_alone(single_texts, classes["positive"])
    others = [(text, labels) for text, labels in rows if not labels & set(EMOTIONS)]
    vs_all = precision_recall(
        sum(flags[RULE_DEFAULT][i] for i, p in enumerate(classes["positive"]) if p),
        sum(fires([text], default) for text, _ in others),
        sum(classes["positive"]),
    )

    angry, calm = windows_of(
        [
            [t for (t, _), p in zip(kept, classes["positive"]) if p],
            [t for (t, _), n in zip(kept, classes[NEUTRAL]) if n],
        ]
    )
    windows = {"positive": angry, NEUTRAL: calm}
    window_scores = {}
    for rule, settings in ((RULE_DEFAULT, default), (RULE_HIGH_VALUE, high_value)):
        true_positives = sum(fires(w, settings) for w in windows["positive"])
        false_positives = sum(fires(w, settings) for w in windows[NEUTRAL])
        window_scores[rule] = {
            **precision_recall(
                true_positives, false_positives, len(windows["positive"])
            ),
            "neutral_flagged_share": round(false_positives / len(windows[NEUTRAL]), 3),
        }

    result = {
        "benchmark": "frustration_goemotions",
        "source": source,
        "comments": {
            "positive": sum(classes["positive"]),
            NEUTRAL: sum(classes[NEUTRAL]),
            **{e: sum(classes[e]) for e in EMOTIONS},
        },
        "base_rate": round(sum(classes["positive"]) / len(kept), 3),
        "single_comment": single,
        "vader_alone": vader,
        "single_comment_vs_all_others": {
            "negatives": len(others),
            RULE_DEFAULT: vs_all,
        },
        "windows_of_3": {
            "positive_windows": len(windows["positive"]),
            "neutral_windows": len(windows[NEUTRAL]),
            "seed": WINDOW_SEED,
            **window_scores,
        },
        "seconds": round(time.perf_counter() - started, 1),
    }
    path = write_result("goemotions", result)
    rule = single[RULE_DEFAULT]["pooled"]
    high = single[RULE_HIGH_VALUE]["pooled"]
    windowed = window_scores[RULE_DEFAULT]
    best_vader = vader["best"]
    print(
        f"frustration on GoEmotions dev ({sum(classes['positive'])} anger/annoyance/"
        f"disgust vs {sum(classes[NEUTRAL])} neutral): 2-sign rule per comment "
        f"P {rule['precision']} R {rule['recall']} F1 {rule['f1']}; 1-sign "
        f"(high-value) P {high['precision']} R {high['recall']} F1 {high['f1']}; "
        f"2-sign rule on windows of 3 P {windowed['precision']} R "
        f"{windowed['recall']} F1 {windowed['f1']}; VADER alone F1 "
        f"{vader['at_-0.05']['f1']} at -0.05, {best_vader['f1']} at its best cut "
        f"{best_vader['cut']}; vs all other comments P {vs_all['precision']} R "
        f"{vs_all['recall']} F1 {vs_all['f1']} -> {path.name}"
    )


if __name__ == "__main__":
    main()
