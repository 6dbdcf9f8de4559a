"""HandoverPolicy as a Rasa graph component and inside Rasa's policy ensemble."""

from pathlib import Path
from typing import List, Optional

import pytest
from rasa.core.constants import RULE_POLICY_PRIORITY
from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain, InvalidDomain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    Event,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import InvalidConfigException

from rasa_handover import HandoverPolicy
from rasa_handover.constants import (
    ACTION_CLARIFY,
    ACTION_HANDBACK,
    ACTION_HANDOVER,
    ACTION_LISTEN,
    ACTION_OFFER_HANDOVER,
    REASON_EXPLICIT_REQUEST,
    REASON_LOW_CONFIDENCE,
    REASON_REGULATED_TOPIC,
    SLOT_HANDOVER_ACTIVE,
    SLOT_HANDOVER_EVIDENCE,
    SLOT_HANDOVER_OFFERED,
    SLOT_HANDOVER_REASON,
    SLOT_HANDOVER_TURN,
)
from rasa_handover.policy import HANDOVER_POLICY_PRIORITY, PERSISTED_FILE
from tests.conftest import TEST_DOMAIN

DOMAIN = Domain.from_yaml(TEST_DOMAIN)


def create(
    tmp_path: Path, config: Optional[dict] = None, name: str = "handover"
) -> HandoverPolicy:
    return HandoverPolicy.create(
        {**HandoverPolicy.get_default_config(), **(config or {})},
        LocalModelStorage(tmp_path),
        Resource(name),
        ExecutionContext(GraphSchema({}), "test"),
    )


def user(
    text: str, intent: str, confidence: float = 0.95, entities: Optional[list] = None
) -> List[Event]:
    return [
        ActionExecuted(ACTION_LISTEN),
        UserUttered(
            text,
            {"name": intent, "confidence": confidence},
            entities=entities or [],
            parse_data={"intent_ranking": [{"name": intent, "confidence": confidence}]},
        ),
    ]


def tracker(*events: Event) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("test", list(events), DOMAIN.slots)


def predicted(prediction: PolicyPrediction, domain: Domain = DOMAIN) -> Optional[str]:
    if max(prediction.probabilities) == 0:
        return None
    return domain.action_names_or_texts[prediction.max_confidence_index]


def slots_set(prediction: PolicyPrediction) -> dict:
    return {
        e.key: e.value for e in prediction.optional_events if isinstance(e, SlotSet)
    }


@pytest.fixture
def trained_policy(tmp_path: Path) -> HandoverPolicy:
    policy = create(tmp_path)
    policy.train([], DOMAIN)
    return policy


def test_priority_is_above_rule_policy() -> None:
    assert HandoverPolicy.get_default_config()["priority"] == HANDOVER_POLICY_PRIORITY
    assert HANDOVER_POLICY_PRIORITY > RULE_POLICY_PRIORITY


