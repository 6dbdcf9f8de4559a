"""`rasa-handover evaluate`: metrics, the conversations file, the baseline, a real run.

The metric tests use small hand-made (gold, predicted) tables; the loader tests
check that every mistake in a labelled file is reported with the conversation
and how to fix it; one test runs three conversations through the session's real
model (tests/conftest.py).
"""

import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
import yaml

from rasa_handover.cli import main
from rasa_handover.constants import (
    ACTION_HANDOVER,
    ACTION_OFFER_HANDOVER,
    INTENT_NLU_FALLBACK,
    REASON_CODES,
    REASON_EXPLICIT_REQUEST,
    REASON_FRUSTRATION,
    REASON_LOW_CONFIDENCE,
    REASON_REGULATED_TOPIC,
    REASON_REPEAT_LOOP,
)
from rasa_handover.evaluation import (
    BASELINE_RULES_FILE,
    NONE_LABEL,
    REASON_OTHER,
    REASON_SOURCE_POLICY,
    ConversationFileError,
    EvaluationError,
    Outcome,
    RunSettings,
    check_slots,
    compute_metrics,
    evaluate_agent,
    fingerprint,
    format_report,
    infer_reason,
    load_conversations,
    metrics_for,
    parse_conversations,
    turn_matches,
)
from rasa_handover.evaluation import baseline_config as make_baseline_config
from rasa_handover.evaluation import baseline_rules as make_baseline_rules
from rasa_handover.settings import parse_settings

REPO = Path(__file__).resolve().parents[1]
SUPPORT_SET = REPO / "benchmarks" / "conversations" / "support.yml"
EXAMPLE_NLU = REPO / "example_bot" / "data" / "nlu.yml"

EXPLICIT = REASON_EXPLICIT_REQUEST
LOW = REASON_LOW_CONFIDENCE
LOOP = REASON_REPEAT_LOOP


def escalate(turn: int, reason: str) -> Outcome:
    return Outcome(escalate_at=turn, reason=reason)


NEVER = Outcome()


# --- Metrics on hand-made tables. --------------------------------------------


