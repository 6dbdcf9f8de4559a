"""Shared helpers for the benchmarks: paths, the machine, summaries, results.

The public datasets are read in place from `../shared/datasets` (next to the
repository) or `$RASA_HANDOVER_DATASETS`; nothing is copied into the repo.
"""

import json
import math
import os
import platform
import re
import statistics
import subprocess
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
DATASETS_ENV = "RASA_HANDOVER_DATASETS"
DATASETS = Path(os.environ.get(DATASETS_ENV, REPO.parent / "shared" / "datasets"))
EXAMPLE_BOT = REPO / "example_bot"
EXAMPLE_MODEL = EXAMPLE_BOT / "models" / "example_bot.tar.gz"
SUPPORT_CONVERSATIONS = REPO / "benchmarks" / "conversations" / "support.yml"
# The 99th percentile of n samples: the value below which 99% of them fall.
P99 = 0.99


def dataset(*parts: str) -> Optional[Path]:
    """The path of a shared dataset file, or None (with a message) when absent."""
    path = DATASETS.joinpath(*parts)
    if path.exists():
        return path
    print(
        f"skipped: {path} not found (set ${DATASETS_ENV} to the folder holding "
        f"the shared datasets)."
    )
    return None


def machine() -> Dict[str, Any]:
    """Cores, CPU model and versions, for the results file."""
    model = ""
    try:
        lscpu = subprocess.run(
            ["lscpu"], capture_output=True, text=True, check=False
        ).stdout
        match = re.search(r"^Model name:\s*(.+)$", lscpu, re.M)
        model = match.group(1).strip() if match else ""
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": model or platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }


def percentile(samples: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1) of `samples`."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), math.ceil(share * len(ordered))))
    return ordered[rank - 1]


def latency_summary(samples_ms: Sequence[float]) -> Dict[str, float]:
    """p50 / p99 / mean of latencies in milliseconds."""
    return {
        "p50_ms": round(statistics.median(samples_ms), 3),
        "p99_ms": round(percentile(samples_ms, P99), 3),
        "mean_ms": round(statistics.fmean(samples_ms), 3),
        "samples": len(samples_ms),
    }


def write_result(name: str, result: Dict[str, Any]) -> Path:
    """Writes benchmarks/results/<name>.json (with the machine) and returns it."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({**result, "machine": machine()}, indent=2))
    return path


def precision_recall(
    true_positives: int, false_positives: int, positives: int
) -> Dict[str, Optional[float]]:
    """Precision, recall and F1 (None when undefined), rounded to 3 places."""
    flagged = true_positives + false_positives
    precision = true_positives / flagged if flagged else None
    recall = true_positives / positives if positives else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall
        else None
    )
    return {
        "precision": None if precision is None else round(precision, 3),
        "recall": None if recall is None else round(recall, 3),
        "f1": None if f1 is None else round(f1, 3),
        "flagged": flagged,
        "true_positives": true_positives,
    }