def train_and_load(
    tmp_path: Path, domain: Domain, **settings: object
) -> HandoverPolicy:
    """Trains a policy on `domain`, then loads it back from its model storage."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    storage = LocalModelStorage(tmp_path)
    resource = Resource("handover")
    context = ExecutionContext(GraphSchema({}), "test")
    config = {**HandoverPolicy.get_default_config(), **settings}
    HandoverPolicy.create(config, storage, resource, context).train([], domain)
    with storage.read_from(resource) as directory:
        assert (directory / PERSISTED_FILE).exists()
    return HandoverPolicy.load(config, storage, resource, context)


def test_trains_persists_and_loads_through_model_storage(tmp_path: Path) -> None:
    loaded = train_and_load(tmp_path, DOMAIN)
    # The regulated declaration came from the persisted domain, not from
    # the `domain` argument: predicting with an empty domain's declarations
    # would not know `ask_medical_advice` is regulated.
    assert loaded.thresholds.declarations["ask_medical_advice"].regulated
    prediction = loaded.predict_action_probabilities(
        tracker(*user("is it safe with epilepsy", "ask_medical_advice")), DOMAIN
    )
    assert predicted(prediction) == ACTION_HANDOVER
    assert slots_set(prediction)[SLOT_HANDOVER_REASON] == REASON_REGULATED_TOPIC


def test_a_domain_floor_survives_loading_and_its_source_reaches_the_evidence(
    tmp_path: Path,
) -> None:
    domain = Domain.from_yaml(
        TEST_DOMAIN.replace(
            "  - ask_invoice\n",
            "  - ask_invoice:\n      handover_confidence_floor: 0.8\n",
        )
    )
    loaded = train_and_load(tmp_path, domain)
    prediction = loaded.predict_action_probabilities(
        tracker(*user("invoice?", "ask_invoice", confidence=0.75)), domain
    )
    # The first unclear turn gets the clarifying question, with the evidence.
    assert predicted(prediction, domain) == ACTION_CLARIFY
    evidence = slots_set(prediction)[SLOT_HANDOVER_EVIDENCE]
    assert evidence["confidence_floor"] == 0.8
    assert evidence["confidence_floor_source"] == "domain.yml"


def test_loading_without_persisted_file_warns_and_still_works(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path)
    with pytest.warns(UserWarning, match="Retrain the model"):
        policy = HandoverPolicy.load(
            HandoverPolicy.get_default_config(),
            storage,
            Resource("never_trained"),
            ExecutionContext(GraphSchema({}), "test"),
        )
    prediction = policy.predict_action_probabilities(
        tracker(*user("talk to a human", "human_handoff")), DOMAIN
    )
    assert predicted(prediction) == ACTION_HANDOVER


def test_fired_trigger_predicts_with_confidence_one_and_sets_decision_slots(
    trained_policy: HandoverPolicy,
) -> None:
    prediction = trained_policy.predict_action_probabilities(
        tracker(
            *user("hi", "greet"),
            ActionExecuted("utter_greet"),
            *user("I want to talk to a human", "human_handoff"),
        ),
        DOMAIN,
    )
    assert predicted(prediction) == ACTION_HANDOVER
    assert prediction.max_confidence == 1.0
    assert prediction.policy_name == "HandoverPolicy"
    slots = slots_set(prediction)
    assert slots[SLOT_HANDOVER_REASON] == REASON_EXPLICIT_REQUEST
    assert slots[SLOT_HANDOVER_TURN] == 2
    assert slots[SLOT_HANDOVER_EVIDENCE]["intent"] == "human_handoff"
    # Decision slots are only applied if this prediction wins.
    assert not prediction.events


def test_abstains_with_all_zeros_when_nothing_fires(
    trained_policy: HandoverPolicy,
) -> None:
    prediction = trained_policy.predict_action_probabilities(
        tracker(*user("where is my invoice", "ask_invoice")), DOMAIN
    )
    assert predicted(prediction) is None
    assert not prediction.optional_events


@pytest.mark.parametrize(
    "own_action",
    [
        pytest.param(ACTION_HANDOVER, id="after-handover"),
        pytest.param(ACTION_OFFER_HANDOVER, id="after-offer"),
        pytest.param(ACTION_HANDBACK, id="after-handback"),
    ],
)
def test_listens_after_its_own_actions(
    trained_policy: HandoverPolicy, own_action: str
) -> None:
    prediction = trained_policy.predict_action_probabilities(
        tracker(*user("agent", "human_handoff"), ActionExecuted(own_action)), DOMAIN
    )
    assert predicted(prediction) == ACTION_LISTEN
    assert prediction.max_confidence == 1.0


def test_bot_stays_silent_while_a_human_owns_the_conversation(
    trained_policy: HandoverPolicy,
) -> None:
    prediction = trained_policy.predict_action_probabilities(
        tracker(
            SlotSet(SLOT_HANDOVER_ACTIVE, True),
            *user("hello? where is my invoice", "ask_invoice"),
        ),
        DOMAIN,
    )
    assert predicted(prediction) == ACTION_LISTEN
    assert not prediction.optional_events


def test_resolved_handover_is_handed_back(trained_policy: HandoverPolicy) -> None:
    prediction = trained_policy.predict_action_probabilities(
        tracker(
            SlotSet(SLOT_HANDOVER_ACTIVE, True),
            *user("/handover_resolved", "handover_resolved", 1.0),
        ),
        DOMAIN,
    )
    assert predicted(prediction) == ACTION_HANDBACK


def test_offer_marks_the_conversation_as_offered(
    trained_policy: HandoverPolicy,
) -> None:
    prediction = trained_policy.predict_action_probabilities(
        tracker(
            *user("reset password", "reset_password"),
            ActionExecuted("utter_reset_password"),
            *user("how do I reset my password", "reset_password"),
        ),
        DOMAIN,
    )
    assert predicted(prediction) == ACTION_OFFER_HANDOVER
    assert slots_set(prediction)[SLOT_HANDOVER_OFFERED] is True


def test_handover_ends_an_active_form(trained_policy: HandoverPolicy) -> None:
    prediction = trained_policy.predict_action_probabilities(
        tracker(
            ActiveLoop("refund_form"),
            *user("agent please", "human_handoff"),
        ),
        DOMAIN,
    )
    assert predicted(prediction) == ACTION_HANDOVER
    assert ActiveLoop(None) in prediction.optional_events


@pytest.mark.parametrize(
    "intent",
    [
        pytest.param("restart", id="restart"),
        pytest.param("session_start", id="session"),
    ],
)
def test_rasa_control_intents_are_left_to_rasa(
    trained_policy: HandoverPolicy, intent: str
) -> None:
    prediction = trained_policy.predict_action_probabilities(
        tracker(SlotSet(SLOT_HANDOVER_ACTIVE, True), *user(f"/{intent}", intent, 1.0)),
        DOMAIN,
    )
    assert predicted(prediction) is None


def test_handover_wins_over_a_forms_happy_path_and_end_to_end_rules(
    trained_policy: HandoverPolicy,
) -> None:
    """Rasa's own ensemble picks our prediction over the ones it ranks first."""
    t = tracker(ActiveLoop("refund_form"), *user("agent please", "human_handoff"))
    ours = trained_policy.predict_action_probabilities(t, DOMAIN)
    loop = PolicyPrediction(
        [0.0] * len(DOMAIN.action_names_or_texts),
        "RulePolicy",
        RULE_POLICY_PRIORITY,
        is_no_user_prediction=True,
    )
    loop.probabilities[0] = 1.0
    e2e = PolicyPrediction(
        [0.0] * len(DOMAIN.action_names_or_texts),
        "TEDPolicy",
        1,
        is_end_to_end_prediction=True,
    )
    e2e.probabilities[1] = 1.0
    best = DefaultPolicyPredictionEnsemble().combine_predictions(
        [loop, e2e, ours], t, DOMAIN
    )
    assert best.policy_name == "HandoverPolicy"
    assert predicted(best) == ACTION_HANDOVER