@pytest.mark.parametrize(
    "pairs, expected",
    [
        pytest.param(
            [(escalate(2, EXPLICIT), escalate(2, EXPLICIT)), (NEVER, NEVER)],
            {
                "accuracy_exact": 1.0,
                "accuracy_within_one_turn": 1.0,
                "accuracy_exact_with_reason": 1.0,
                "false_escalation_rate": 0.0,
                "missed": 0,
                "early": 0,
                "late": 0,
            },
            id="all-right",
        ),
        pytest.param(
            [(escalate(2, EXPLICIT), escalate(3, EXPLICIT))],
            {
                "accuracy_exact": 0.0,
                "accuracy_within_one_turn": 1.0,
                "late": 1,
                "mean_turns_late": 1.0,
                "early": 0,
                "mean_turns_early": None,
            },
            id="one-turn-late-counts-within-one",
        ),
        pytest.param(
            [(escalate(2, EXPLICIT), escalate(4, EXPLICIT))],
            {"accuracy_within_one_turn": 0.0, "late": 1, "mean_turns_late": 2.0},
            id="two-turns-late",
        ),
        pytest.param(
            [(escalate(3, REASON_FRUSTRATION), escalate(1, LOW))],
            {
                "accuracy_exact": 0.0,
                "accuracy_within_one_turn": 0.0,
                "early": 1,
                "mean_turns_early": 2.0,
            },
            id="early-is-never-tolerated",
        ),
        pytest.param(
            [(escalate(1, EXPLICIT), escalate(1, REASON_REGULATED_TOPIC))],
            {"accuracy_exact": 1.0, "accuracy_exact_with_reason": 0.0},
            id="right-turn-wrong-reason",
        ),
        pytest.param(
            [(NEVER, escalate(1, LOW)), (NEVER, NEVER), (NEVER, NEVER), (NEVER, NEVER)],
            {
                "false_escalation_rate": 0.25,
                "false_escalations": 1,
                "never_conversations": 4,
                "accuracy_exact": 0.75,
            },
            id="false-escalation",
        ),
        pytest.param(
            [(escalate(1, EXPLICIT), NEVER), (escalate(2, LOW), escalate(2, LOW))],
            {"missed": 1, "accuracy_exact": 0.5},
            id="missed",
        ),
        pytest.param(
            [
                (
                    Outcome(offer_at=2, reason=LOOP),
                    Outcome(offer_at=2, reason=LOOP),
                )
            ],
            {
                "accuracy_exact": 1.0,
                "false_escalation_rate": 0.0,
                "unneeded_offer_rate": None,
            },
            id="declined-offer-right",
        ),
        pytest.param(
            [
                (
                    Outcome(offer_at=2, reason=LOOP),
                    Outcome(offer_at=2, escalate_at=3, reason=LOOP),
                )
            ],
            {"accuracy_exact": 0.0, "false_escalation_rate": 1.0},
            id="declined-offer-handed-over-anyway",
        ),
        pytest.param(
            [
                (
                    Outcome(offer_at=2, escalate_at=3, reason=LOOP),
                    escalate(3, LOOP),
                )
            ],
            {"accuracy_exact": 0.0, "accuracy_within_one_turn": 0.0, "late": 1},
            id="handover-without-the-offer",
        ),
        pytest.param(
            [(NEVER, Outcome(offer_at=2, reason=LOOP)), (NEVER, NEVER)],
            {
                "unneeded_offer_rate": 0.5,
                "false_escalation_rate": 0.0,
                "accuracy_exact": 0.5,
            },
            id="unneeded-offer",
        ),
    ],
)
def test_headline_metrics(
    pairs: List[Tuple[Outcome, Outcome]], expected: Dict[str, Any]
) -> None:
    metrics = compute_metrics(pairs).to_dict()
    for key, value in expected.items():
        if value is None:
            assert metrics[key] is None, key
        else:
            assert metrics[key] == pytest.approx(value), key


def test_per_reason_precision_recall_f1() -> None:
    pairs = [
        (escalate(1, EXPLICIT), escalate(1, EXPLICIT)),
        (escalate(1, EXPLICIT), escalate(1, EXPLICIT)),
        (escalate(1, EXPLICIT), escalate(1, LOW)),
        (NEVER, escalate(2, EXPLICIT)),
        (escalate(2, LOW), NEVER),
    ]
    metrics = compute_metrics(pairs)
    explicit = metrics.per_reason[EXPLICIT]
    assert (explicit.support, explicit.predicted) == (3, 3)
    assert explicit.precision == pytest.approx(2 / 3)
    assert explicit.recall == pytest.approx(2 / 3)
    assert explicit.f1 == pytest.approx(2 / 3)
    low = metrics.per_reason[LOW]
    # One low_confidence prediction, on an explicit request: precision 0.
    assert (low.precision, low.recall, low.f1) == (0.0, 0.0, 0.0)
    # No gold and no prediction: undefined, not zero.
    frustration = metrics.per_reason[REASON_FRUSTRATION]
    assert (frustration.precision, frustration.recall, frustration.f1) == (
        None,
        None,
        None,
    )
    assert metrics.macro_f1 == pytest.approx((2 / 3 + 0.0) / 2)
    assert metrics.confusion == {
        EXPLICIT: {EXPLICIT: 2, LOW: 1},
        LOW: {NONE_LABEL: 1},
        NONE_LABEL: {EXPLICIT: 1},
    }


def test_per_gold_label_and_per_tag_accuracy() -> None:
    pairs = [
        (escalate(1, EXPLICIT), escalate(1, EXPLICIT)),
        (escalate(2, EXPLICIT), escalate(3, EXPLICIT)),
        (NEVER, escalate(1, LOW)),
    ]
    metrics = compute_metrics(pairs, [["polite"], ["polite", "typo"], []])
    assert metrics.per_gold_reason[EXPLICIT].conversations == 2
    assert metrics.per_gold_reason[EXPLICIT].exact == 0.5
    assert metrics.per_gold_reason[EXPLICIT].within_one_turn == 1.0
    assert metrics.per_gold_reason[NONE_LABEL].exact == 0.0
    assert metrics.per_tag["polite"].exact == 0.5
    assert metrics.per_tag["typo"].within_one_turn == 1.0


