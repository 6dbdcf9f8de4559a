"""How many messages per second `detect_signals` handles without its cache.

Times `rasa_handover.signals._detect_signals_uncached` (the default sentiment
threshold) on the GoEmotions dev comments, each message once per pass, twice in
the same run: with every signal, and without the learned `angry_tone` (the rule
signals and VADER only), so that the learned signal's cost is a difference
measured on the same machine at the same time. VADER's own per-message cache is
cleared before every pass so that nothing is reused. The spaCy tokenizer,
matchers and the model are built before timing; the model's load time (in a
fresh process, so nothing is cached) and file size are reported too.
When the shared datasets are absent, a synthetic set of support messages is used
instead (and the result says so).

Prints a one-line summary and writes benchmarks/results/signals.json.

    .venv/bin/python benchmarks/bench_signals.py [--passes 3]
"""

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Sequence, Tuple

from common import dataset, latency_summary, write_result

from rasa_handover.constants import ALL_SIGNALS, SIGNAL_ANGRY_TONE
from rasa_handover.signals import (
    DEFAULT_NEGATIVE_SENTIMENT_THRESHOLD,
    _detect_signals_uncached,
    sentiment_score,
)
from rasa_handover.signals.learned import FRUSTRATION_MODEL_FILE

SYNTHETIC_SIZE = 5000
SYNTHETIC_SEED = 7
_OPENERS = ["", "hi, ", "hello?? ", "ugh ", "No, no, ", "OK so ", "WHY "]
_BODIES = [
    "my video keeps buffering",
    "where is my invoice for march",
    "this is ridiculous, the app crashed again",
    "I was charged twice and nobody answers",
    "can I talk to a real person",
    "THE SOUND IS OUT OF SYNC",
    "how do I change my email address",
    "what a waste of time",
]
# Loads the model in a fresh interpreter and prints the seconds it took.
_LOAD_TIME = (
    "import time; from rasa_handover.signals import learned; "
    "t = time.perf_counter(); learned.learned_model(); "
    "print(time.perf_counter() - t)"
)
_CLOSERS = ["", "!!!", " please", " thanks", "?!", " f***ing hell", "."]


def goemotions_comments() -> Tuple[List[str], str]:
    path = dataset("goemotions", "dev.tsv")
    if path is None:
        rng = random.Random(SYNTHETIC_SEED)
        texts = [
            f"{rng.choice(_OPENERS)}{rng.choice(_BODIES)} {n}{rng.choice(_CLOSERS)}"
            for n in range(SYNTHETIC_SIZE)
        ]
        return texts, "synthetic"
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("\t", 1)[0] for line in lines if line.strip()], str(path)


def timed(
    texts: Sequence[str], enabled: Tuple[str, ...], passes: int
) -> Dict[str, object]:
    """Per-message latency and throughput of `_detect_signals_uncached`."""
    threshold = DEFAULT_NEGATIVE_SENTIMENT_THRESHOLD
    per_message_ms: List[float] = []
    rates: List[float] = []
    for _ in range(passes):
        sentiment_score.cache_clear()
        start = time.perf_counter()
        for text in texts:
            begin = time.perf_counter()
            _detect_signals_uncached(text, enabled, threshold)
            per_message_ms.append((time.perf_counter() - begin) * 1000)
        rates.append(len(texts) / (time.perf_counter() - start))
    return {
        "signals": list(enabled),
        "messages_per_second": round(statistics.median(rates), 1),
        "messages_per_second_each_pass": [round(r, 1) for r in rates],
        "per_message": latency_summary(per_message_ms),
    }


def load_seconds() -> float:
    """The model's load time in a fresh process (median of three)."""
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", _LOAD_TIME],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()[-1]
        )
        for _ in range(3)
    ]
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()

    texts, source = goemotions_comments()
    every = tuple(ALL_SIGNALS)
    rules_only = tuple(name for name in every if name != SIGNAL_ANGRY_TONE)
    threshold = DEFAULT_NEGATIVE_SENTIMENT_THRESHOLD
    _detect_signals_uncached("warm up the engine!!!", every, threshold)
    # Interleaved so that both see the same machine load.
    runs: Dict[str, List[Dict[str, object]]] = {"with_learned": [], "without": []}
    for _ in range(args.passes):
        runs["with_learned"].append(timed(texts, every, 1))
        runs["without"].append(timed(texts, rules_only, 1))
    summary = {
        key: {
            "per_message_p50_us": round(
                statistics.median(
                    float(r["per_message"]["p50_ms"]) * 1000  # type: ignore[index]
                    for r in value
                ),
                1,
            ),
            "per_message_mean_us": round(
                statistics.median(
                    float(r["per_message"]["mean_ms"]) * 1000  # type: ignore[index]
                    for r in value
                ),
                1,
            ),
            "messages_per_second": round(
                statistics.median(
                    float(r["messages_per_second"])
                    for r in value  # type: ignore[arg-type]
                ),
                1,
            ),
        }
        for key, value in runs.items()
    }
    learned_us = round(
        summary["with_learned"]["per_message_mean_us"]
        - summary["without"]["per_message_mean_us"],
        1,
    )
    result = {
        "benchmark": "detect_signals_uncached",
        "source": source,
        "messages": len(texts),
        "mean_chars": round(statistics.fmean(len(t) for t in texts), 1),
        "passes": args.passes,
        **summary,
        "learned_signal_mean_us": learned_us,
        "model_file_bytes": FRUSTRATION_MODEL_FILE.stat().st_size,
        "model_load_seconds": round(load_seconds(), 3),
        "runs": runs,
    }
    path = write_result("signals", result)
    label = "GoEmotions dev" if source != "synthetic" else "synthetic"
    print(
        f"detect_signals uncached on {len(texts)} {label} messages, same run: "
        f"with angry_tone {summary['with_learned']['messages_per_second']:.0f} msg/s, "
        f"mean {summary['with_learned']['per_message_mean_us']:.0f} us; without "
        f"{summary['without']['messages_per_second']:.0f} msg/s, mean "
        f"{summary['without']['per_message_mean_us']:.0f} us; learned signal "
        f"{learned_us:.0f} us/message; model "
        f"{result['model_file_bytes'] / 1e6:.2f} MB, "
        f"loads in {result['model_load_seconds'] * 1000:.0f} ms -> {path.name}"
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
