"""`rasa-handover tune` end to end on a real inbox database (SQLite file).

The outcomes are written through the inbox store as agents' resolutions are;
the command reads them, prints the explained diff, writes nothing without
`--write`, and the policy's thresholds table reads the file it writes.
"""

import argparse
import asyncio
from pathlib import Path
from typing import List

import pytest

from rasa_handover.cli import main
from rasa_handover.feedback.tune_command import add_arguments, read_inputs
from rasa_handover.settings import parse_settings
from rasa_handover.thresholds import SOURCE_TUNING, Thresholds
from rasa_handover.tuning_file import load_tuning
from tests.feedback.history import NEEDED, NOT_NEEDED, low_confidence, seed

CONFIG = """
policies:
  - name: rasa_handover.HandoverPolicy
    confidence_floor: 0.55
    tuning_file: handover_tuning.yml
"""


@pytest.fixture
def bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "config.yml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    db = f"sqlite:///{tmp_path / 'handover.db'}"
    history = low_confidence(
        "check_balance", [(NOT_NEEDED, c) for c in (0.42, 0.45, 0.5, 0.47)]
    ) + low_confidence("check_balance", [(NEEDED, 0.2)])
    asyncio.run(seed(db, history))
    return tmp_path


def test_a_dry_run_prints_the_explained_diff_and_writes_nothing(
    bot: Path, capsys: pytest.CaptureFixture
) -> None:
    code = main(["tune", "--db", f"sqlite:///{bot / 'handover.db'}"])

    out = capsys.readouterr().out
    assert code == 0
    assert "Read 5 resolved handovers: 5 labelled" in out
    assert "check_balance  confidence_floor 0.55 -> 0.42" in out
    assert "because 4 of 5 labelled low_confidence handovers" in out
    assert "+      value: 0.42" in out
    assert "Dry run: nothing written" in out
    assert not (bot / "handover_tuning.yml").exists()


def test_write_writes_the_file_the_policy_reads_and_a_second_run_changes_nothing(
    bot: Path, capsys: pytest.CaptureFixture
) -> None:
    db = f"sqlite:///{bot / 'handover.db'}"

    assert main(["tune", "--db", db, "--write"]) == 0
    written = (bot / "handover_tuning.yml").read_text()
    assert main(["tune", "--db", db, "--write"]) == 0

    out = capsys.readouterr().out
    assert "Wrote handover_tuning.yml" in out
    assert out.rstrip().endswith("No change to handover_tuning.yml.")
    assert (bot / "handover_tuning.yml").read_text() == written
    tuning = load_tuning(bot / "handover_tuning.yml")
    table = Thresholds.build(parse_settings({}), {}, tuning.thresholds())
    row = table.for_intent("check_balance", high_value=False)
    assert (row.confidence_floor, row.sources["confidence_floor"]) == (
        0.42,
        SOURCE_TUNING,
    )


@pytest.mark.parametrize(
    "args, message",
    [
        pytest.param(["--min-labelled", "0"], "--min-labelled", id="min"),
        pytest.param(["--max-step", "2"], "--max-step", id="step"),
        pytest.param(["--since", "last week"], "not a date", id="since"),
        pytest.param(["--domain", "nowhere"], "not found", id="domain"),
        pytest.param(["--db", "mysql://x/y"], "unsupported database", id="db"),
    ],
)
def test_bad_options_say_what_to_fix(
    bot: Path, capsys: pytest.CaptureFixture, args: List[str], message: str
) -> None:
    code = main(["tune", *args])

    assert code == 2
    assert message in capsys.readouterr().out


def test_the_inputs_read_the_bots_languages_from_the_domain(bot: Path) -> None:
    """`tune` and `replay` decide as the policy does: `bot_languages: auto`."""
    (bot / "domain.yml").write_text(
        'version: "3.1"\n'
        "responses:\n"
        "  utter_greet:\n"
        '    - text: "Bonjour ! Que puis-je faire pour vous ?"\n'
        "  utter_bye:\n"
        '    - text: "Merci et à bientôt, bonne journée à vous."\n'
    )
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--db", f"sqlite:///{bot / 'handover.db'}"])
    inputs = read_inputs(args, "tune")
    assert not isinstance(inputs, int)
    assert inputs.settings.bot_languages == ("fr",)