def test_an_unknown_reason_is_labelled_other() -> None:
    metrics = compute_metrics([(escalate(1, EXPLICIT), Outcome(escalate_at=1))])
    assert metrics.confusion == {EXPLICIT: {REASON_OTHER: 1}}
    assert metrics.accuracy_exact == 1.0 and metrics.accuracy_exact_with_reason == 0


@pytest.mark.parametrize(
    "gold, predicted, tolerance, matches",
    [
        pytest.param(None, None, 0, True, id="both-absent"),
        pytest.param(2, None, 1, False, id="missing"),
        pytest.param(None, 2, 1, False, id="unwanted"),
        pytest.param(2, 2, 0, True, id="same"),
        pytest.param(2, 3, 0, False, id="late-exact"),
        pytest.param(2, 3, 1, True, id="late-within-one"),
        pytest.param(2, 1, 1, False, id="early"),
    ],
)
def test_turn_matches(gold: Any, predicted: Any, tolerance: int, matches: bool) -> None:
    assert turn_matches(gold, predicted, tolerance) is matches


def test_metrics_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="at least one"):
        compute_metrics([])
    with pytest.raises(ValueError, match="tag lists"):
        compute_metrics([(NEVER, NEVER)], [[], []])


def test_report_shows_both_systems_side_by_side() -> None:
    policy = compute_metrics([(escalate(1, EXPLICIT), escalate(1, EXPLICIT))])
    baseline = compute_metrics([(escalate(1, EXPLICIT), NEVER)])
    report = format_report(
        {"handover_policy": policy, "baseline": baseline}, 1, agreement=1.0
    )
    assert "HandoverPolicy" in report and "FallbackClassifier + rules" in report
    accuracy = next(line for line in report.splitlines() if "exact turn)" in line)
    assert accuracy.split()[-2:] == ["1.000", "0.000"]
    assert "confusion, FallbackClassifier + rules" in report


# --- The conversations file. -------------------------------------------------


def one(**fields: Any) -> Dict[str, Any]:
    return {"id": "c1", "turns": ["hi", "agent please"], **fields}


