"""`rasa-handover tune`'s rules on a synthetic outcome history (pure)."""

import random
from typing import Dict, List, Optional

import pytest

from rasa_handover.feedback.tune_command import tune
from rasa_handover.inbox.models import OutcomeRecord
from rasa_handover.intent_properties import parse_declarations
from rasa_handover.settings import parse_settings
from rasa_handover.thresholds import Thresholds
from rasa_handover.tuning_file import TunedValue, TuningFile, dump_tuning, parse_tuning
from tests.feedback.history import (
    LATE,
    NEEDED,
    NOT_NEEDED,
    late_after,
    low_confidence,
    record,
)

SETTINGS = parse_settings({})  # confidence_floor 0.55


def floors(tuning: TuningFile) -> Dict[str, float]:
    return {
        intent: settings["confidence_floor"].value
        for intent, settings in tuning.intents.items()
        if "confidence_floor" in settings
    }


def run(
    records: List[OutcomeRecord],
    existing: Optional[TuningFile] = None,
    domain: Optional[dict] = None,
) -> TuningFile:
    declarations = parse_declarations(domain or {}, None, None)
    _, tuned = tune(records, SETTINGS, declarations, existing)
    return tuned


def test_mostly_not_needed_lowers_that_intents_floor_only() -> None:
    history = low_confidence(
        "check_balance",
        [
            (NOT_NEEDED, 0.48),
            (NOT_NEEDED, 0.44),
            (NOT_NEEDED, 0.51),
            (NOT_NEEDED, 0.47),
            (NEEDED, 0.21),
        ],
    ) + low_confidence(
        "cancel_subscription",
        [
            (NEEDED, 0.40),
            (NEEDED, 0.45),
            (NOT_NEEDED, 0.5),
            (NEEDED, 0.3),
            (LATE, 0.35),
        ],
    )

    proposals, tuned = tune(history, SETTINGS, {}, None)

    # Down to the lowest not-needed confidence: all four would stay with the bot.
    assert floors(tuned) == {"check_balance": 0.44}
    [balance] = [p for p in proposals if p.intent == "check_balance"]
    assert "4 of 5 labelled low_confidence handovers" in balance.reason
    assert "4 of them would stay with the bot" in balance.reason
    assert balance.examples and all(e.startswith("conv-") for e in balance.examples)
    # The needed one (0.21) still escalates at the new floor.
    table = Thresholds.build(SETTINGS, {}, tuned.thresholds())
    assert table.for_intent("check_balance", False).confidence_floor > 0.21
    cancel = [p for p in proposals if p.intent == "cancel_subscription"]
    assert not cancel[0].changes and "1 of 5" in cancel[0].reason


def test_the_floor_stays_above_the_needed_ones() -> None:
    history = low_confidence(
        "check_balance",
        [
            (NOT_NEEDED, 0.42),
            (NOT_NEEDED, 0.47),
            (NOT_NEEDED, 0.5),
            (NOT_NEEDED, 0.52),
            (NEEDED, 0.46),
        ],
    )

    tuned = run(history)

    # Above 0.46 (which keeps escalating), so the 0.42 and 0.46 are not spared.
    assert floors(tuned) == {"check_balance": 0.47}


def test_late_raises_the_floor_of_the_turn_before_the_escalation() -> None:
    history = late_after(
        "check_video",
        [(LATE, 0.58), (LATE, 0.61), (LATE, 0.6), (LATE, 0.57), (NEEDED, 0.9)],
    )

    proposals, tuned = tune(history, SETTINGS, {}, None)

    # Just above the highest: low_confidence fires one turn earlier in all four.
    assert floors(tuned) == {"check_video": 0.62}
    [proposal] = proposals
    assert "in 4 of them" in proposal.reason and proposal.rule.startswith("late")


