"""`rasa-handover tune`'s rules: labelled outcomes -> per-intent floor changes.

Pure (no Rasa, no database): `propose` takes the read handovers
(`handovers.Handover`) and the thresholds table the policy would use without
any value `tune` wrote before (`thresholds.Thresholds`, the one resolver), and
returns one `Proposal` per intent it looked at, each explained.

The rules (docs/feedback.md, "Rules and bounds"):

* **not needed -> lower the floor.** The `low_confidence` handovers of an
  intent (standard accounts, the intent NLU gave the escalation turn). If at
  least `min_labelled` of them are labelled and more than `majority` of those
  were `escalation_not_needed`, the floor moves down to the lowest confidence
  among them (rounded down to 0.01: at a floor equal to a confidence the
  trigger no longer fires), but stays above every `needed` or `late` one's
  confidence (they keep escalating). A handover whose intent the agent
  corrected is left out: NLU misread it, a lower floor would make the bot act
  on the wrong intent; `rasa-handover export` turns it into training data.
* **late -> raise the floor one turn earlier.** For a `should_have_come_earlier`
  handover, the user turn just before the escalation: its intent's floor rises
  just above that turn's confidence, so `low_confidence` fires one turn
  earlier. Counted per intent of that earlier turn, over every labelled
  handover whose earlier turn had that intent (at least `min_labelled`, more
  than `majority` late), and never so high that an earlier turn of a
  `not_needed` handover would escalate too.
* **Bounds.** A value never leaves the tuning file's `BOUNDS` (0.2 to 0.9) and
  never moves more than `max_step` (0.15) from the value the policy has without
  `tune` (the default, config.yml or `calibrate`). Floors a bot author set by
  hand (domain.yml, config.yml's `intent_overrides`) are never changed.
* **Deterministic and idempotent.** The same outcomes and settings give the
  same proposals; because proposals start from the values without `tune`'s,
  writing them and tuning again changes nothing. Intents without enough labels
  keep what `tune` wrote before.
"""

import math
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from rasa_handover.feedback.handovers import Handover
from rasa_handover.inbox.models import (
    OUTCOME_NEEDED,
    OUTCOME_NOT_NEEDED,
    OUTCOME_TOO_LATE,
    OUTCOMES,
)
from rasa_handover.thresholds import Thresholds
from rasa_handover.tuning_file import BOUNDS, TunedValue, TuningFile

SETTING = "confidence_floor"
WRITER = "tune"
REASON_LOW_CONFIDENCE = "low_confidence"
RULE_NOT_NEEDED = "not needed -> lower"
RULE_LATE = "late -> earlier"
DEFAULT_MIN_LABELLED = 5
DEFAULT_MAJORITY = 0.5
DEFAULT_MAX_STEP = 0.15
# How many conversations an explanation cites.
EXAMPLES = 3


@dataclass(frozen=True)
class TuneRules:
    """The rules' parameters (the command's options)."""

    min_labelled: int = DEFAULT_MIN_LABELLED
    majority: float = DEFAULT_MAJORITY
    max_step: float = DEFAULT_MAX_STEP


@dataclass(frozen=True)
class Proposal:
    """What `tune` proposes for one intent's floor, and why.

    Attributes:
        intent: The intent.
        rule: `RULE_NOT_NEEDED` or `RULE_LATE`.
        current: The floor without `tune`'s values (the baseline).
        proposed: The new floor, or None: no change.
        reason: The explanation (N of M, the confidences, bounds).
        examples: Conversation ids behind it.

    """

    intent: str
    rule: str
    current: float
    proposed: Optional[float]
    reason: str
    examples: Tuple[str, ...] = field(default_factory=tuple)

    @property
    def changes(self) -> bool:
        """Whether it moves the floor."""
        return self.proposed is not None and self.proposed != self.current


def hand_set_floors(
    overrides: Iterable[Tuple[str, Mapping[str, object]]],
) -> Dict[str, str]:
    """Intent -> where its floor was set by hand, from (source, overrides) pairs.

    Args:
        overrides: e.g. `[("config.yml", settings.intent_overrides),
            ("domain.yml", {intent: declaration.override})]`.

    """
    found: Dict[str, str] = {}
    for source, by_intent in overrides:
        for intent, override in by_intent.items():
            if getattr(override, SETTING, None) is not None:
                found.setdefault(intent, source)
    return found


