"""`rasa-handover report`'s figures, from the inbox's tickets (pure).

`figures(records)` turns every ticket (`OutcomeRecord`s of
`InboxStore.outcomes(labelled_only=False, resolved_only=False)`) into one
JSON-ready document; `report_html` draws it, `report_command` prints and
writes it. The definitions (docs/feedback.md, "The report"):

* **handovers per day**: tickets by the UTC day they were requested, per
  reason code; also per reason and per intent (NLU's intent on the turn the
  trigger fired, `handovers.Handover.intent`). The inbox only sees handed-over
  conversations, so this is a count, not a share of all conversations.
* **precision per trigger**: among a reason's labelled handovers, the share an
  agent said were right to escalate: `escalation_needed` plus
  `should_have_come_earlier` (right, only late).
* **late escalations**: the `should_have_come_earlier` ones, per reason and
  intent (which trigger would have caught them earlier: `rasa-handover
  replay`). Missed escalations (conversations that never reached a person)
  are not in the inbox.
* **time to pickup** (requested -> an agent took it) and **to resolution**
  (requested -> resolved), in seconds: median and p90 per team and per tier.
  p90 is the nearest rank: the smallest value at least 90% of them do not
  exceed.
* **CSAT by reason**: answers, mean and the count of each score.
* **agents' load**: per agent, tickets taken, resolved, still open, the
  median time to resolution and the mean CSAT of their tickets.
"""

import math
import statistics
from collections import Counter
from datetime import datetime
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

from rasa_handover.feedback.handovers import handover_from
from rasa_handover.inbox.contract import CSAT_SCORES
from rasa_handover.inbox.models import (
    OUTCOME_NEEDED,
    OUTCOME_NOT_NEEDED,
    OUTCOME_TOO_LATE,
    OUTCOMES,
    STATUS_RESOLVED,
    OutcomeRecord,
)

FORMAT_VERSION = 1
UNKNOWN = "unknown"
# Rounded so that the JSON stays readable.
DIGITS = 3


def median(values: Sequence[float]) -> Optional[float]:
    """The median (the mean of the two middle values for an even count)."""
    return round(statistics.median(values), DIGITS) if values else None


