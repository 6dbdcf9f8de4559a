"""`rasa-handover export` on a real inbox database, read back by Rasa's loaders."""

import asyncio
from pathlib import Path
from typing import List

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from rasa_handover.cli import main
from tests.feedback.history import NEEDED, NOT_NEEDED, record, seed

DOMAIN = """
version: "3.1"
intents: [greet, check_balance, request_refund]
"""


@pytest.fixture
def bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "domain.yml").write_text(DOMAIN)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def corrected(intent: str, text: str, outcome: str = NOT_NEEDED) -> object:
    item = record(outcome, [("greet", 0.9), ("check_balance", 0.4)], corrected=intent)
    item.payload["intent_history"][-1]["text"] = text
    return item


def examples(path: Path) -> List[tuple]:
    data = load_data(str(path))
    return sorted(
        (m.get("intent"), m.get("text"), m.get("entities"))
        for m in data.intent_examples
    )


def test_corrected_intents_become_nlu_examples_once(
    bot: Path, capsys: pytest.CaptureFixture
) -> None:
    db = f"sqlite:///{bot / 'handover.db'}"
    asyncio.run(
        seed(
            db,
            [
                corrected("request_refund", "where is my money back"),
                corrected(
                    "request_refund", "card [redacted][redacted] refund?", NEEDED
                ),
                corrected("check_balance", "how much is left"),  # Not a correction.
                corrected("astrology", "what is my star sign"),  # Not in the domain.
                corrected("request_refund", "[redacted]"),  # Nothing left to learn.
            ],
        )
    )

    assert main(["export", "--db", db]) == 0
    nlu = bot / "data" / "handover_feedback_nlu.yml"
    first = nlu.read_text()
    assert main(["export", "--db", db]) == 0

    assert examples(nlu) == [
        ("request_refund", "card [redacted] [redacted] refund?", None),
        ("request_refund", "where is my money back", None),
    ]
    assert nlu.read_text() == first  # Nothing exported twice.
    out = capsys.readouterr().out
    assert "2 new in data/handover_feedback_nlu.yml" in out
    assert "0 new in data/handover_feedback_nlu.yml, 2 already there" in out
    assert "Left out (not intents of the domain): astrology." in out
