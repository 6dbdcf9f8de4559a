"""`rasa-handover calibrate` and the tuning file it writes."""

import argparse
import textwrap
from pathlib import Path

import pytest
import yaml

from rasa_handover import calibrate
from rasa_handover.calibrate import Prediction, choose_floor, choose_floors
from rasa_handover.settings import HandoverConfigError
from rasa_handover.tuning_file import (
    TunedValue,
    TuningFile,
    dump_tuning,
    load_tuning,
    parse_tuning,
)


def _predictions(intent, correct, wrong=()):
    return [Prediction(intent, intent, c) for c in correct] + [
        Prediction("other", intent, w) for w in wrong
    ]


def test_floor_keeps_the_share_of_correct_predictions():
    correct = [round(0.30 + 0.03 * i, 2) for i in range(20)]
    choice = choose_floor("check_balance", _predictions("check_balance", correct))
    # 95% of 20 is 19: every correct prediction but the lowest is kept.
    assert choice.floor == 0.33
    assert (choice.kept, choice.correct) == (19, 20)
    assert "keeps 95% (19/20)" in choice.reason
    assert "of correct check_balance predictions" in choice.reason


def test_floor_reports_the_wrong_predictions_it_catches():
    correct = [0.5, 0.52, 0.6, 0.7, 0.8, 0.9]
    choice = choose_floor(
        "cancel",
        _predictions("cancel", correct, wrong=[0.2, 0.3, 0.51, 0.6]),
        keep=0.8,
    )
    assert choice.floor == 0.52
    assert (choice.caught, choice.wrong) == (3, 4)
    assert "catches 75% (3/4) of wrong ones" in choice.reason


def test_floor_never_rises_above_the_configured_floor_unless_asked():
    correct = [0.9, 0.95, 0.97, 0.98, 0.99, 0.99]
    assert choose_floor("greet", _predictions("greet", correct)).floor == 0.55
    assert (
        choose_floor("greet", _predictions("greet", correct), max_floor=0.9).floor
        == 0.9
    )


def test_floor_stays_within_bounds():
    correct = [0.05, 0.06, 0.07, 0.08, 0.09, 0.1]
    assert choose_floor("chitchat", _predictions("chitchat", correct)).floor == 0.2


def test_too_few_correct_predictions_choose_no_floor():
    choice = choose_floor("rare", _predictions("rare", [0.4, 0.5]))
    assert choice.floor is None
    assert "fewer than 5" in choice.reason


def test_floors_are_deterministic_and_sorted():
    predictions = _predictions("b", [0.5] * 6) + _predictions("a", [0.4] * 6)
    first = choose_floors(predictions)
    assert [c.intent for c in first] == ["a", "b"]
    assert first == choose_floors(list(reversed(predictions)))


def test_calibration_keeps_values_written_by_tune():
    existing = TuningFile(
        {
            "a": {"confidence_floor": TunedValue(0.3, "tune", "agents said")},
            "b": {"confidence_floor": TunedValue(0.4, "calibrate", "old")},
            "c": {"confidence_floor": TunedValue(0.5, "calibrate", "gone")},
        }
    )
    predictions = _predictions("a", [0.5] * 6) + _predictions("b", [0.45] * 6)
    choices = choose_floors(predictions)
    merged = calibrate.merged_tuning(choices, existing)
    assert merged.value("a", "confidence_floor").by == "tune"
    assert merged.value("b", "confidence_floor").value == 0.45
    assert merged.value("c", "confidence_floor") is None


def test_tuning_file_round_trips(tmp_path: Path):
    tuning = TuningFile(
        {"check_balance": {"confidence_floor": TunedValue(0.41, "calibrate", "why")}}
    )
    path = tmp_path / "handover_tuning.yml"
    path.write_text(dump_tuning(tuning, "Written by a test\non two lines"), "utf-8")
    text = path.read_text("utf-8")
    assert text.startswith("# Written by a test\n# on two lines\nversion: 1\n")
    assert load_tuning(path).intents == tuning.intents


