"""The terminal report: headline figures, per-reason scores, confusion tables."""

from typing import Callable, List, Mapping, Optional, Sequence, Tuple

from rasa_handover.constants import REASON_CODES
from rasa_handover.evaluation.conversations import LABELS, NONE_LABEL, REASON_OTHER
from rasa_handover.evaluation.metrics import (
    LATE_TOLERANCE_TURNS,
    GroupAccuracy,
    Metrics,
)

# Names of the two evaluated systems in reports and JSON.
SYSTEM_HANDOVER = "handover_policy"
SYSTEM_BASELINE = "baseline"
SYSTEM_TITLES = {
    SYSTEM_HANDOVER: "HandoverPolicy",
    SYSTEM_BASELINE: "FallbackClassifier + rules",
}
# Decimal places of rates and means in reports.
REPORT_DIGITS = 3


def _fmt(value: Optional[float], digits: int = REPORT_DIGITS) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


Row = Callable[[str, Sequence[str]], str]

# The headline table: one line per figure, one column per system.
_HEADLINE: Tuple[Tuple[str, Callable[[Metrics], str]], ...] = (
    ("accuracy (exact turn)", lambda m: _fmt(m.accuracy_exact)),
    (
        f"accuracy (up to +{LATE_TOLERANCE_TURNS} turn late)",
        lambda m: _fmt(m.accuracy_within_one_turn),
    ),
    ("accuracy (exact turn + reason)", lambda m: _fmt(m.accuracy_exact_with_reason)),
    (
        "false escalation rate (never)",
        lambda m: (
            f"{_fmt(m.false_escalation_rate)} "
            f"({m.false_escalations}/{m.never_conversations})"
        ),
    ),
    ("unneeded offers (never)", lambda m: _fmt(m.unneeded_offer_rate)),
    ("missed (no intervention)", lambda m: str(m.missed)),
    (
        "early: conversations, mean turns",
        lambda m: f"{m.early}, {_fmt(m.mean_turns_early, 2)}",
    ),
    (
        "late: conversations, mean turns",
        lambda m: f"{m.late}, {_fmt(m.mean_turns_late, 2)}",
    ),
    ("macro F1 over reason codes", lambda m: _fmt(m.macro_f1)),
    (
        "clarifications: asked, right turn",
        lambda m: f"{m.clarifications}, {_fmt(m.clarify_accuracy)}",
    ),
    ("unneeded clarifications", lambda m: str(m.unneeded_clarifications)),
)


def format_report(
    metrics: Mapping[str, Metrics],
    conversations: int,
    agreement: Optional[float] = None,
) -> str:
    """The terminal report: headline figures, per-reason scores, confusion tables.

    Args:
        metrics: System name (`SYSTEM_HANDOVER`, `SYSTEM_BASELINE`) -> metrics.
        conversations: How many conversations were evaluated.
        agreement: Share of turns on which both systems' NLU agreed, if known.

    Returns:
        The report, one table after the other.

    """
    systems = list(metrics)
    titles = [SYSTEM_TITLES.get(s, s) for s in systems]
    width = max(28, *(len(t) + 2 for t in titles))
    first = metrics[systems[0]]

    def row(name: str, values: Sequence[str]) -> str:
        return f"{name:<34}" + "".join(f"{v:>{width}}" for v in values)

    lines = [
        f"rasa-handover evaluate: {conversations} conversations "
        f"({first.never_conversations} that must not be handed over)",
        "",
        row("", titles),
    ]
    for name, value in _HEADLINE:
        lines.append(row(name, [value(metrics[s]) for s in systems]))
    if agreement is not None:
        lines.append(f"(NLU top intent identical on {agreement:.1%} of shared turns)")
    lines += _per_reason_lines(metrics, titles, row)
    lines += _group_lines(
        "accuracy by gold label: exact / up to +1 turn late",
        [m.per_gold_reason for m in metrics.values()],
        row,
    )
    if first.per_tag:
        lines += _group_lines(
            "accuracy by tag: exact / up to +1 turn late",
            [m.per_tag for m in metrics.values()],
            row,
        )
    for system, title in zip(systems, titles):
        lines += ["", f"confusion, {title}: gold (rows) x predicted (columns)"]
        lines += format_confusion(metrics[system].confusion)
    return "\n".join(lines)


def _per_reason_lines(
    metrics: Mapping[str, Metrics], titles: Sequence[str], row: Row
) -> List[str]:
    first = next(iter(metrics.values()))
    lines = ["", "per reason code (reason of the first intervention): P / R / F1"]
    lines.append(row("", [*titles, "support"][: len(metrics)]) + f"{'support':>9}")
    for reason in REASON_CODES:
        cells = []
        for system in metrics.values():
            score = system.per_reason[reason]
            cells.append(
                f"{_fmt(score.precision, 2)} / {_fmt(score.recall, 2)} / "
                f"{_fmt(score.f1, 2)}"
            )
        lines.append(row(reason, cells) + f"{first.per_reason[reason].support:>9}")
    return lines


def _group_lines(
    title: str, per_system: Sequence[Mapping[str, GroupAccuracy]], row: Row
) -> List[str]:
    """Accuracy per group (gold label or tag), in the first system's order."""
    lines = ["", title]
    for key, group in per_system[0].items():
        cells = [
            f"{_fmt(groups[key].exact, 2)} / {_fmt(groups[key].within_one_turn, 2)}"
            for groups in per_system
        ]
        lines.append(row(f"{key} ({group.conversations})", cells))
    return lines


# Short column heads for confusion tables.
_LABEL_ABBREVIATIONS = {
    "explicit_request": "explicit",
    "regulated_topic": "regulated",
    "frustration": "frustr.",
    "low_confidence": "low_conf",
    "repeat_loop": "repeat",
    REASON_OTHER: REASON_OTHER,
    NONE_LABEL: NONE_LABEL,
}


def format_confusion(confusion: Mapping[str, Mapping[str, int]]) -> List[str]:
    """A confusion table as text lines (labels that occur anywhere)."""
    used = [
        label
        for label in LABELS
        if label in confusion or any(label in row for row in confusion.values())
    ]
    head = f"{'':<18}" + "".join(
        f"{_LABEL_ABBREVIATIONS.get(label, label):>10}" for label in used
    )
    lines = [head]
    for gold in used:
        row = confusion.get(gold, {})
        lines.append(
            f"{gold:<18}" + "".join(f"{row.get(p, 0) or '.':>10}" for p in used)
        )
    return lines