@pytest.mark.parametrize(
    "data, message",
    [
        pytest.param(
            [one(escalate_at=2, reason="angry")],
            r"'c1'.*`reason` must be one of \['explicit_request'",
            id="bad-reason-code",
        ),
        pytest.param(
            [one(escalate_at=3, reason=EXPLICIT)],
            r"'c1'.*`escalate_at: 3` is beyond its 2 turn\(s\)",
            id="escalate-at-beyond-turns",
        ),
        pytest.param(
            [one(escalate_at=0, reason=EXPLICIT)],
            r"`escalate_at` must be a user turn number \(1-based\), got 0",
            id="escalate-at-zero",
        ),
        pytest.param(
            [one(escalate_at=True, reason=EXPLICIT)],
            r"`escalate_at` must be a user turn number",
            id="escalate-at-bool",
        ),
        pytest.param(
            [one(escalate_at=2)],
            r"`reason` must be one of",
            id="missing-reason",
        ),
        pytest.param(
            [one()],
            r"says nothing about the decision; add `escalate_at",
            id="no-decision",
        ),
        pytest.param(
            [one(escalate="never", escalate_at=2, reason=EXPLICIT)],
            r"both `escalate: never` and `escalate_at`",
            id="never-and-escalate-at",
        ),
        pytest.param(
            [one(escalate="later")],
            r"`escalate` only takes `never`",
            id="escalate-not-never",
        ),
        pytest.param(
            [one(escalate="never", reason=EXPLICIT)],
            r"never escalates has no `reason`",
            id="reason-on-never",
        ),
        pytest.param(
            [one(offer_at=1, reason=EXPLICIT)],
            r"only the repeat loop offers a person",
            id="offer-with-other-reason",
        ),
        pytest.param(
            [one(offer_at=2, escalate_at=1, reason=LOOP)],
            r"`escalate_at: 1` must come after `offer_at: 2`",
            id="escalation-before-offer",
        ),
        pytest.param(
            [one(escalate="never"), one(escalate="never")],
            r"reuses the id 'c1' of conversation #1",
            id="duplicate-id",
        ),
        pytest.param(
            [one(escalate="never", turn=3)],
            r"unknown keys \['turn'\]",
            id="unknown-key",
        ),
        pytest.param(
            [{"id": "c1", "turns": [], "escalate": "never"}],
            r"'c1'.*non-empty list of `turns`",
            id="no-turns",
        ),
        pytest.param(
            [{"id": "c1", "turns": [{"slots": {"a": 1}}], "escalate": "never"}],
            r"'c1'\), turn 1: needs a non-empty `text`",
            id="turn-without-text",
        ),
        pytest.param(
            [{"id": "c1", "turns": [{"text": "hi", "slots": ["vip"]}]}],
            r"turn 1: `slots` must be a mapping",
            id="slots-not-mapping",
        ),
        pytest.param(
            [{"turns": ["hi"], "escalate": "never"}],
            r"conversation #1: needs an `id`",
            id="no-id",
        ),
        pytest.param(
            {"version": 1}, r"non-empty list under `conversations:`", id="empty"
        ),
    ],
)
def test_loader_explains_mistakes(data: Any, message: str) -> None:
    with pytest.raises(ConversationFileError, match=message):
        parse_conversations(data, "file.yml")


def test_loader_reads_the_documented_format(tmp_path: Path) -> None:
    path = tmp_path / "conversations.yml"
    path.write_text(
        """
version: 1
conversations:
  - id: vip-loop
    tags: [high_value]
    note: debatable
    slots: {account_tier: vip}
    turns:
      - I forgot my password
      - text: still can't reset it
        slots: {refund_amount: 5}
        metadata: {channel: web}
    escalate_at: 2
    reason: repeat_loop
  - id: declined
    turns: [a, b, no thanks]
    offer_at: 2
    escalate: never
    reason: repeat_loop
  - id: offer-only
    turns: [a, b]
    offer_at: 2
    reason: repeat_loop
  - id: happy
    turns: [hi]
    escalate: never
""",
        encoding="utf-8",
    )
    vip, declined, offer_only, happy = load_conversations(path)
    assert vip.gold == Outcome(escalate_at=2, reason=LOOP)
    assert vip.turns[0].slots == {"account_tier": "vip"}
    assert vip.turns[1].slots == {"refund_amount": 5}
    assert vip.turns[1].metadata == {"channel": "web"}
    assert (vip.tags, vip.note) == (("high_value",), "debatable")
    assert declined.gold == Outcome(offer_at=2, reason=LOOP)
    assert offer_only.gold == declined.gold
    assert happy.gold == NEVER and happy.gold.label == NONE_LABEL


def test_loader_reports_yaml_errors(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("conversations: [\n", encoding="utf-8")
    with pytest.raises(ConversationFileError, match="not valid YAML"):
        load_conversations(path)
    with pytest.raises(ConversationFileError, match="cannot read it"):
        load_conversations(tmp_path / "missing.yml")


def test_cli_exits_2_with_the_loader_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump([one(escalate_at=9, reason=EXPLICIT)]))
    code = main(["evaluate", str(path), "--model", str(tmp_path / "model.tar.gz")])
    assert code == 2
    assert "is beyond its 2 turn(s)" in capsys.readouterr().err


# --- The labelled set shipped with the benchmarks. ---------------------------

SMALL_TALK_INTENTS = {"greet", "goodbye", "affirm", "deny", "thankyou"}


