"""Replay: the stored handovers through the policy's decision, with other settings.

Pure (no Rasa, no database). Each resolved handover's user turns, as the
payload stored them (`handovers.Handover`: text, NLU's intent, confidence and
entities, the runner-up where the evidence kept it, the account's slots), are
fed one at a time to `triggers.evaluate`, the very function `HandoverPolicy`
decides with, over the conversation view (`conversation.UserTurn`,
`ConversationView`) it would see:

* the view holds the policy's number of latest turns
  (`lookback_turns + OFFER_LOOKBACK_TURNS`);
* the bot's own actions are replayed, not read: a clarification or an offer
  decided on one turn is the next turn's `previous_action`, an offer sets
  `handover_offered` (the triggers read nothing else of the bot's actions);
* the first turn that decides `handover_action` is the replayed handover; a
  conversation whose turns all pass stays with the bot (as far as its stored
  turns go: what the customer would have said next is unknown).

What a replay cannot know: the customer's next message after a bot reply that
did not happen (the stored one is used), NLU's full ranking (only the top
intent is stored, so the ambiguity threshold only replays on turns whose
evidence kept the runner-up), and the policy's guards outside the triggers
(forms, callback requests, the bot's own answer to `nlu_fallback`).
`reproduced` says, per handover, whether the replay with the current settings
lands where the real handover did.
"""

from dataclasses import dataclass, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from rasa_handover.constants import (
    ACTION_LISTEN,
    OFFER_LOOKBACK_TURNS,
    POLICY_SLOTS,
    RASA_CONTROL_INTENTS,
    REASON_FRUSTRATION,
    REASON_LOW_CONFIDENCE,
    SLOT_HANDOVER_OFFERED,
)
from rasa_handover.conversation import ConversationView, Entity, IntentScore, UserTurn
from rasa_handover.feedback.handovers import Handover, Turn
from rasa_handover.feedback.tune import round_down
from rasa_handover.inbox.models import (
    OUTCOME_NEEDED,
    OUTCOME_NOT_NEEDED,
    OUTCOME_TOO_LATE,
)
from rasa_handover.intent_properties import IntentDeclaration
from rasa_handover.settings import HandoverSettings
from rasa_handover.thresholds import Thresholds
from rasa_handover.triggers import evaluate
from rasa_handover.tuning_file import BOUNDS
from rasa_handover.validation import IntentOverride

# What a replay changed for one conversation.
KEPT = "same"
LOST = "lost"
GAINED = "gained"
EARLIER = "earlier"
LATER = "later"
# What it means for its label.
FIXED = "fixes"
BROKEN = "breaks"
UNCHANGED = "no change"
# How far `earlier_settings` looks: frustration windows this much wider.
MAX_EXTRA_WINDOW = 2


@dataclass(frozen=True)
class Setup:
    """What the policy decides with: its settings and its thresholds table."""

    settings: HandoverSettings
    thresholds: Thresholds
    tuning: Optional[Mapping[str, Any]] = None

    @classmethod
    def build(
        cls,
        settings: HandoverSettings,
        declarations: Mapping[str, IntentDeclaration],
        tuning: Optional[Mapping[str, Any]] = None,
    ) -> "Setup":
        """The table `HandoverPolicy` builds from the same inputs."""
        return cls(settings, Thresholds.build(settings, declarations, tuning), tuning)

    def changed(self, **settings: Any) -> "Setup":
        """The same with some settings changed (the table rebuilt from them)."""
        return Setup.build(
            replace(self.settings, **settings),
            self.thresholds.declarations,
            self.tuning,
        )


@dataclass(frozen=True)
class Replayed:
    """Where the replay hands over, if at all."""

    turn: Optional[int] = None
    reason: Optional[str] = None
    intent: Optional[str] = None

    @property
    def hands_over(self) -> bool:
        """Whether any stored turn led to a handover."""
        return self.turn is not None

    def describe(self) -> str:
        """`low_confidence at turn 2`, or `no handover`."""
        if self.turn is None:
            return "no handover"
        return f"{self.reason} at turn {self.turn}"


