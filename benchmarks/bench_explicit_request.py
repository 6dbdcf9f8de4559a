"""The explicit-request phrase net: recall on requests for a person, false hits
elsewhere, and speed; the new grammar against the old phrase net, same run.

Sources (nothing is copied into the repository):

- the labelled requests, a YAML list of `{text, request: true|false, category}`
  (default: benchmarks/data/person_requests.yml and the later, held-out
  person_requests_heldout.yml, reported apart): recall on `request: true`,
  false hits on `request: false`, both also per category;
- CLINC150 (`data_full.json`, every split, in-scope and out-of-scope): none of
  its queries is a handover request by construction of the benchmark, so each
  hit counts as false (a few are arguable, e.g. "i need to speak to customer
  service regarding my flight"; `--show` prints them);
- the example bot's NLU examples of every intent except `human_handoff`.

It also measures `rasa_handover.message_kinds` on the same unlabelled sources:
the share of turns `is_content_free` sets aside, per intent group (CLINC150's
`greeting`, `goodbye`, `thank_you`, `yes` and the example bot's `greet`,
`goodbye`, `thankyou`, `affirm` are acknowledgements; `no`, `deny`, `maybe` are
answers, counted in neither group; every other intent is a request that must
never be hidden), and how often `withdraws_request` fires.

The old phrase net is the module `rasa_handover/triggers/explicit_request.py` at
`--baseline-ref` (default: the commit before the grammar), loaded with `git
show` into a temporary module.

Prints a table and writes benchmarks/results/explicit_request.json.

    .venv/bin/python benchmarks/bench_explicit_request.py [requests.yml ...] [--show 20]
"""

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import yaml
from common import REPO, dataset, write_result

from rasa_handover.message_kinds import is_content_free, withdrawal_kind
from rasa_handover.person_requests.scan import scan

Matcher = Callable[[str], Optional[Any]]
# The first set (development has since looked at its misses) and the later,
# held-out one (benchmarks/data/README.md), reported apart.
DEFAULT_REQUESTS = [
    REPO / "benchmarks" / "data" / "person_requests.yml",
    REPO / "benchmarks" / "data" / "person_requests_heldout.yml",
]
# The last commit of the literal phrase net, before the grammar.
BASELINE_REF = "07318d8"
BASELINE_PATH = "rasa_handover/triggers/explicit_request.py"
EXAMPLE_NLU = REPO / "example_bot" / "data" / "nlu.yml"
HANDOFF_INTENT = "human_handoff"
TIMING_PASSES = 3
# How many texts (CLINC150 first) the timing runs on.
TIMED_TEXTS = 5000
# Intents whose examples are acknowledgements, thanks, greetings, goodbyes.
ACKNOWLEDGEMENT_INTENTS = frozenset(
    {"greeting", "goodbye", "thank_you", "yes", "greet", "thankyou", "affirm"}
)
# Answers that are neither acknowledgements nor requests ("no thanks", "I'm
# good"): not counted either way.
ANSWER_INTENTS = frozenset({"no", "deny", "maybe"})


def old_phrase_net(ref: str) -> Matcher:
    """`match_explicit_request` as it was at `ref`."""
    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{ref}:{BASELINE_PATH}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    folder = Path(tempfile.mkdtemp(prefix="explicit_request_old_"))
    path = folder / "explicit_request_old.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("explicit_request_old", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.match_explicit_request.__wrapped__  # type: ignore[no-any-return]


def labelled_requests(path: Path) -> Optional[List[Dict[str, Any]]]:
    if not path.exists():
        print(f"skipped the labelled requests: {path} not found.")
        return None
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(rows, list) or not all(
        isinstance(row, dict) and "text" in row and "request" in row for row in rows
    ):
        sys.exit(
            f"{path} must be a YAML list of {{text, request: true|false, "
            f"category}} mappings."
        )
    return rows


Labelled = List[Tuple[str, str]]


def clinc_examples() -> Optional[Labelled]:
    """(text, intent) of every CLINC150 split, out-of-scope ones as "oos"."""
    path = dataset("clinc150", "data_full.json")
    if path is None:
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return [(text, label) for split in data.values() for text, label in split]


def example_bot_examples() -> Labelled:
    """(text, intent) of the example bot's NLU, except `human_handoff`."""
    nlu = yaml.safe_load(EXAMPLE_NLU.read_text(encoding="utf-8"))["nlu"]
    examples = []
    for block in nlu:
        if "intent" not in block or block["intent"] == HANDOFF_INTENT:
            continue
        for line in block["examples"].splitlines():
            text = line.strip().lstrip("-").strip()
            if text:
                examples.append((_strip_entities(text), block["intent"]))
    return examples


