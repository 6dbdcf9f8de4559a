"""The replay's terminal report: what the proposed settings change, and for whom.

Pure text from `replay.Change`s (docs/feedback.md, "Replay"):

* how many real handovers the current settings reproduce (the replay's limits
  made visible: a handover it does not reproduce is compared all the same);
* handovers lost, gained, earlier and later, per reason code and intent;
* per label, how many the change fixes and breaks, and which;
* for each late handover, which trigger at which setting would have fired at
  which earlier turn (`replay.earlier_settings`).
"""

from typing import Dict, List, Sequence

from rasa_handover.feedback.replay import (
    BROKEN,
    EARLIER,
    FIXED,
    GAINED,
    LATER,
    LOST,
    UNCHANGED,
    Change,
    Setup,
    earlier_settings,
    reproduced,
    tally,
)
from rasa_handover.inbox.models import OUTCOME_TOO_LATE, OUTCOMES

# How many conversations a line lists at most.
LISTED = 10
KIND_TITLES = {
    LOST: "Handovers lost (the bot keeps the conversation)",
    GAINED: "Handovers gained",
    EARLIER: "Handovers earlier",
    LATER: "Handovers later",
}


def format_replay(changes: Sequence[Change], current: Setup) -> str:
    """The report (see the module's docs)."""
    lines = [
        f"Replayed {len(changes)} resolved handovers (their stored turns) with the "
        "current and the proposed settings."
    ]
    if not changes:
        return "\n".join(lines)
    lines.extend(_reproduction(changes))
    for kind, title in KIND_TITLES.items():
        rows = tally(changes, kind)
        lines.append(f"\n{title}: {sum(n for _, _, n in rows)}")
        lines.extend(f"    {reason:<18} {intent:<28} {n}" for reason, intent, n in rows)
    lines.append("\nLabelled outcomes:")
    lines.extend(_verdicts(changes))
    late = [c for c in changes if c.handover.outcome == OUTCOME_TOO_LATE]
    if late:
        lines.append(
            "\nLate handovers: which trigger, at which setting, would have fired "
            "earlier:"
        )
        for change in late:
            lines.extend(_late(change, current))
    return "\n".join(lines)


def _reproduction(changes: Sequence[Change]) -> List[str]:
    missed = [c for c in changes if not reproduced(c.handover, c.before)]
    lines = [
        f"The current settings reproduce {len(changes) - len(missed)} of "
        f"{len(changes)} (same turn, same reason)."
    ]
    for change in missed[:LISTED]:
        h = change.handover
        real = f"{h.reason} at turn {h.escalation.number}" if h.escalation else "?"
        lines.append(
            f"    {h.conversation_id}: real {real}, replayed {change.before.describe()}"
        )
    if len(missed) > LISTED:
        lines.append(f"    ... and {len(missed) - LISTED} more")
    return lines


def _verdicts(changes: Sequence[Change]) -> List[str]:
    lines: List[str] = []
    for outcome in OUTCOMES:
        labelled = [c for c in changes if c.handover.outcome == outcome]
        if not labelled:
            continue
        counts: Dict[str, int] = {FIXED: 0, BROKEN: 0, UNCHANGED: 0}
        for change in labelled:
            counts[str(change.verdict)] += 1
        lines.append(
            f"    {outcome:<26} {len(labelled):>4}: {counts[FIXED]} fixed, "
            f"{counts[BROKEN]} broken, {counts[UNCHANGED]} unchanged"
        )
        for verdict in (FIXED, BROKEN):
            which = [c for c in labelled if c.verdict == verdict]
            for change in which[:LISTED]:
                lines.append(
                    f"        {verdict} {change.handover.conversation_id}: "
                    f"{change.before.describe()} -> {change.after.describe()}"
                )
            if len(which) > LISTED:
                lines.append(f"        ... and {len(which) - LISTED} more")
    unlabelled = sum(1 for c in changes if c.handover.outcome is None)
    if unlabelled:
        lines.append(f"    unlabelled {unlabelled} (counted above, no verdict)")
    return lines or ["    none"]


def _late(change: Change, current: Setup) -> List[str]:
    h = change.handover
    real = f"{h.reason} at turn {h.escalation.number}" if h.escalation else "?"
    options = earlier_settings(h, current)
    head = (
        f"    {h.conversation_id} ({real}; proposed: {change.after.describe()}, "
        f"{change.verdict})"
    )
    if not options:
        return [head, "        no single setting fires earlier on its stored turns"]
    return [head, *(f"        {option.describe()}" for option in options)]