def replay(handover: Handover, setup: Setup) -> Replayed:
    """The policy's decisions on the handover's stored turns, in order."""
    settings = setup.settings
    slots = _slots(handover, settings)
    window = settings.lookback_turns + OFFER_LOOKBACK_TURNS
    seen: List[UserTurn] = []
    previous: Optional[str] = None
    for turn in handover.turns:
        seen.append(_user_turn(turn, previous))
        previous = None
        if turn.intent in RASA_CONTROL_INTENTS:
            continue
        view = ConversationView(
            turns=tuple(seen[-window:]),
            segment_turn_count=len(seen),
            slots=dict(slots),
            latest_action=ACTION_LISTEN,
        )
        decision = evaluate(view, settings, setup.thresholds)
        if decision is None:
            continue
        if decision.action == settings.handover_action:
            return Replayed(turn.number, decision.reason, turn.intent)
        previous = decision.action
        if decision.action == settings.offer_action:
            slots[SLOT_HANDOVER_OFFERED] = True
    return Replayed()


def reproduced(handover: Handover, replayed: Replayed) -> bool:
    """Whether the replay hands over where (and why) the real handover did."""
    return (
        handover.escalation is not None
        and replayed.turn == handover.escalation.number
        and replayed.reason == handover.reason
    )


@dataclass(frozen=True)
class Change:
    """One stored handover replayed with the current and the proposed settings."""

    handover: Handover
    before: Replayed
    after: Replayed

    @property
    def kind(self) -> str:
        """`same`, `lost`, `gained`, `earlier` or `later`."""
        before, after = self.before.turn, self.after.turn
        if before is None and after is None:
            return KEPT
        if after is None:
            return LOST
        if before is None:
            return GAINED
        if after < before:
            return EARLIER
        if after > before:
            return LATER
        return KEPT

    @property
    def verdict(self) -> Optional[str]:
        """For a labelled handover: whether the change fixes or breaks it.

        Not needed: fixed when it no longer hands over, broken when it newly
        does. Needed: broken when it no longer hands over or hands over later.
        Late: fixed when it hands over earlier, broken when later or not at
        all. Anything else: no change. Unlabelled: None.
        """
        outcome, kind = self.handover.outcome, self.kind
        if outcome == OUTCOME_NOT_NEEDED:
            return {LOST: FIXED, GAINED: BROKEN}.get(kind, UNCHANGED)
        if outcome == OUTCOME_NEEDED:
            return {LOST: BROKEN, LATER: BROKEN, GAINED: FIXED}.get(kind, UNCHANGED)
        if outcome == OUTCOME_TOO_LATE:
            return {EARLIER: FIXED, LOST: BROKEN, LATER: BROKEN}.get(kind, UNCHANGED)
        return None


def compare(
    handovers: Sequence[Handover], current: Setup, proposed: Setup
) -> List[Change]:
    """Every handover replayed with both setups (order kept)."""
    return [Change(h, replay(h, current), replay(h, proposed)) for h in handovers]


def tally(changes: Sequence[Change], kind: str) -> List[Tuple[str, str, int]]:
    """(reason code, intent, count) of the changes of one kind, most first.

    A lost handover counts under the reason and intent it had with the current
    settings; a gained, earlier or later one under those it has with the
    proposed ones.
    """
    counts: Dict[Tuple[str, str], int] = {}
    for change in changes:
        if change.kind != kind:
            continue
        side = change.before if kind == LOST else change.after
        key = (side.reason or "-", side.intent or "-")
        counts[key] = counts.get(key, 0) + 1
    return sorted(
        ((r, i, n) for (r, i), n in counts.items()), key=lambda x: (-x[2], x[0], x[1])
    )


@dataclass(frozen=True)
class EarlierOption:
    """A setting at which a trigger would have handed over before it happened."""

    reason: str
    setting: str
    turn: int

    def describe(self) -> str:
        """`low_confidence at turn 1 with confidence_floor of X 0.55 -> 0.62`."""
        return f"{self.reason} at turn {self.turn} with {self.setting}"