# --- Bad config / domain: Rasa exceptions at training time. --------------------


@pytest.mark.parametrize(
    "config, message",
    [
        pytest.param({"confidence_floor": 2}, "outside the range 0 to 1", id="floor"),
        pytest.param({"frustration_window": "3"}, "whole number", id="window-text"),
        pytest.param({"confidnce_floor": 0.5}, "unknown settings", id="typo"),
    ],
)
def test_bad_config_is_an_invalid_config_exception(
    tmp_path: Path, config: dict, message: str
) -> None:
    with pytest.raises(InvalidConfigException, match=message):
        create(tmp_path, config)


def test_missing_slots_fail_training_with_a_copy_paste_fix(tmp_path: Path) -> None:
    domain = Domain.from_yaml(
        """
version: "3.1"
intents: [greet, human_handoff]
actions: [action_handover, action_offer_handover]
"""
    )
    with pytest.raises(InvalidDomain) as error:
        create(tmp_path).train([], domain)
    assert "handover_active" in str(error.value)
    assert "mappings: [{type: custom}]" in str(error.value)


def test_missing_actions_fail_training(tmp_path: Path) -> None:
    without_actions = TEST_DOMAIN.replace(
        "actions:\n  - action_handover\n  - action_offer_handover\n", "actions:\n"
    )
    with pytest.raises(InvalidDomain, match="action_handover"):
        create(tmp_path).train([], Domain.from_yaml(without_actions))


def test_malformed_regulated_declaration_fails_training(tmp_path: Path) -> None:
    bad = TEST_DOMAIN.replace("above: 100", "above: lots")
    with pytest.raises(InvalidDomain, match="request_refund"):
        create(tmp_path).train([], Domain.from_yaml(bad))


def test_override_for_unknown_intent_fails_training(tmp_path: Path) -> None:
    policy = create(
        tmp_path,
        {"intent_overrides": {"cancel_subscripton": {"confidence_floor": 0.7}}},
    )
    with pytest.raises(InvalidConfigException, match="cancel_subscripton"):
        policy.train([], DOMAIN)


# --- Clarify before handing over, and the tuning file. ------------------------


