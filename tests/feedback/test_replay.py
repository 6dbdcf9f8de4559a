"""Replay: stored handovers through the policy's own decision, current vs proposed.

The pure part runs `triggers.evaluate` (what HandoverPolicy decides with) over
the stored turns; the command reads a real inbox database (SQLite file)
written through the inbox store.
"""

import asyncio
from pathlib import Path
from typing import List

import pytest

from rasa_handover.cli import main
from rasa_handover.feedback.handovers import handover_from, handovers_from
from rasa_handover.feedback.replay import (
    BROKEN,
    FIXED,
    LOST,
    UNCHANGED,
    Setup,
    compare,
    earlier_settings,
    replay,
    reproduced,
    tally,
)
from rasa_handover.inbox.models import OutcomeRecord
from rasa_handover.settings import parse_settings
from tests.feedback.history import LATE, NEEDED, NOT_NEEDED, record, seed

SETTINGS = parse_settings({})  # floor 0.55, clarify first, 2 frustration signs
CURRENT = Setup.build(SETTINGS, {})


def unsure_balance(outcome: str, first: float, second: float) -> OutcomeRecord:
    """Clarified on turn 2, handed over on turn 3: both below the floor."""
    return record(
        outcome,
        [("greet", 0.95), ("check_balance", first), ("check_balance", second)],
        texts=["hi", "how much money is left", "the money on my account"],
    )


def late_frustration() -> OutcomeRecord:
    """Annoyed on turn 2 (one sign), handed over on turn 3's outburst."""
    return record(
        LATE,
        [("greet", 0.95), ("report_problem", 0.58), ("report_problem", 0.9)],
        reason="frustration",
        texts=[
            "hi",
            "why is it still not working?",
            "THIS IS RIDICULOUS!!! NOTHING WORKS",
        ],
    )


def floors(**values: float) -> Setup:
    return Setup.build(
        SETTINGS, {}, {i: {"confidence_floor": v} for i, v in values.items()}
    )


@pytest.mark.parametrize(
    "stored, reason, turn",
    [
        pytest.param(unsure_balance(NEEDED, 0.45, 0.44), "low_confidence", 3, id="lc"),
        pytest.param(late_frustration(), "frustration", 3, id="frustration"),
        pytest.param(
            record(
                NEEDED,
                [("greet", 0.95), ("human_handoff", 0.97)],
                reason="explicit_request",
                texts=["hi", "I want to talk to a human"],
            ),
            "explicit_request",
            2,
            id="explicit",
        ),
    ],
)
def test_the_current_settings_reproduce_the_real_handover(
    stored: OutcomeRecord, reason: str, turn: int
) -> None:
    handover = handover_from(stored)

    replayed = replay(handover, CURRENT)

    assert (replayed.reason, replayed.turn) == (reason, turn)
    assert reproduced(handover, replayed)


def test_the_first_unclear_turn_is_clarified_not_handed_over() -> None:
    # One unclear turn and nothing after it: the bot asks, nobody is called.
    handover = handover_from(
        record(NEEDED, [("greet", 0.95), ("check_balance", 0.3)], texts=["hi", "$$"])
    )

    assert not replay(handover, CURRENT).hands_over
    assert replay(handover, CURRENT.changed(clarify_before_handover=False)).turn == 2


def test_a_lower_floor_loses_the_not_needed_handovers_and_keeps_the_needed() -> None:
    handovers = handovers_from(
        [
            unsure_balance(NOT_NEEDED, 0.45, 0.44),
            unsure_balance(NOT_NEEDED, 0.5, 0.47),
            unsure_balance(NEEDED, 0.3, 0.25),
        ]
    )

    changes = compare(handovers, CURRENT, floors(check_balance=0.44))

    assert [c.kind for c in changes] == [LOST, LOST, "same"]
    assert [c.verdict for c in changes] == [FIXED, FIXED, UNCHANGED]
    assert tally(changes, LOST) == [("low_confidence", "check_balance", 2)]


