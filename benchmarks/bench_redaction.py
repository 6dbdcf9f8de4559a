"""How long PII redaction takes on a 1 MB transcript, and that it grows linearly.

Issue 11 found card detection quadratic and recursive (10 KB of "4 " took 10 s,
40 KB minutes, then RecursionError). This measures, in one run:

- `realistic`: a 1 MB transcript of support messages (seeded), a few percent of
  them with a card number (grouped every way `redaction` knows), an IBAN, an
  SSN, a CVV and expiry, an order number, an e-mail or a phone number; redacted
  with `redact_payload` (default detectors), as `build_payload` does;
- the same at 0.5 MB and 2 MB: linear means 2x the text takes about 2x the time;
- `baseline`: one plain regex scan of the same messages (`[0-9][0-9 ./-]{11,}[0-9]`,
  the shape of a card number), the cheapest pass any PII detector must make;
- `worst case`: 1 MB of "4 4 4 ..." in 10,000-character messages (digit groups
  everywhere, the input that used to take hours), and the same conversation
  through `build_payload` (models loaded beforehand), which caps what it
  redacts.

Prints a summary and writes benchmarks/results/redaction.json.

    .venv/bin/python benchmarks/bench_redaction.py [--repeats 5]
"""

import argparse
import functools
import random
import re
import statistics
import time
from typing import Any, Callable, Dict, List

from common import write_result

from rasa_handover.limits import MAX_TEXT_CHARS
from rasa_handover.payload import build_payload
from rasa_handover.redaction import redact_payload

MEGABYTE = 1_000_000
_BASELINE_RE = re.compile(r"[0-9][0-9 ./-]{11,}[0-9]")

_PLAIN = [
    "hi, I need help with my order",
    "it arrived broken and I want a refund",
    "I already tried that twice, it still does not work",
    "can you check where my parcel is? it was due on Monday",
    "thanks, that's helpful",
    "no, that's not what I asked",
    "the app logs me out every time I open the settings page",
    "I was charged twice this month, please look into it",
]
_WITH_DATA = [
    "my card is 4242 4242 4242 4242, exp 12/27 cvv 123",
    "card 5555-5555-5555-4444 was declined",
    "the number is 4242.4242.4242.4242",
    "IBAN DE89 3704 0044 0532 0130 00 for the refund please",
    "my ssn is 123456789",
    "SSN 123-45-6789",
    "order 1182 and order 20231182, tracking 1Z999AA10123456784",
    "you can reach me at dana@example.com or +49 30 1234567",
    "NI number AB 12 34 56 C",
]


def transcript(size: int, seed: int = 11) -> List[Dict[str, Any]]:
    """Messages totalling about `size` characters; 1 in 8 carries data."""
    rng = random.Random(seed)
    items: List[Dict[str, Any]] = []
    total = 0
    while total < size:
        pool = _WITH_DATA if rng.random() < 0.125 else _PLAIN
        text = " ".join(rng.choice(pool) for _ in range(rng.randint(1, 3)))
        role = "user" if len(items) % 2 == 0 else "bot"
        items.append({"role": role, "text": text, "timestamp": float(len(items))})
        total += len(text)
    return items


def timed(call: Callable[[], Any], repeats: int) -> float:
    """The median wall time of `call`, in seconds."""
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def scan(items: List[Dict[str, Any]]) -> int:
    return sum(len(_BASELINE_RE.findall(item["text"])) for item in items)


def worst_case_events(size: int) -> List[Dict[str, Any]]:
    text = ("4 " * (MAX_TEXT_CHARS // 2))[:MAX_TEXT_CHARS]
    events: List[Dict[str, Any]] = []
    for i in range(size // len(text)):
        events.append(
            {
                "event": "user",
                "text": text,
                "timestamp": float(i),
                "parse_data": {"intent": {"name": "inform", "confidence": 0.9}},
                "input_channel": "handover",
            }
        )
        events.append({"event": "action", "name": "action_listen"})
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats

    sizes = {"0.5MB": MEGABYTE // 2, "1MB": MEGABYTE, "2MB": 2 * MEGABYTE}
    realistic: Dict[str, Dict[str, float]] = {}
    for name, size in sizes.items():
        items = transcript(size)
        payload = {"transcript": items}
        seconds = timed(functools.partial(redact_payload, payload), repeats)
        baseline = timed(functools.partial(scan, items), repeats)
        realistic[name] = {
            "characters": sum(len(i["text"]) for i in items),
            "messages": len(items),
            "redaction_s": round(seconds, 3),
            "baseline_scan_s": round(baseline, 4),
            "ratio_to_baseline": round(seconds / baseline, 1),
        }
    growth = realistic["2MB"]["redaction_s"] / realistic["1MB"]["redaction_s"]

    digits = [{"role": "user", "text": "4 " * 5000} for _ in range(100)]
    worst = timed(lambda: redact_payload({"transcript": digits}), 1)
    events = worst_case_events(MEGABYTE)
    # Load the language and signal models first: not redaction's cost.
    build_payload("warm-up", events[:2], {}, channel="handover", attempt=1)
    build = timed(
        lambda: build_payload("bench", events, {}, channel="handover", attempt=1),
        1,
    )
    result = {
        "realistic": realistic,
        "growth_2x_text": round(growth, 2),
        "worst_case_1MB_digit_groups_s": round(worst, 2),
        "worst_case_build_payload_1MB_s": round(build, 2),
        "repeats": repeats,
    }
    path = write_result("redaction", result)
    one = realistic["1MB"]
    print(
        f"1 MB transcript ({one['messages']} messages): redaction "
        f"{one['redaction_s']:.3f} s, baseline regex scan "
        f"{one['baseline_scan_s']:.4f} s ({one['ratio_to_baseline']}x); "
        f"2x text -> {growth:.2f}x time; worst case (1 MB of digit groups) "
        f"{worst:.2f} s, build_payload on it {build:.2f} s. -> {path}"
    )
    for name, row in realistic.items():
        print(f"  {name}: {row}")


if __name__ == "__main__":
    main()