@pytest.mark.parametrize(
    "content, message",
    [
        pytest.param({"version": 2}, "version 2", id="future-version"),
        pytest.param({"intents": []}, "must map intent names", id="intents-list"),
        pytest.param(
            {"intents": {"a": {"confidence_floor": {"value": 1.5}}}},
            "from 0.2 to 0.9",
            id="out-of-bounds",
        ),
        pytest.param(
            {"intents": {"a": {"confidence_floor": 0.4}}},
            "must be a mapping with `value`",
            id="bare-number",
        ),
        pytest.param(
            {"intents": {"a": {"floor": {"value": 0.4}}}},
            "cannot set",
            id="unknown-setting",
        ),
        pytest.param(
            {"intents": {"a": {"repeat_limit": {"value": 2}}}},
            "cannot set",
            id="not-per-intent",
        ),
        pytest.param(
            {"intents": {"a": {"confidence_floor": {"value": 0.4, "by": "me"}}}},
            "the writers are",
            id="unknown-writer",
        ),
        pytest.param({"extra": 1}, "unknown keys", id="unknown-key"),
    ],
)
def test_bad_tuning_files_are_refused_with_the_fix(content, message):
    with pytest.raises(HandoverConfigError, match=message) as error:
        parse_tuning(content, "handover_tuning.yml")
    assert "docs/calibrate.md" in str(error.value)


def test_a_missing_tuning_file_says_how_to_write_it(tmp_path: Path):
    with pytest.raises(HandoverConfigError, match="rasa-handover calibrate"):
        load_tuning(tmp_path / "nope.yml")


def test_invalid_yaml_is_refused(tmp_path: Path):
    path = tmp_path / "t.yml"
    path.write_text("intents: [", "utf-8")
    with pytest.raises(HandoverConfigError, match="not valid YAML"):
        load_tuning(path)


@pytest.mark.integration
def test_calibrate_cross_validates_a_real_pipeline(tmp_path: Path, capsys):
    """Trains real NLU models (Rasa's own fold, training and test functions)."""
    config = tmp_path / "config.yml"
    config.write_text(
        textwrap.dedent(
            """
            recipe: default.v1
            language: en
            assistant_id: calibrate_test
            pipeline:
              - name: WhitespaceTokenizer
              - name: CountVectorsFeaturizer
              - name: LogisticRegressionClassifier
            policies:
              - name: rasa_handover.HandoverPolicy
                confidence_floor: 0.6
            """
        ),
        "utf-8",
    )
    words = {
        "check_balance": ["balance", "money left", "how much", "account total"],
        "track_order": ["where is my order", "parcel", "delivery", "tracking"],
        "greet": ["hello", "hi there", "good morning", "hey"],
    }
    examples = {
        intent: [f"{a} {b}" for a in phrases for b in ("please", "now", "today")]
        for intent, phrases in words.items()
    }
    nlu = {
        "version": "3.1",
        "nlu": [
            {"intent": intent, "examples": "".join(f"- {e}\n" for e in texts)}
            for intent, texts in examples.items()
        ],
    }
    (tmp_path / "nlu.yml").write_text(yaml.safe_dump(nlu, sort_keys=False), "utf-8")
    out = tmp_path / "handover_tuning.yml"
    args = argparse.Namespace(
        config=str(config),
        nlu=str(tmp_path / "nlu.yml"),
        out=str(out),
        folds=2,
        keep=0.9,
        min_correct=3,
        max_floor=None,
        seed=1,
        dry_run=False,
    )
    assert calibrate.run(args) == 0
    tuning = load_tuning(out)
    assert set(tuning.intents) <= set(words)
    assert tuning.intents, capsys.readouterr().out
    for settings in tuning.intents.values():
        value = settings["confidence_floor"]
        assert 0.2 <= value.value <= 0.6
        assert value.by == "calibrate"
        assert "of correct" in value.reason
    assert "Written by `rasa-handover calibrate`" in out.read_text("utf-8")


def test_a_tuning_file_sets_exactly_the_per_intent_thresholds() -> None:
    """One list of per-intent settings: the tuning file follows the table's."""
    from rasa_handover.tuning_file import TUNABLE_SETTINGS
    from rasa_handover.validation import OVERRIDABLE_KEYS

    assert set(TUNABLE_SETTINGS) == set(OVERRIDABLE_KEYS)


def test_calibrate_reads_the_nlu_of_a_bots_data_folder(tmp_path: Path) -> None:
    """`--nlu data/` as in docs/calibrate.md: the folder's rules.yml and
    stories.yml are not NLU data (Rasa's `load_data` raised "Unknown data
    format for file 'data/rules.yml'")."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "nlu.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n    - hello\n',
        "utf-8",
    )
    (data / "rules.yml").write_text(
        'version: "3.1"\nrules:\n- rule: greet\n  steps:\n  - intent: greet\n'
        "  - action: utter_greet\n",
        "utf-8",
    )
    examples = calibrate.load_nlu(data)
    assert sorted(m.get("text") for m in examples.intent_examples) == ["hello", "hi"]
