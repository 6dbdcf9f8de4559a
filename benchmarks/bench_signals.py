"""How many messages per second `detect_signals` handles without its cache.

Times `rasa_handover.signals._detect_signals_uncached` (all six signals, the
default sentiment threshold) on the GoEmotions dev comments, each message once
per pass; VADER's own per-message cache is cleared before every pass so that
nothing is reused. The spaCy tokenizer and matchers are built before timing.
When the shared datasets are absent, a synthetic set of support messages is used
instead (and the result says so).

Prints a one-line summary and writes benchmarks/results/signals.json.

    .venv/bin/python benchmarks/bench_signals.py [--passes 3]
"""

import argparse
import random
import statistics
import time
from typing import List, Tuple

from common import dataset, latency_summary, write_result

from rasa_handover.constants import ALL_SIGNALS
from rasa_handover.signals import (
    DEFAULT_NEGATIVE_SENTIMENT_THRESHOLD,
    _detect_signals_uncached,
    sentiment_score,
)

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()

    texts, source = goemotions_comments()
    enabled = tuple(ALL_SIGNALS)
    threshold = DEFAULT_NEGATIVE_SENTIMENT_THRESHOLD
    _detect_signals_uncached("warm up the engine!!!", enabled, threshold)

    per_message_ms: List[float] = []
    rates: List[float] = []
    for _ in range(args.passes):
        sentiment_score.cache_clear()
        start = time.perf_counter()
        for text in texts:
            begin = time.perf_counter()
            _detect_signals_uncached(text, enabled, threshold)
            per_message_ms.append((time.perf_counter() - begin) * 1000)
        rates.append(len(texts) / (time.perf_counter() - start))

    result = {
        "benchmark": "detect_signals_uncached",
        "source": source,
        "messages": len(texts),
        "mean_chars": round(statistics.fmean(len(t) for t in texts), 1),
        "passes": args.passes,
        "messages_per_second": round(statistics.median(rates), 1),
        "messages_per_second_each_pass": [round(r, 1) for r in rates],
        "per_message": latency_summary(per_message_ms),
    }
    path = write_result("signals", result)
    label = "GoEmotions dev" if source != "synthetic" else "synthetic"
    print(
        f"detect_signals uncached on {len(texts)} {label} messages: "
        f"{result['messages_per_second']:.0f} msg/s (median of "
        f"{args.passes} passes); per message p50 "
        f"{result['per_message']['p50_ms'] * 1000:.0f} us, p99 "
        f"{result['per_message']['p99_ms'] * 1000:.0f} us -> {path.name}"
    )


if __name__ == "__main__":
    main()