def propose(
    handovers: Sequence[Handover],
    thresholds: Thresholds,
    rules: TuneRules = TuneRules(),
    hand_set: Optional[Mapping[str, str]] = None,
) -> List[Proposal]:
    """Applies both rules; one proposal per intent either rule looked at.

    Args:
        handovers: Resolved handovers (unlabelled ones are ignored).
        thresholds: The table without `tune`'s values.
        rules: The parameters.
        hand_set: Intent -> where a bot author set its floor (left alone).

    Returns:
        Proposals sorted by intent; where the rules disagree on an intent,
        one proposal that changes nothing and says so.

    """
    labelled = [h for h in handovers if h.outcome in OUTCOMES and not h.high_value]
    found: Dict[str, List[Proposal]] = {}
    for proposal in (
        *_not_needed(labelled, thresholds, rules),
        *_late(labelled, thresholds, rules),
    ):
        found.setdefault(proposal.intent, []).append(proposal)
    result = []
    for intent in sorted(found):
        proposals = found[intent]
        changing = [p for p in proposals if p.changes]
        source = (hand_set or {}).get(intent)
        if changing and source:
            first = changing[0]
            result.append(
                Proposal(
                    intent,
                    first.rule,
                    first.current,
                    None,
                    f"would be {_f(first.proposed)} ({first.reason}), but the floor "
                    f"is set by hand in {source}, which tune never changes",
                    first.examples,
                )
            )
        elif len(changing) > 1:
            result.append(
                Proposal(
                    intent,
                    "conflict",
                    changing[0].current,
                    None,
                    "the rules disagree ("
                    + "; ".join(f"{p.rule}: {_f(p.proposed)}" for p in changing)
                    + "): no change until the labels agree",
                    tuple(e for p in changing for e in p.examples)[:EXAMPLES],
                )
            )
        else:
            result.append(changing[0] if changing else proposals[0])
    return result


def apply(proposals: Sequence[Proposal], tuning: Optional[TuningFile]) -> TuningFile:
    """The tuning file with the changing proposals written (`by: tune`).

    Everything else in it is kept: `calibrate`'s floors, the other settings,
    and earlier `tune` values of intents this run had too few labels for.
    """
    intents: Dict[str, Dict[str, TunedValue]] = {
        intent: dict(settings)
        for intent, settings in (tuning.intents if tuning else {}).items()
    }
    for proposal in proposals:
        if proposal.changes and proposal.proposed is not None:
            intents.setdefault(proposal.intent, {})[SETTING] = TunedValue(
                proposal.proposed, WRITER, proposal.reason
            )
    return TuningFile(intents=intents, path=tuning.path if tuning else None)


def without_tune(tuning: Optional[TuningFile]) -> Optional[TuningFile]:
    """The tuning file minus what `tune` wrote: the baseline `propose` starts from."""
    if tuning is None:
        return None
    intents = {
        intent: {k: v for k, v in settings.items() if v.by != WRITER}
        for intent, settings in tuning.intents.items()
    }
    return TuningFile({i: s for i, s in intents.items() if s}, tuning.path)


# --- The rules. ------------------------------------------------------------------


def _not_needed(
    labelled: Sequence[Handover], thresholds: Thresholds, rules: TuneRules
) -> List[Proposal]:
    groups: Dict[str, List[Handover]] = {}
    for handover in labelled:
        if (
            handover.reason == REASON_LOW_CONFIDENCE
            and handover.intent
            and handover.confidence is not None
        ):
            groups.setdefault(handover.intent, []).append(handover)
    proposals = []
    for intent in sorted(groups):
        misread = [h for h in groups[intent] if h.misread]
        group = [h for h in groups[intent] if not h.misread]
        current = thresholds.for_intent(intent, high_value=False).confidence_floor
        eager = [h for h in group if h.outcome == OUTCOME_NOT_NEEDED]
        right = [h for h in group if h.outcome in (OUTCOME_NEEDED, OUTCOME_TOO_LATE)]
        counts = (
            f"{len(eager)} of {len(group)} labelled low_confidence handovers of "
            f"{intent} were not needed"
            + (
                f" ({len(misread)} more had the intent corrected: export, not tune)"
                if misread
                else ""
            )
        )
        examples = _examples(eager)
        problem = _too_few(len(group), len(eager), rules)
        if problem:
            proposals.append(
                Proposal(
                    intent,
                    RULE_NOT_NEEDED,
                    current,
                    None,
                    f"{counts}; {problem}",
                    examples,
                )
            )
            continue
        fix = [h.confidence for h in eager if h.confidence is not None]
        keep = [h.confidence for h in right if h.confidence is not None]
        target = round_down(min(fix))
        notes = [f"confidences {_f(min(fix))}-{_f(max(fix))}"]
        if keep and target <= max(keep):
            target = round_down(max(keep)) + 0.01
            notes.append(
                f"kept above the {len(keep)} needed/late ones (highest "
                f"{_f(max(keep))}), which still escalate"
            )
        lowest = max(BOUNDS[SETTING][0], current - rules.max_step)
        if target < lowest:
            target = lowest
            notes.append(
                f"bounded at {_f(lowest)} (max step {rules.max_step}, "
                f"bounds {BOUNDS[SETTING]})"
            )
        target = round(target, 2)
        if target >= current:
            proposals.append(
                Proposal(
                    intent,
                    RULE_NOT_NEEDED,
                    current,
                    None,
                    f"{counts}, but no lower floor spares them without "
                    f"dropping a needed one ({'; '.join(notes)})",
                    examples,
                )
            )
            continue
        fixed = sum(1 for c in fix if c >= target)
        proposals.append(
            Proposal(
                intent,
                RULE_NOT_NEEDED,
                current,
                target,
                f"{counts}; {fixed} of them would stay with the bot "
                f"({'; '.join(notes)})",
                examples,
            )
        )
    return proposals