def _normalised(text: str) -> str:
    without_entities = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return " ".join(without_entities.lower().split())


def test_support_set_is_big_and_covers_every_reason() -> None:
    conversations = load_conversations(SUPPORT_SET)
    labels = [c.gold.label for c in conversations]
    assert len(conversations) >= 150
    assert labels.count(NONE_LABEL) >= 50
    for reason in REASON_CODES:
        assert labels.count(reason) >= 15, reason
    assert any(c.gold.offer_at and c.gold.escalate_at is None for c in conversations)
    assert sum("high_value" in c.tags for c in conversations) >= 10


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("support.yml", id="support"),
        pytest.param("support_heldout.yml", id="heldout"),
        pytest.param("support_third.yml", id="third"),
    ],
)
def test_labelled_sets_do_not_copy_training_examples(name: str) -> None:
    nlu = yaml.safe_load(EXAMPLE_NLU.read_text(encoding="utf-8"))["nlu"]
    examples = {
        _normalised(line[2:])
        for item in nlu
        if item.get("intent") and item["intent"] not in SMALL_TALK_INTENTS
        for line in item["examples"].splitlines()
        if line.startswith("- ")
    }
    copied = [
        (c.id, t.text)
        for c in load_conversations(SUPPORT_SET.parent / name)
        for t in c.turns
        if _normalised(t.text) in examples
    ]
    assert copied == []


# --- The baseline project. ---------------------------------------------------

CONFIG = {
    "recipe": "default.v1",
    "pipeline": [
        {"name": "WhitespaceTokenizer"},
        {"name": "LogisticRegressionClassifier"},
        {"name": "FallbackClassifier", "threshold": 0.3},
    ],
    "policies": [
        {"name": "MemoizationPolicy"},
        {"name": "rasa_handover.HandoverPolicy", "confidence_floor": 0.6},
    ],
}


def test_baseline_config_swaps_the_policy_for_fallback_classifier() -> None:
    baseline = make_baseline_config(CONFIG)
    assert baseline["pipeline"][-1] == {
        "name": "FallbackClassifier",
        "threshold": 0.6,
        "ambiguity_threshold": 0.1,
    }
    assert [p["name"] for p in baseline["pipeline"]].count("FallbackClassifier") == 1
    assert [p["name"] for p in baseline["policies"]] == [
        "MemoizationPolicy",
        "RulePolicy",
    ]
    # The original config is left alone.
    assert CONFIG["policies"][1]["name"] == "rasa_handover.HandoverPolicy"


def test_baseline_needs_a_handover_policy_to_compare_with() -> None:
    with pytest.raises(EvaluationError, match=r"no rasa_handover\.HandoverPolicy"):
        make_baseline_config({"pipeline": [], "policies": [{"name": "RulePolicy"}]})


def test_baseline_rules_hand_over_on_requests_and_nlu_fallback() -> None:
    rules = yaml.safe_load(make_baseline_rules(parse_settings({})))["rules"]
    assert [rule["steps"] for rule in rules] == [
        [{"intent": "human_handoff"}, {"action": ACTION_HANDOVER}],
        [{"intent": INTENT_NLU_FALLBACK}, {"action": ACTION_HANDOVER}],
    ]


def test_fingerprint_follows_file_contents(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "nlu.yml").write_text("a")
    first = fingerprint("config", [data], {BASELINE_RULES_FILE: "rules"})
    assert first == fingerprint("config", [data], {BASELINE_RULES_FILE: "rules"})
    (data / "nlu.yml").write_text("b")
    second = fingerprint("config", [data], {BASELINE_RULES_FILE: "rules"})
    assert second != first
    assert fingerprint("other config", [data], {BASELINE_RULES_FILE: "rules"}) != second
    assert fingerprint("config", [data], {BASELINE_RULES_FILE: "other"}) != second