def p90(values: Sequence[float]) -> Optional[float]:
    """The nearest-rank 90th percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[math.ceil(0.9 * len(ordered)) - 1], DIGITS)


def figures(
    records: Sequence[OutcomeRecord], now: Optional[datetime] = None
) -> Dict[str, Any]:
    """The report's document (see the module's docs)."""
    intents = {r.ticket_id: handover_from(r).intent or UNKNOWN for r in records}
    requested = [r.requested_at for r in records if r.requested_at is not None]
    labelled = [r for r in records if r.outcome in OUTCOMES]
    return {
        "format_version": FORMAT_VERSION,
        "generated_at": now.isoformat() if now else None,
        "period": {
            "from": min(requested).date().isoformat() if requested else None,
            "to": max(requested).date().isoformat() if requested else None,
        },
        "handovers": len(records),
        "resolved": sum(1 for r in records if r.status == STATUS_RESOLVED),
        "labelled": len(labelled),
        "per_day": _per_day(records),
        "by_reason": _shares(Counter(_reason(r) for r in records), "reason"),
        "by_intent": _shares(Counter(intents[r.ticket_id] for r in records), "intent"),
        "precision": _precision(labelled),
        "late": _late(labelled, intents),
        "pickup": _timings(records, "accepted_at"),
        "resolution": _timings(records, "resolved_at"),
        "csat": _csat(records),
        "agents": _agents(records),
    }


def _reason(record: OutcomeRecord) -> str:
    return record.reason or UNKNOWN


def _per_day(records: Sequence[OutcomeRecord]) -> List[Dict[str, Any]]:
    days: Dict[str, Counter] = {}
    for record in records:
        if record.requested_at is None:
            continue
        day = record.requested_at.date().isoformat()
        days.setdefault(day, Counter())[_reason(record)] += 1
    return [
        {
            "date": day,
            "handovers": sum(days[day].values()),
            "by_reason": dict(sorted(days[day].items())),
        }
        for day in sorted(days)
    ]


def _shares(counts: Counter, key: str) -> List[Dict[str, Any]]:
    total = sum(counts.values())
    return [
        {key: name, "handovers": n, "share": round(n / total, DIGITS)}
        for name, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def _precision(labelled: Sequence[OutcomeRecord]) -> List[Dict[str, Any]]:
    rows = []
    for reason in sorted({_reason(r) for r in labelled}):
        counts = Counter(r.outcome for r in labelled if _reason(r) == reason)
        total = sum(counts.values())
        right = counts[OUTCOME_NEEDED] + counts[OUTCOME_TOO_LATE]
        rows.append(
            {
                "reason": reason,
                "labelled": total,
                "needed": counts[OUTCOME_NEEDED],
                "late": counts[OUTCOME_TOO_LATE],
                "not_needed": counts[OUTCOME_NOT_NEEDED],
                "precision": round(right / total, DIGITS),
            }
        )
    return rows


def _late(labelled: Sequence[OutcomeRecord], intents: Dict[int, str]) -> Dict[str, Any]:
    late = [r for r in labelled if r.outcome == OUTCOME_TOO_LATE]
    return {
        "count": len(late),
        "share_of_labelled": round(len(late) / len(labelled), DIGITS)
        if labelled
        else None,
        "by_reason": _shares(Counter(_reason(r) for r in late), "reason"),
        "by_intent": _shares(Counter(intents[r.ticket_id] for r in late), "intent"),
        "conversations": sorted(r.conversation_id for r in late),
    }


def _seconds(record: OutcomeRecord, until: str) -> Optional[float]:
    end = getattr(record, until)
    if end is None or record.requested_at is None:
        return None
    return (end - record.requested_at).total_seconds()


def _timings(records: Sequence[OutcomeRecord], until: str) -> Dict[str, Any]:
    """Median and p90 seconds from request to `until`, per team and per tier."""
    return {
        "by_team": _grouped(records, until, lambda r: r.team),
        "by_tier": _grouped(records, until, lambda r: r.tier),
    }


def _grouped(
    records: Sequence[OutcomeRecord],
    until: str,
    key: Callable[[OutcomeRecord], str],
) -> List[Dict[str, Any]]:
    groups: Dict[str, List[float]] = {}
    for record in records:
        seconds = _seconds(record, until)
        if seconds is not None:
            groups.setdefault(key(record) or UNKNOWN, []).append(seconds)
    return [
        {
            "group": name,
            "count": len(values),
            "median_seconds": median(values),
            "p90_seconds": p90(values),
        }
        for name, values in sorted(groups.items())
    ]


def _csat(records: Sequence[OutcomeRecord]) -> Dict[str, Any]:
    rated = [r for r in records if r.csat in CSAT_SCORES]
    return {
        "answers": len(rated),
        "mean": _mean(r.csat for r in rated),
        "by_reason": [
            {
                "reason": reason,
                "answers": len(scores),
                "mean": _mean(scores),
                "scores": {str(s): scores.count(s) for s in CSAT_SCORES},
            }
            for reason in sorted({_reason(r) for r in rated})
            for scores in [[int(r.csat or 0) for r in rated if _reason(r) == reason]]
        ],
    }


def _agents(records: Sequence[OutcomeRecord]) -> List[Dict[str, Any]]:
    rows = []
    for agent in sorted({r.agent_id for r in records if r.agent_id}):
        mine = [r for r in records if r.agent_id == agent]
        resolved = [r for r in mine if r.status == STATUS_RESOLVED]
        durations = [
            s for r in resolved if (s := _seconds(r, "resolved_at")) is not None
        ]
        rows.append(
            {
                "agent": agent,
                "handled": len(mine),
                "resolved": len(resolved),
                "open": len(mine) - len(resolved),
                "median_resolution_seconds": median(durations),
                "csat_mean": _mean(r.csat for r in mine if r.csat in CSAT_SCORES),
            }
        )
    return rows


def _mean(values: Iterable[Optional[int]]) -> Optional[float]:
    numbers = [v for v in values if v is not None]
    return round(sum(numbers) / len(numbers), DIGITS) if numbers else None


def summary(document: Dict[str, Any]) -> str:
    """The terminal summary of a report document."""
    period = document["period"]
    lines = [
        f"{document['handovers']} handovers from {period['from']} to {period['to']}:"
        f" {document['resolved']} resolved, {document['labelled']} labelled."
    ]
    reasons = ", ".join(
        f"{row['reason']} {row['handovers']}" for row in document["by_reason"]
    )
    lines.append(f"By reason: {reasons or '-'}.")
    intents = ", ".join(
        f"{row['intent']} {row['handovers']}" for row in document["by_intent"][:5]
    )
    lines.append(f"Top intents: {intents or '-'}.")
    lines.append("Precision per trigger (needed or late, of labelled):")
    lines.extend(
        f"    {row['reason']:<18} {row['precision']:.0%} of {row['labelled']}"
        f" ({row['not_needed']} not needed, {row['late']} late)"
        for row in document["precision"]
    )
    late = document["late"]
    lines.append(f"Late escalations: {late['count']}.")
    for name in ("pickup", "resolution"):
        lines.append(f"Time to {name} by team (median / p90):")
        lines.extend(
            f"    {row['group']:<18} {_duration(row['median_seconds'])} / "
            f"{_duration(row['p90_seconds'])} ({row['count']})"
            for row in document[name]["by_team"]
        )
    csat = document["csat"]
    lines.append(
        f"CSAT: {csat['answers']} answers, mean {_number(csat['mean'])}; by reason: "
        + (
            ", ".join(
                f"{row['reason']} {_number(row['mean'])} ({row['answers']})"
                for row in csat["by_reason"]
            )
            or "-"
        )
        + "."
    )
    lines.append("Agents' load (handled / open):")
    lines.extend(
        f"    {row['agent']:<18} {row['handled']} / {row['open']}"
        for row in document["agents"]
    )
    return "\n".join(lines)


def _duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _number(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.2f}"