def test_a_floor_that_drops_a_needed_handover_breaks_it() -> None:
    [change] = compare(
        handovers_from([unsure_balance(NEEDED, 0.3, 0.25)]),
        CURRENT,
        floors(check_balance=0.2),
    )

    assert (change.kind, change.verdict) == (LOST, BROKEN)


def test_a_high_value_account_is_replayed_with_the_high_value_thresholds() -> None:
    # account_tier from the stored slots: no clarification, handed over at once.
    stored = record(
        NEEDED,
        [("greet", 0.95), ("check_balance", 0.6)],
        texts=["hi", "balance of my business account"],
        slots={"account_tier": "enterprise"},
    )

    replayed = replay(handover_from(stored), CURRENT)

    assert (replayed.reason, replayed.turn) == ("low_confidence", 2)


def test_a_late_handover_lists_which_trigger_at_which_setting_fires_earlier() -> None:
    options = earlier_settings(handover_from(late_frustration()), CURRENT)

    described = [o.describe() for o in options]
    assert "frustration at turn 2 with frustration_signals 2 -> 1" in described
    # A higher floor alone would only clarify on turn 2; without the
    # clarification it hands over there.
    assert (
        "low_confidence at turn 2 with confidence_floor of report_problem "
        "0.55 -> 0.59 and clarify_before_handover false"
    ) in described
    assert all(o.turn < 3 for o in options)


def test_a_higher_floor_on_the_turn_before_does_not_fix_a_late_handover() -> None:
    # What tune's "late -> earlier" rule proposes: with a clarification first,
    # the bot asks on turn 2, and the outburst on turn 3 still hands over.
    [change] = compare(
        handovers_from([late_frustration()]), CURRENT, floors(report_problem=0.59)
    )

    assert (change.kind, change.verdict) == ("same", UNCHANGED)


@pytest.fixture
def bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    history: List[OutcomeRecord] = [
        unsure_balance(NOT_NEEDED, 0.45 + i / 100, 0.44 + i / 100) for i in range(4)
    ]
    history += [unsure_balance(NEEDED, 0.3, 0.25), late_frustration()]
    asyncio.run(seed(f"sqlite:///{tmp_path / 'handover.db'}", history))
    return tmp_path


def test_replay_prints_what_tunes_proposal_would_change(
    bot: Path, capsys: pytest.CaptureFixture
) -> None:
    code = main(["replay", "--db", f"sqlite:///{bot / 'handover.db'}"])

    out = capsys.readouterr().out
    assert code == 0
    assert "Replayed 6 resolved handovers" in out
    assert "The current settings reproduce 6 of 6" in out
    assert "Handovers lost (the bot keeps the conversation): 4" in out
    assert "low_confidence     check_balance                4" in out
    assert "escalation_not_needed         4: 4 fixed, 0 broken, 0 unchanged" in out
    assert "escalation_needed             1: 0 fixed, 0 broken, 1 unchanged" in out
    assert "frustration at turn 2 with frustration_signals 2 -> 1" in out
    assert not (bot / "handover_tuning.yml").exists()


def test_tune_replay_prints_the_replay_before_the_diff(
    bot: Path, capsys: pytest.CaptureFixture
) -> None:
    code = main(["tune", "--replay", "--db", f"sqlite:///{bot / 'handover.db'}"])

    out = capsys.readouterr().out
    assert code == 0
    assert out.index("Replayed 6 resolved handovers") < out.index("+++")


def test_a_proposed_file_that_does_not_exist_says_how_to_fix_it(
    bot: Path, capsys: pytest.CaptureFixture
) -> None:
    code = main(
        ["replay", "--db", f"sqlite:///{bot / 'handover.db'}", "--proposed", "x.yml"]
    )

    assert code == 2
    assert "'x.yml': does not exist" in capsys.readouterr().out