@pytest.mark.parametrize(
    "intent, reason",
    [
        pytest.param(INTENT_NLU_FALLBACK, LOW, id="nlu-fallback"),
        pytest.param("human_handoff", EXPLICIT, id="explicit"),
        pytest.param("ask_medical_advice", REASON_REGULATED_TOPIC, id="regulated"),
        pytest.param("ask_invoice", REASON_OTHER, id="other"),
    ],
)
def test_infer_reason(intent: str, reason: str) -> None:
    settings = RunSettings(
        ACTION_HANDOVER,
        ACTION_OFFER_HANDOVER,
        frozenset({"human_handoff"}),
        frozenset({"ask_medical_advice"}),
    )
    assert infer_reason(intent, settings) == reason


# --- One small real run (the session's trained model). -----------------------

REAL_RUN = """
conversations:
  - id: explicit
    turns: ["hi", "I want to talk to a human", "hello?"]
    escalate_at: 2
    reason: explicit_request
  - id: declined-offer
    turns: ["how do I reset my password", "how do I reset my password", "no thanks"]
    offer_at: 2
    escalate: never
    reason: repeat_loop
  - id: vip-one-signal
    slots: {account_tier: vip}
    turns: ["where is my invoice", "this is ridiculous, where is my invoice"]
    escalate_at: 2
    reason: frustration
"""


@pytest.mark.integration
async def test_real_run_on_three_conversations(agent: Any) -> None:
    conversations = parse_conversations(yaml.safe_load(REAL_RUN))
    settings = RunSettings.from_settings(
        parse_settings({}), frozenset({"ask_medical_advice", "request_refund"})
    )
    results = await evaluate_agent(agent, conversations, settings)

    explicit, declined, vip = results
    assert explicit.predicted == escalate(2, EXPLICIT)
    # The run stops at the first handover: "hello?" is never sent.
    assert [t.text for t in explicit.turns] == ["hi", "I want to talk to a human"]
    assert explicit.policy == "HandoverPolicy"
    assert explicit.reason_source == REASON_SOURCE_POLICY
    assert explicit.evidence["intent"] == "human_handoff"
    assert explicit.turns[1].actions[0] == (ACTION_HANDOVER, "HandoverPolicy")
    assert explicit.turns[1].intent == "human_handoff"

    assert declined.predicted == Outcome(offer_at=2, reason=LOOP)
    assert len(declined.turns) == 3
    assert declined.turns[2].actions[0][0].startswith("utter_")

    assert vip.predicted == escalate(2, REASON_FRUSTRATION)
    assert vip.evidence["high_value"] is True

    metrics = metrics_for(conversations, results)
    assert metrics.accuracy_exact == 1.0
    assert metrics.false_escalation_rate == 0.0
    assert metrics.per_reason[LOOP].recall == 1.0


@pytest.mark.integration
def test_unknown_slots_are_named_before_running(agent: Any) -> None:
    conversations = parse_conversations(
        [
            {
                "id": "c1",
                "turns": [{"text": "hi", "slots": {"tier": "vip"}}],
                "escalate": "never",
            }
        ]
    )
    with pytest.raises(EvaluationError, match=r"'tier' in \['c1'\]"):
        check_slots(agent, conversations)


# --- The clarify step (`clarify_at`). ----------------------------------------


@pytest.mark.parametrize(
    "pairs, expected",
    [
        pytest.param(
            [(Outcome(clarify_at=1, reason=LOW), Outcome(clarify_at=1))],
            {"accuracy_exact": 1.0, "clarify_accuracy": 1.0, "never_conversations": 0},
            id="asked-where-gold-asks",
        ),
        pytest.param(
            [(Outcome(clarify_at=1, reason=LOW), Outcome(escalate_at=1, reason=LOW))],
            {"accuracy_exact": 0.0, "clarify_accuracy": 0.0, "false_escalations": 0},
            id="handed-over-instead-of-asking",
        ),
        pytest.param(
            [(Outcome(), Outcome(clarify_at=2, reason=LOW))],
            {"accuracy_exact": 0.0, "unneeded_clarifications": 1},
            id="wasted-question-on-a-happy-conversation",
        ),
        pytest.param(
            [
                (
                    Outcome(escalate_at=2, reason="frustration"),
                    Outcome(clarify_at=1, escalate_at=2, reason="frustration"),
                )
            ],
            {"accuracy_exact_with_reason": 1.0, "unneeded_clarifications": 0},
            id="a-question-on-the-way-to-another-trigger-is-not-held-against-it",
        ),
        pytest.param(
            [(Outcome(clarify_at=1), Outcome(clarify_at=1, escalate_at=2, reason=LOW))],
            {"false_escalation_rate": 1.0, "accuracy_exact": 0.0},
            id="rephrased-but-handed-over",
        ),
    ],
)
def test_clarify_metrics(
    pairs: List[Tuple[Outcome, Outcome]], expected: Dict[str, Any]
) -> None:
    metrics = compute_metrics(pairs).to_dict()
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value), key