@pytest.mark.parametrize(
    "history, expected",
    [
        pytest.param(
            low_confidence("check_balance", [(NOT_NEEDED, 0.05)] * 5),
            0.40,  # 0.55 - max step 0.15, not 0.05
            id="lower-by-at-most-max-step",
        ),
        pytest.param(
            late_after("check_video", [(LATE, 0.97)] * 5),
            0.70,  # 0.55 + 0.15, not 0.98
            id="raise-by-at-most-max-step",
        ),
    ],
)
def test_changes_stay_within_the_bounds(
    history: List[OutcomeRecord], expected: float
) -> None:
    tuned = run(history)

    [value] = floors(tuned).values()
    assert value == pytest.approx(expected)
    # The file is valid: within the tuning file's own bounds.
    parse_tuning(tuned.as_dict())


def test_the_bounds_of_the_tuning_file_hold_from_a_low_floor() -> None:
    settings = parse_settings({"confidence_floor": 0.3})
    history = low_confidence("check_balance", [(NOT_NEEDED, 0.1)] * 6)

    _, tuned = tune(history, settings, {}, None)

    assert floors(tuned) == {"check_balance": 0.2}


@pytest.mark.parametrize(
    "history",
    [
        pytest.param(
            low_confidence("check_balance", [(NOT_NEEDED, 0.4)] * 4), id="four-labels"
        ),
        pytest.param(
            low_confidence("check_balance", [(NOT_NEEDED, 0.4)] * 4)
            + [record(None, [("check_balance", 0.4)]) for _ in range(5)],
            id="unlabelled-do-not-count",
        ),
        pytest.param(
            [
                record(NOT_NEEDED, [("check_balance", 0.4)], tier="senior")
                for _ in range(6)
            ],
            id="high-value-accounts-do-not-count",
        ),
        pytest.param(
            [
                record(NOT_NEEDED, [("check_balance", 0.4)], corrected="refund")
                for _ in range(6)
            ],
            id="misread-intents-go-to-export",
        ),
        pytest.param(
            low_confidence("check_balance", [(NOT_NEEDED, 0.4)] * 3)
            + low_confidence("check_balance", [(NEEDED, 0.3)] * 3),
            id="half-is-not-mostly",
        ),
    ],
)
def test_nothing_changes_below_the_minimum_or_without_a_majority(
    history: List[OutcomeRecord],
) -> None:
    assert floors(run(history)) == {}


def test_a_floor_set_by_hand_in_the_domain_is_never_changed() -> None:
    history = low_confidence("check_balance", [(NOT_NEEDED, 0.45)] * 6)
    domain = {"check_balance": {"handover_confidence_floor": 0.6}}
    declarations = parse_declarations(domain, None, None)

    proposals, tuned = tune(history, SETTINGS, declarations, None)

    assert floors(tuned) == {}
    assert "set by hand in domain.yml" in proposals[0].reason


def test_tuning_is_deterministic_and_idempotent() -> None:
    history = low_confidence(
        "check_balance", [(NOT_NEEDED, 0.3 + i / 100) for i in range(8)]
    ) + late_after("check_video", [(LATE, 0.6)] * 5)
    calibrated = TuningFile(
        {"greet": {"confidence_floor": TunedValue(0.3, "calibrate", "cv")}}
    )

    first = run(history, calibrated)
    shuffled = list(history)
    random.Random(7).shuffle(shuffled)
    again = run(shuffled, first)

    assert dump_tuning(again) == dump_tuning(first)
    # Bounded by max_step from 0.55, and calibrate's value kept.
    assert floors(first) == {"check_balance": 0.4, "check_video": 0.61, "greet": 0.3}
    assert first.intents["check_balance"]["confidence_floor"].by == "tune"


def test_an_intent_without_enough_labels_now_keeps_what_tune_wrote() -> None:
    earlier = TuningFile(
        {"check_balance": {"confidence_floor": TunedValue(0.44, "tune", "before")}}
    )

    tuned = run(low_confidence("check_balance", [(NOT_NEEDED, 0.3)]), earlier)

    assert floors(tuned) == {"check_balance": 0.44}