def _late(
    labelled: Sequence[Handover], thresholds: Thresholds, rules: TuneRules
) -> List[Proposal]:
    groups: Dict[str, List[Handover]] = {}
    for handover in labelled:
        before = handover.earlier[-1] if handover.earlier else None
        if before is not None and before.intent and before.confidence is not None:
            groups.setdefault(before.intent, []).append(handover)
    proposals = []
    for intent in sorted(groups):
        group = groups[intent]
        late = [h for h in group if h.outcome == OUTCOME_TOO_LATE]
        if not late:
            continue
        current = thresholds.for_intent(intent, high_value=False).confidence_floor
        counts = (
            f"{len(late)} of {len(group)} labelled handovers whose turn before the "
            f"escalation was {intent} came too late"
        )
        examples = _examples(late)
        problem = _too_few(len(group), len(late), rules)
        if problem:
            proposals.append(
                Proposal(
                    intent, RULE_LATE, current, None, f"{counts}; {problem}", examples
                )
            )
            continue
        catch = [h.earlier[-1].confidence or 0.0 for h in late]
        spare = [
            h.earlier[-1].confidence or 0.0
            for h in group
            if h.outcome == OUTCOME_NOT_NEEDED
        ]
        target = round_down(max(catch)) + 0.01
        notes = [f"that turn's confidences {_f(min(catch))}-{_f(max(catch))}"]
        if spare and target > round_down(min(spare)):
            target = round_down(min(spare))
            notes.append(
                f"kept at or below {_f(min(spare))} so that the not-needed ones do "
                "not escalate earlier"
            )
        highest = min(BOUNDS[SETTING][1], current + rules.max_step)
        if target > highest:
            target = highest
            notes.append(
                f"bounded at {_f(highest)} (max step {rules.max_step}, "
                f"bounds {BOUNDS[SETTING]})"
            )
        target = round(target, 2)
        if target <= current:
            proposals.append(
                Proposal(
                    intent,
                    RULE_LATE,
                    current,
                    None,
                    f"{counts}, but the floor already is {_f(current)} "
                    f"({'; '.join(notes)})",
                    examples,
                )
            )
            continue
        caught = sum(1 for c in catch if c < target)
        proposals.append(
            Proposal(
                intent,
                RULE_LATE,
                current,
                target,
                f"{counts}; low_confidence would fire one turn earlier in {caught} "
                f"of them ({'; '.join(notes)})",
                examples,
            )
        )
    return proposals


def _too_few(labelled: int, matching: int, rules: TuneRules) -> Optional[str]:
    if labelled < rules.min_labelled:
        return f"fewer than {rules.min_labelled} labelled: no change"
    if matching <= rules.majority * labelled:
        return f"not more than {rules.majority:.0%}: no change"
    return None


def _examples(handovers: Sequence[Handover]) -> Tuple[str, ...]:
    return tuple(sorted({h.conversation_id for h in handovers}))[:EXAMPLES]


def round_down(value: float) -> float:
    """Rounded down to 0.01 (a floor there no longer fires on `value`)."""
    return math.floor(round(value * 100, 6)) / 100


def _f(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.2f}"