def earlier_settings(handover: Handover, setup: Setup) -> List[EarlierOption]:
    """For a late handover: which trigger, at which setting, fires earlier.

    Tries the smallest change of each per-intent sensitivity the turns before
    the escalation call for: the confidence floor of each earlier turn's intent
    just above that turn's confidence (within the tuning file's bounds; with
    `clarify_before_handover`, also without the clarification, which the first
    unclear turn gets instead of a person), fewer frustration signals, a wider
    frustration window, no clarification first.
    Each is replayed; the ones that hand over before the real escalation are
    returned, earliest first.
    """
    escalation = handover.escalation
    if escalation is None:
        return []
    settings = setup.settings
    # (the setting, the change, the setup with it), smallest change first.
    candidates: List[Tuple[str, str, Setup]] = []
    high = handover.high_value
    for turn in handover.earlier:
        if turn.intent is None or turn.confidence is None:
            continue
        floor = setup.thresholds.for_intent(turn.intent, high).confidence_floor
        target = round(round_down(turn.confidence) + 0.01, 2)
        if floor < target <= BOUNDS["confidence_floor"][1]:
            override = settings.intent_overrides.get(turn.intent) or IntentOverride()
            overrides = {
                **settings.intent_overrides,
                turn.intent: replace(override, confidence_floor=target),
            }
            label = f"confidence_floor of {turn.intent} {floor:.2f} -> {target:.2f}"
            candidates.append(
                (
                    f"confidence_floor of {turn.intent}",
                    label,
                    setup.changed(intent_overrides=overrides),
                )
            )
            if settings.clarify_before_handover and not high:
                # The first unclear turn only gets a clarification.
                candidates.append(
                    (
                        f"confidence_floor of {turn.intent}",
                        f"{label} and clarify_before_handover false",
                        setup.changed(
                            intent_overrides=overrides, clarify_before_handover=False
                        ),
                    )
                )
    for signals in range(settings.frustration_signals - 1, 0, -1):
        candidates.append(
            (
                "frustration_signals",
                f"frustration_signals {settings.frustration_signals} -> {signals}",
                setup.changed(frustration_signals=signals),
            )
        )
    for extra in range(1, MAX_EXTRA_WINDOW + 1):
        window = settings.frustration_window + extra
        candidates.append(
            (
                "frustration_window",
                f"frustration_window {settings.frustration_window} -> {window}",
                setup.changed(frustration_window=window),
            )
        )
    if settings.clarify_before_handover:
        candidates.append(
            (
                "clarify_before_handover",
                "clarify_before_handover true -> false",
                setup.changed(clarify_before_handover=False),
            )
        )
    found: Dict[str, EarlierOption] = {}
    for setting, label, candidate in candidates:
        if setting in found:
            continue  # The smallest change of each setting is enough.
        replayed = replay(handover, candidate)
        if replayed.turn is not None and replayed.turn < escalation.number:
            found[setting] = EarlierOption(str(replayed.reason), label, replayed.turn)
    return sorted(found.values(), key=lambda o: (o.turn, _ORDER.get(o.reason, 9)))


_ORDER = {REASON_LOW_CONFIDENCE: 0, REASON_FRUSTRATION: 1}


def _user_turn(turn: Turn, previous_action: Optional[str]) -> UserTurn:
    return UserTurn(
        index=turn.number,
        text=turn.text,
        intent=turn.intent,
        confidence=turn.confidence,
        ranking=tuple(IntentScore(name, score) for name, score in turn.ranking),
        entities=tuple(Entity(name, value) for name, value in turn.entities),
        previous_action=previous_action,
    )


def _slots(handover: Handover, settings: HandoverSettings) -> Dict[str, Any]:
    """The account state the triggers saw (the plugin's own slots replayed)."""
    slots = {k: v for k, v in handover.slots.items() if k not in POLICY_SLOTS}
    tier_slot = settings.high_value.slot
    if slots.get(tier_slot) is None and handover.account_tier:
        slots[tier_slot] = handover.account_tier
    return slots
