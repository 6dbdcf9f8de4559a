"""The figures of `rasa-handover evaluate` (pure: unit tested on hand-made tables)."""

from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from rasa_handover.constants import REASON_CODES
from rasa_handover.evaluation.conversations import LABELS, Outcome

# "Within +1 turn": a decision at most this many turns after the gold turn.
LATE_TOLERANCE_TURNS = 1


@dataclass(frozen=True)
class ReasonScore:
    """Precision, recall and F1 of one reason code (`None` when undefined)."""

    precision: Optional[float]
    recall: Optional[float]
    f1: Optional[float]
    support: int
    predicted: int


@dataclass(frozen=True)
class GroupAccuracy:
    """Accuracy over a group of conversations (a gold reason or a tag)."""

    conversations: int
    exact: float
    within_one_turn: float


@dataclass(frozen=True)
class Metrics:
    """Everything `rasa-handover evaluate` reports for one system.

    Attributes:
        conversations: How many conversations were scored.
        never_conversations: How many of them must never be handed over.
        accuracy_exact: Share with the right decision at the right turn: the
            handover turn and the offer turn both equal the gold ones (or are
            both absent), and the clarification matches (`clarify_matches`).
        accuracy_within_one_turn: The same, allowing each decision to come up
            to `LATE_TOLERANCE_TURNS` turn(s) late.
        accuracy_exact_with_reason: `accuracy_exact` and the right reason code.
        false_escalation_rate: Share of `never` conversations handed over
            (conversations without a gold handover, except those that only
            clarify and end before the answer).
        false_escalations: Their count.
        unneeded_offer_rate: Share of conversations without any gold
            intervention in which the bot offered a person.
        missed: Conversations with a gold intervention and none predicted.
        early / late: Conversations whose first intervention came before /
            after the gold one (both present).
        mean_turns_early / mean_turns_late: By how many turns, on average.
        per_reason: Precision / recall / F1 of each reason code, on the reason of
            the first intervention, whatever its turn.
        macro_f1: Mean F1 over reason codes with gold support.
        confusion: Gold label -> predicted label -> count.
        per_gold_reason: Accuracy per gold label.
        per_tag: Accuracy per conversation tag.
        clarifications: Conversations in which the bot asked "did you mean".
        clarify_accuracy: Share of gold clarifications asked at their turn.
        unneeded_clarifications: Conversations without a gold clarification
            or handover in which the bot asked anyway.

    """

    conversations: int
    never_conversations: int
    accuracy_exact: float
    accuracy_within_one_turn: float
    accuracy_exact_with_reason: float
    false_escalation_rate: Optional[float]
    false_escalations: int
    unneeded_offer_rate: Optional[float]
    missed: int
    early: int
    late: int
    mean_turns_early: Optional[float]
    mean_turns_late: Optional[float]
    per_reason: Dict[str, ReasonScore]
    macro_f1: Optional[float]
    confusion: Dict[str, Dict[str, int]]
    per_gold_reason: Dict[str, GroupAccuracy]
    per_tag: Dict[str, GroupAccuracy]
    clarifications: int = 0
    clarify_accuracy: Optional[float] = None
    unneeded_clarifications: int = 0

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-serialisable copy."""
        return asdict(self)


def turn_matches(gold: Optional[int], predicted: Optional[int], tolerance: int) -> bool:
    """Whether a predicted decision turn matches the gold one.

    Args:
        gold: The gold turn, or `None` for "must not happen".
        predicted: The predicted turn, or `None` for "did not happen".
        tolerance: How many turns late still counts (never early).

    Returns:
        True when both are absent, or the prediction is 0..tolerance turns late.

    """
    if gold is None or predicted is None:
        return gold is None and predicted is None
    return 0 <= predicted - gold <= tolerance


def clarify_matches(gold: Outcome, predicted: Outcome, tolerance: int = 0) -> bool:
    """Whether the bot asked "did you mean ...?" where it should have.

    A gold clarification must be predicted at its turn. Where the gold neither
    clarifies nor hands over, a predicted clarification is a wasted question
    and does not match. Where the gold hands over without asking (another
    trigger), a clarification on the way there is not held against the bot.
    """
    if gold.clarify_at is not None:
        return turn_matches(gold.clarify_at, predicted.clarify_at, tolerance)
    if gold.first_turn is None:
        return predicted.clarify_at is None
    return True


def decision_matches(gold: Outcome, predicted: Outcome, tolerance: int = 0) -> bool:
    """Right decisions at the right turns: handover, offer and clarification."""
    return (
        turn_matches(gold.escalate_at, predicted.escalate_at, tolerance)
        and turn_matches(gold.offer_at, predicted.offer_at, tolerance)
        and clarify_matches(gold, predicted, tolerance)
    )


def ratio(numerator: float, denominator: float) -> Optional[float]:
    """`numerator / denominator`, or `None` when there is nothing to divide by."""
    return numerator / denominator if denominator else None


def _f1(precision: Optional[float], recall: Optional[float]) -> Optional[float]:
    if precision is None or recall is None:
        return None
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def _mean(values: Sequence[float]) -> Optional[float]:
    return sum(values) / len(values) if values else None


def _group_accuracy(pairs: Sequence[Tuple[Outcome, Outcome]]) -> GroupAccuracy:
    return GroupAccuracy(
        conversations=len(pairs),
        exact=sum(decision_matches(g, p) for g, p in pairs) / len(pairs),
        within_one_turn=sum(
            decision_matches(g, p, LATE_TOLERANCE_TURNS) for g, p in pairs
        )
        / len(pairs),
    )


def compute_metrics(
    pairs: Sequence[Tuple[Outcome, Outcome]],
    tags: Optional[Sequence[Sequence[str]]] = None,
) -> Metrics:
    """Scores predictions against gold decisions.

    Args:
        pairs: (gold, predicted) per conversation.
        tags: The tags of each conversation (same order), for `per_tag`.

    Returns:
        The metrics (see `Metrics` for each definition).

    Raises:
        ValueError: if `pairs` is empty or `tags` has another length.

    """
    if not pairs:
        raise ValueError("compute_metrics needs at least one (gold, predicted) pair.")
    if tags is not None and len(tags) != len(pairs):
        raise ValueError(f"{len(tags)} tag lists for {len(pairs)} conversations.")
    count = len(pairs)
    # Conversations that need no person (a clarification whose answer the
    # conversation does not show is not known to need none).
    never = [(g, p) for g, p in pairs if g.escalate_at is None and not g.clarify_only]
    asked = [(g, p) for g, p in pairs if g.clarify_at is not None]
    quiet = [(g, p) for g, p in never if g.offer_at is None]
    false_escalations = sum(p.escalate_at is not None for _, p in never)
    missed, early, late = _timing(pairs)
    per_reason = _per_reason(pairs)
    f1_scores = [s.f1 for s in per_reason.values() if s.support and s.f1 is not None]
    by_gold: Dict[str, List[Tuple[Outcome, Outcome]]] = {}
    for gold, predicted in pairs:
        by_gold.setdefault(gold.label, []).append((gold, predicted))
    by_tag: Dict[str, List[Tuple[Outcome, Outcome]]] = {}
    for pair, pair_tags in zip(pairs, tags or [()] * count):
        for tag in pair_tags:
            by_tag.setdefault(tag, []).append(pair)

    return Metrics(
        conversations=count,
        never_conversations=len(never),
        accuracy_exact=sum(decision_matches(g, p) for g, p in pairs) / count,
        accuracy_within_one_turn=sum(
            decision_matches(g, p, LATE_TOLERANCE_TURNS) for g, p in pairs
        )
        / count,
        accuracy_exact_with_reason=sum(
            decision_matches(g, p) and g.label == p.label for g, p in pairs
        )
        / count,
        false_escalation_rate=ratio(false_escalations, len(never)),
        false_escalations=false_escalations,
        unneeded_offer_rate=ratio(
            sum(p.offer_at is not None for _, p in quiet), len(quiet)
        ),
        missed=missed,
        early=len(early),
        late=len(late),
        mean_turns_early=_mean(early),
        mean_turns_late=_mean(late),
        per_reason=per_reason,
        macro_f1=_mean(f1_scores),
        confusion=_confusion(pairs),
        per_gold_reason={
            label: _group_accuracy(by_gold[label])
            for label in LABELS
            if label in by_gold
        },
        per_tag={tag: _group_accuracy(by_tag[tag]) for tag in sorted(by_tag)},
        clarifications=sum(p.clarify_at is not None for _, p in pairs),
        clarify_accuracy=ratio(
            sum(clarify_matches(g, p) for g, p in asked), len(asked)
        ),
        unneeded_clarifications=sum(
            not clarify_matches(g, p) for g, p in pairs if g.clarify_at is None
        ),
    )


def _timing(
    pairs: Sequence[Tuple[Outcome, Outcome]],
) -> Tuple[int, List[int], List[int]]:
    """Missed conversations, and by how many turns each early / late one was."""
    early: List[int] = []
    late: List[int] = []
    missed = 0
    for gold, predicted in pairs:
        gold_turn, predicted_turn = gold.first_turn, predicted.first_turn
        if gold_turn is not None and predicted_turn is None:
            missed += 1
        elif gold_turn is not None and predicted_turn is not None:
            if predicted_turn < gold_turn:
                early.append(gold_turn - predicted_turn)
            elif predicted_turn > gold_turn:
                late.append(predicted_turn - gold_turn)
    return missed, early, late


def _per_reason(pairs: Sequence[Tuple[Outcome, Outcome]]) -> Dict[str, ReasonScore]:
    per_reason: Dict[str, ReasonScore] = {}
    for reason in REASON_CODES:
        support = sum(g.label == reason for g, _ in pairs)
        predicted_count = sum(p.label == reason for _, p in pairs)
        hits = sum(g.label == reason and p.label == reason for g, p in pairs)
        precision = ratio(hits, predicted_count)
        recall = ratio(hits, support)
        per_reason[reason] = ReasonScore(
            precision, recall, _f1(precision, recall), support, predicted_count
        )
    return per_reason


def _confusion(pairs: Sequence[Tuple[Outcome, Outcome]]) -> Dict[str, Dict[str, int]]:
    """Gold label -> predicted label -> count, both in `LABELS` order."""
    confusion: Dict[str, Dict[str, int]] = {}
    for gold, predicted in pairs:
        row = confusion.setdefault(gold.label, {})
        row[predicted.label] = row.get(predicted.label, 0) + 1
    return {
        gold: {p: confusion[gold][p] for p in LABELS if p in confusion[gold]}
        for gold in LABELS
        if gold in confusion
    }
