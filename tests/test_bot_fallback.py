"""A bot that answers `nlu_fallback` itself keeps its answer; the next unclear turn
hands over.

Many Rasa bots run `FallbackClassifier` with a rule `nlu_fallback` ->
`utter_please_rephrase` (or a safety question, or `action_default_fallback`),
and their test stories say so. `HandoverPolicy` learns those actions from the
rules and stories at training time, lets them ask instead of its own
clarification, and hands over when the turn after them is unclear too. A bot
without such a rule gets the clarification, as before.
"""

from pathlib import Path
from typing import List

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event
from rasa.shared.core.generator import TrackerWithCachedStates, TrainingDataGenerator
from rasa.shared.core.training_data.story_reader.yaml_story_reader import (
    YAMLStoryReader,
)
from rasa.shared.core.training_data.structures import StoryGraph

from rasa_handover import HandoverPolicy
from rasa_handover.constants import (
    ACTION_CLARIFY,
    ACTION_HANDOVER,
    CLARIFY_STAGE_STILL_UNCLEAR,
    SLOT_HANDOVER_EVIDENCE,
)
from tests.conftest import TEST_DOMAIN
from tests.test_policy import predicted, slots_set, tracker, user

DOMAIN = Domain.from_yaml(TEST_DOMAIN).merge(
    Domain.from_yaml(
        """
version: "3.1"
intents:
  - nlu_fallback
responses:
  utter_please_rephrase:
    - text: Sorry, I'm not sure I understood. Could you rephrase that?
"""
    )
)

OWN_FALLBACK_RULE = """
version: "3.1"
rules:
- rule: ask the user to rephrase on low NLU confidence
  steps:
  - intent: nlu_fallback
  - action: utter_please_rephrase
"""

NO_FALLBACK_RULE = """
version: "3.1"
rules:
- rule: greet back
  steps:
  - intent: greet
  - action: utter_greet
"""


def trackers(rules: str) -> List[TrackerWithCachedStates]:
    """Rasa's own training trackers for `rules`, as `rasa train` makes them."""
    steps = YAMLStoryReader(DOMAIN).read_from_string(rules)
    return TrainingDataGenerator(
        StoryGraph(steps), DOMAIN, augmentation_factor=0
    ).generate()


def trained_and_loaded(tmp_path: Path, rules: str) -> HandoverPolicy:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("handover")
    context = ExecutionContext(GraphSchema({}), "test")
    config = HandoverPolicy.get_default_config()
    HandoverPolicy.create(config, storage, resource, context).train(
        trackers(rules), DOMAIN
    )
    return HandoverPolicy.load(config, storage, resource, context)


def unsure(text: str) -> List[Event]:
    """A turn `FallbackClassifier` replaced with `nlu_fallback`."""
    return user(text, "nlu_fallback", 0.3)


def test_the_bots_own_fallback_answer_is_learned_and_survives_loading(
    tmp_path: Path,
) -> None:
    policy = trained_and_loaded(tmp_path, OWN_FALLBACK_RULE)
    assert policy.bot_fallback_actions == ("utter_please_rephrase",)


def test_the_bots_own_rule_asks_first(tmp_path: Path) -> None:
    policy = trained_and_loaded(tmp_path, OWN_FALLBACK_RULE)
    t = tracker(*unsure("my thingy broke wth the stuff"))

    assert predicted(policy.predict_action_probabilities(t, DOMAIN)) is None


def test_unclear_again_after_the_bots_own_question_hands_over(
    tmp_path: Path,
) -> None:
    policy = trained_and_loaded(tmp_path, OWN_FALLBACK_RULE)
    t = tracker(
        *unsure("my thingy broke wth the stuff"),
        ActionExecuted("utter_please_rephrase"),
        BotUttered("Sorry, I'm not sure I understood. Could you rephrase that?"),
        *unsure("the thing, the stuff thing"),
    )

    prediction = policy.predict_action_probabilities(t, DOMAIN)

    assert predicted(prediction) == ACTION_HANDOVER
    evidence = slots_set(prediction)[SLOT_HANDOVER_EVIDENCE]
    assert evidence["stage"] == CLARIFY_STAGE_STILL_UNCLEAR
    assert evidence["clarified"]["text"] == "my thingy broke wth the stuff"


@pytest.mark.parametrize(
    "rules",
    [
        pytest.param(NO_FALLBACK_RULE, id="no-fallback-rule"),
        pytest.param(
            OWN_FALLBACK_RULE.replace("utter_please_rephrase", ACTION_CLARIFY),
            id="rule-to-the-plugins-clarify",
        ),
    ],
)
def test_without_its_own_answer_the_bot_asks_the_plugins_question(
    tmp_path: Path, rules: str
) -> None:
    policy = trained_and_loaded(tmp_path, rules)
    t = tracker(*unsure("my thingy broke wth the stuff"))

    assert policy.bot_fallback_actions == ()
    assert predicted(policy.predict_action_probabilities(t, DOMAIN)) == ACTION_CLARIFY


def test_a_remark_the_bot_answered_is_no_question_asked(tmp_path: Path) -> None:
    """ "ok" at `nlu_fallback`, then a real unclear turn: ask about that one."""
    policy = trained_and_loaded(tmp_path, NO_FALLBACK_RULE)
    t = tracker(
        *unsure("ok"),
        ActionExecuted("utter_greet"),
        *unsure("my thingy broke wth the stuff"),
    )

    assert predicted(policy.predict_action_probabilities(t, DOMAIN)) == ACTION_CLARIFY


def test_an_explicit_request_at_nlu_fallback_still_hands_over(
    tmp_path: Path,
) -> None:
    policy = trained_and_loaded(tmp_path, OWN_FALLBACK_RULE)
    t = tracker(*unsure("get me a human pls"))

    assert predicted(policy.predict_action_probabilities(t, DOMAIN)) == ACTION_HANDOVER