def test_first_unclear_turn_asks_and_the_next_unclear_one_hands_over(
    trained_policy: HandoverPolicy,
) -> None:
    first = tracker(*user("blorp the thing", "ask_invoice", confidence=0.3))
    prediction = trained_policy.predict_action_probabilities(first, DOMAIN)
    assert predicted(prediction) == ACTION_CLARIFY
    assert slots_set(prediction)[SLOT_HANDOVER_REASON] == REASON_LOW_CONFIDENCE
    # The bot listens after its question ...
    asked = tracker(*first.events, ActionExecuted(ACTION_CLARIFY))
    listening = trained_policy.predict_action_probabilities(asked, DOMAIN)
    assert predicted(listening) == ACTION_LISTEN
    # ... and hands over when the answer is unclear too.
    again = tracker(
        *asked.events, *user("the wibble wobbles", "ask_invoice", confidence=0.2)
    )
    handover = trained_policy.predict_action_probabilities(again, DOMAIN)
    assert predicted(handover) == ACTION_HANDOVER
    assert slots_set(handover)[SLOT_HANDOVER_EVIDENCE]["clarified"]["turn"] == 1


def test_clarifying_keeps_an_active_form(trained_policy: HandoverPolicy) -> None:
    in_form = tracker(
        ActiveLoop("refund_form"), *user("blorp", "ask_invoice", confidence=0.3)
    )
    prediction = trained_policy.predict_action_probabilities(in_form, DOMAIN)
    assert predicted(prediction) == ACTION_CLARIFY
    assert not any(isinstance(e, ActiveLoop) for e in prediction.optional_events)


def test_a_domain_without_the_clarify_action_fails_training(tmp_path: Path) -> None:
    domain = Domain.from_yaml(TEST_DOMAIN.replace("  - action_handover_clarify\n", ""))
    with pytest.raises(InvalidDomain, match="clarify_before_handover: false"):
        create(tmp_path).train([], domain)
    # ... unless the bot opts out of asking first.
    create(tmp_path, {"clarify_before_handover": False}).train([], domain)


TUNING = """version: 1
intents:
  ask_invoice:
    confidence_floor: {value: 0.3, by: calibrate, reason: keeps 95% of them}
"""


def test_tuning_file_floors_apply_and_survive_loading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "handover_tuning.yml").write_text(TUNING, "utf-8")
    loaded = train_and_load(
        tmp_path / "model", DOMAIN, tuning_file="handover_tuning.yml"
    )
    sure_enough = tracker(*user("invoice pls", "ask_invoice", confidence=0.4))
    assert predicted(loaded.predict_action_probabilities(sure_enough, DOMAIN)) is None
    unsure = tracker(*user("blorp invoice", "ask_invoice", confidence=0.25))
    prediction = loaded.predict_action_probabilities(unsure, DOMAIN)
    evidence = slots_set(prediction)[SLOT_HANDOVER_EVIDENCE]
    assert (evidence["confidence_floor"], evidence["confidence_floor_source"]) == (
        0.3,
        "tuning file",
    )
    # Gone from disk: the copy persisted at training time still applies.
    (tmp_path / "handover_tuning.yml").unlink()
    reloaded = HandoverPolicy.load(
        {**HandoverPolicy.get_default_config(), "tuning_file": "handover_tuning.yml"},
        LocalModelStorage(tmp_path / "model"),
        Resource("handover"),
        ExecutionContext(GraphSchema({}), "test"),
    )
    assert reloaded.thresholds.for_intent("ask_invoice", False).confidence_floor == 0.3


def test_a_new_tuning_file_takes_effect_without_retraining(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "handover_tuning.yml").write_text(TUNING, "utf-8")
    train_and_load(tmp_path / "model", DOMAIN, tuning_file="handover_tuning.yml")
    (tmp_path / "handover_tuning.yml").write_text(TUNING.replace("0.3", "0.45"))
    reloaded = HandoverPolicy.load(
        {**HandoverPolicy.get_default_config(), "tuning_file": "handover_tuning.yml"},
        LocalModelStorage(tmp_path / "model"),
        Resource("handover"),
        ExecutionContext(GraphSchema({}), "test"),
    )
    assert reloaded.thresholds.for_intent("ask_invoice", False).confidence_floor == 0.45


@pytest.mark.parametrize(
    "content, message",
    [
        pytest.param(None, "does not exist", id="missing"),
        pytest.param(TUNING.replace("0.3", "1.3"), "from 0.2 to 0.9", id="bound"),
    ],
)
def test_a_bad_tuning_file_fails_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: object, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    if content is not None:
        (tmp_path / "handover_tuning.yml").write_text(str(content), "utf-8")
    policy = create(tmp_path, {"tuning_file": "handover_tuning.yml"})
    with pytest.raises(InvalidConfigException, match=message):
        policy.train([], DOMAIN)