def message_kinds(examples: Labelled, show: int) -> Dict[str, Any]:
    """Content-free share per intent group, withdrawal share, and examples."""
    acks = [text for text, intent in examples if intent in ACKNOWLEDGEMENT_INTENTS]
    requests = [
        (text, intent)
        for text, intent in examples
        if intent not in ACKNOWLEDGEMENT_INTENTS | ANSWER_INTENTS
    ]
    free_acks = sum(is_content_free.__wrapped__(text) for text in acks)
    hidden = [(t, i) for t, i in requests if is_content_free.__wrapped__(t)]
    withdrawn = [(t, i) for t, i in examples if withdrawal_kind.__wrapped__(t)]
    for text, intent in (hidden + withdrawn)[:show]:
        print(f"  [message kinds] {intent}: {text}")
    return {
        "acknowledgements": len(acks),
        "acknowledgements_content_free": rate(free_acks, len(acks)),
        "requests": len(requests),
        "requests_content_free": rate(len(hidden), len(requests)),
        "withdrawal_fires": rate(len(withdrawn), len(examples)),
        "withdrawal_fires_per_intent": _count_intents(withdrawn),
    }


def _count_intents(examples: Labelled) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for _text, intent in examples:
        counts[intent] = counts.get(intent, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


def _strip_entities(text: str) -> str:
    """ "order [1182](order_id)" -> "order 1182"."""
    import re

    return re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)


def rate(hits: int, total: int) -> Optional[float]:
    return round(hits / total, 4) if total else None


def score_requests(
    rows: List[Dict[str, Any]], nets: Dict[str, Matcher]
) -> Dict[str, Any]:
    result: Dict[str, Any] = {}
    for name, net in nets.items():
        per_category: Dict[str, List[int]] = {}
        positives = hits = negatives = false_hits = 0
        for row in rows:
            fired = net(str(row["text"])) is not None
            category = str(row.get("category", ""))
            if row["request"]:
                positives += 1
                hits += fired
                counts = per_category.setdefault(category, [0, 0])
                counts[0] += fired
                counts[1] += 1
            else:
                negatives += 1
                false_hits += fired
        result[name] = {
            "recall": rate(hits, positives),
            "requests": positives,
            "false_hit_rate": rate(false_hits, negatives),
            "non_requests": negatives,
            "recall_per_category": {
                key: rate(found, total) for key, (found, total) in per_category.items()
            },
        }
    return result


def false_hits(texts: List[str], nets: Dict[str, Matcher], show: int) -> Dict[str, Any]:
    result: Dict[str, Any] = {}
    for name, net in nets.items():
        fired = [text for text in texts if net(text) is not None]
        result[name] = {"false_hits": len(fired), "texts": len(texts)}
        result[name]["rate"] = rate(len(fired), len(texts))
        for text in fired[:show]:
            print(f"  [{name}] {text}")
    return result


def microseconds_per_message(net: Matcher, texts: List[str]) -> float:
    net("warm up: talk to a human")
    best = float("inf")
    for _ in range(TIMING_PASSES):
        start = time.perf_counter()
        for text in texts:
            net(text)
        best = min(best, time.perf_counter() - start)
    return round(best / len(texts) * 1e6, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("requests", nargs="*", type=Path, default=DEFAULT_REQUESTS)
    parser.add_argument("--baseline-ref", default=BASELINE_REF)
    parser.add_argument("--show", type=int, default=0, help="print false hits")
    args = parser.parse_args()

    def new(text: str) -> Any:  # uncached: every text is new work
        return scan.__wrapped__(text)[0]

    nets: Dict[str, Matcher] = {"old": old_phrase_net(args.baseline_ref), "new": new}
    result: Dict[str, Any] = {"baseline_ref": args.baseline_ref}
    for path in args.requests:
        rows = labelled_requests(path)
        if rows is not None:
            result[f"requests:{path.stem}"] = {"path": str(path)}
            result[f"requests:{path.stem}"].update(score_requests(rows, nets))
    sources: List[Tuple[str, Optional[Labelled]]] = [
        ("clinc150", clinc_examples()),
        ("example_bot", example_bot_examples()),
    ]
    timing_texts: List[str] = []
    for source, examples in sources:
        if examples is None:
            continue
        texts = [text for text, _intent in examples]
        print(f"false hits on {source}:")
        result[source] = false_hits(texts, nets, args.show)
        result[source]["message_kinds"] = message_kinds(examples, args.show)
        timing_texts.extend(texts)
    timed: Dict[str, Matcher] = {
        **{f"explicit_request_{name}": net for name, net in nets.items()},
        "is_content_free": is_content_free.__wrapped__,
        "withdrawal_kind": withdrawal_kind.__wrapped__,
    }
    result["us_per_message"] = {
        name: microseconds_per_message(function, timing_texts[:TIMED_TEXTS])
        for name, function in timed.items()
    }
    print(json.dumps({k: v for k, v in result.items()}, indent=2))
    print(f"wrote {write_result('explicit_request', result)}")


if __name__ == "__main__":
    main()
