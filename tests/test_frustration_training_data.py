"""The support messages the learned frustration signal is trained on.

`scripts/training_data/support_messages.yml` is read by
`scripts/train_frustration_model.py` beside GoEmotions. A training message
that is also an evaluation text would make the benchmarks measure memory
instead of the model, so none may be.
"""

import ast
import re
from pathlib import Path
from typing import Iterator, List

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
TRAINING = REPO / "scripts" / "training_data" / "support_messages.yml"
EVALUATION_SETS = sorted((REPO / "benchmarks" / "data").glob("*.yml"))
CONVERSATIONS = sorted((REPO / "benchmarks" / "conversations").glob("*.yml"))


def normalised(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def training_rows() -> List[dict]:
    return yaml.safe_load(TRAINING.read_text(encoding="utf-8"))


def evaluation_texts() -> Iterator[str]:
    for path in EVALUATION_SETS:
        for row in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            if isinstance(row, dict) and "text" in row:
                yield str(row["text"])
    for path in CONVERSATIONS:
        for conversation in yaml.safe_load(path.read_text(encoding="utf-8"))[
            "conversations"
        ]:
            for turn in conversation["turns"]:
                yield turn if isinstance(turn, str) else str(turn.get("text", ""))


def test_every_training_message_has_a_text_and_a_label() -> None:
    rows = training_rows()
    assert len(rows) > 2000
    for row in rows:
        assert set(row) == {"text", "frustrated"}, row
        assert isinstance(row["text"], str) and row["text"].strip()
        assert isinstance(row["frustrated"], bool)
    frustrated = sum(row["frustrated"] for row in rows)
    assert 0.2 < frustrated / len(rows) < 0.5


def test_no_training_message_is_an_evaluation_text() -> None:
    evaluation = {normalised(text) for text in evaluation_texts()}
    assert len(evaluation) > 1000, "the evaluation sets were not found"
    shared = [
        row["text"] for row in training_rows() if normalised(row["text"]) in evaluation
    ]
    assert shared == []


def test_no_training_message_is_a_string_of_the_tests() -> None:
    """A test of the model must not read its own training data."""
    literals = {
        normalised(node.value)
        for path in (REPO / "tests").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    } - {""}
    shared = [
        row["text"] for row in training_rows() if normalised(row["text"]) in literals
    ]
    assert shared == []


def test_training_messages_do_not_repeat() -> None:
    texts = [normalised(row["text"]) for row in training_rows()]
    assert len(texts) == len(set(texts))


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, id=p.name) for p in EVALUATION_SETS if "frustration" in p.name],
)
def test_the_frustration_sets_are_not_training_data(path: Path) -> None:
    """The trainer reads only its own file and the dev set it chooses on."""
    script = (REPO / "scripts" / "train_frustration_model.py").read_text("utf-8")
    if path.name == "support_frustration.yml":
        assert path.name in script  # the dev set: chooses, never fits
    else:
        assert path.name not in script