@pytest.mark.parametrize(
    "gold, expected",
    [
        pytest.param(
            {"clarify_at": 1, "reason": "low_confidence"},
            Outcome(clarify_at=1, reason="low_confidence"),
            id="clarify-only",
        ),
        pytest.param(
            {"clarify_at": 1, "escalate": "never"},
            Outcome(clarify_at=1),
            id="clarify-then-rephrased",
        ),
        pytest.param(
            {"clarify_at": 1, "escalate_at": 2, "reason": "low_confidence"},
            Outcome(clarify_at=1, escalate_at=2, reason="low_confidence"),
            id="clarify-then-handover",
        ),
    ],
)
def test_loader_reads_clarify_at(gold: Dict[str, Any], expected: Outcome) -> None:
    raw = {"id": "c", "turns": ["blorp", "wibble"], **gold}
    assert parse_conversations([raw])[0].gold == expected


@pytest.mark.parametrize(
    "gold, message",
    [
        pytest.param(
            {"clarify_at": 2, "escalate_at": 2, "reason": "low_confidence"},
            "must come after `clarify_at: 2`",
            id="handover-before-question",
        ),
        pytest.param(
            {"clarify_at": 1, "reason": "frustration"},
            "only clarifies has the reason `low_confidence`",
            id="clarify-only-other-reason",
        ),
        pytest.param({"clarify_at": 3, "escalate": "never"}, "beyond", id="too-late"),
    ],
)
def test_loader_explains_clarify_mistakes(gold: Dict[str, Any], message: str) -> None:
    raw = {"id": "c", "turns": ["blorp", "wibble"], **gold}
    with pytest.raises(ConversationFileError, match=message):
        parse_conversations([raw])


def test_heldout_set_loads_and_is_reported_apart() -> None:
    heldout = load_conversations(SUPPORT_SET.parent / "support_heldout.yml")
    assert len(heldout) >= 70
    assert sum(c.gold.clarify_at is not None for c in heldout) >= 15
    assert not {c.id for c in heldout} & {c.id for c in load_conversations(SUPPORT_SET)}


def test_third_set_loads_and_is_reported_apart() -> None:
    third = load_conversations(SUPPORT_SET.parent / "support_third.yml")
    assert len(third) >= 60
    others = load_conversations(SUPPORT_SET) + load_conversations(
        SUPPORT_SET.parent / "support_heldout.yml"
    )
    assert not {c.id for c in third} & {c.id for c in others}


def test_baseline_rules_hand_over_unconditional_regulated_intents_too() -> None:
    rules = yaml.safe_load(
        make_baseline_rules(parse_settings({}), ["ask_legal_advice"])
    )["rules"]
    assert rules[-1]["steps"] == [
        {"intent": "ask_legal_advice"},
        {"action": ACTION_HANDOVER},
    ]


def test_the_example_bots_unconditional_regulated_intents() -> None:
    from rasa_handover.evaluation.baseline import unconditional_regulated_intents

    domain = EXAMPLE_NLU.parent.parent / "domain"
    assert unconditional_regulated_intents(domain) == [
        "ask_legal_advice",
        "ask_medical_advice",
    ]
