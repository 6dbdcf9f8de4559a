"""A message in a language the bot does not speak is unclear, whatever NLU says.

Contrast pairs for `message_kinds.other_language`, the bot's languages read from
its domain's responses, the `bot_languages` setting, the trigger's evidence and
the policy inside Rasa (a real `Domain`, real trackers).
"""

import logging
import re
from pathlib import Path
from typing import List

import pytest
import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.graph_components.providers.domain_for_core_training_provider import (
    DomainForCoreTrainingProvider,
)
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_handover import HandoverPolicy
from rasa_handover.constants import (
    ACTION_CLARIFY,
    ACTION_HANDOVER,
    ACTION_LISTEN,
    LOW_CONFIDENCE_OTHER_LANGUAGE,
    SLOT_HANDOVER_EVIDENCE,
)
from rasa_handover.languages import languages_written_in, response_texts
from rasa_handover.message_kinds import other_language
from rasa_handover.settings import with_bot_languages
from rasa_handover.triggers.low_confidence import check_low_confidence
from rasa_handover.validation import HandoverConfigError
from tests.builders import settings, turn, view
from tests.conftest import TEST_DOMAIN

SHIPPED_NLU = Path(__file__).parents[1] / "rasa_handover" / "data"


@pytest.mark.parametrize(
    "text, bot, expected",
    [
        pytest.param("¿cuánto cuesta el plan premium al mes?", ["en"], "es", id="es"),
        pytest.param("Ich möchte mein Abo bitte kündigen", ["en"], "de", id="de"),
        pytest.param("je voudrais annuler mon abonnement", ["en"], "fr", id="fr"),
        pytest.param("how much is premium per month?", ["en"], None, id="en"),
        # Mixed: one English function word makes it the bot's language.
        pytest.param("hola, I need help with el plan", ["en"], None, id="mixed"),
        # Too short to tell.
        pytest.param("hola amigos", ["en"], None, id="one-function-word"),
        pytest.param("el la", ["en"], None, id="short"),
        # Words English shares with Spanish ("no", "me") tell neither.
        pytest.param("no problem, me too", ["en"], None, id="shared-words"),
        pytest.param("me pones con un operador", ["en"], "es", id="es-with-me"),
        # English words the Portuguese list shares ("a", "as") are English.
        pytest.param("as a premium member", ["en"], None, id="en-shared-words"),
        # One Spanish word in an English sentence is a loan word.
        pytest.param("fiesta mode pls", ["en"], None, id="one-word"),
        # A French bot: English is the other language.
        pytest.param("I want to cancel my plan", ["fr"], "en", id="french-bot"),
        pytest.param("je voudrais annuler", ["fr", "en"], None, id="bilingual-bot"),
        # No function words for Japanese: what is foreign to it is unknown.
        pytest.param("¿cuánto cuesta el plan al mes?", ["ja"], None, id="unknown"),
        pytest.param("¿cuánto cuesta el plan al mes?", [], None, id="off"),
    ],
)
def test_other_language(text: str, bot: List[str], expected: str) -> None:
    assert other_language(text, bot) == expected


def shipped_examples(language: str) -> List[str]:
    data = yaml.safe_load((SHIPPED_NLU / f"handoff_nlu_{language}.yml").read_text())
    examples = "\n".join(block["examples"] for block in data["nlu"])
    return [
        re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line[2:].strip())
        for line in examples.splitlines()
        if line.strip().startswith("- ")
    ]


@pytest.mark.parametrize(
    "language", [pytest.param("de", id="de"), pytest.param("es", id="es")]
)
def test_most_shipped_requests_in_another_language_are_read_as_such(
    language: str,
) -> None:
    """The shipped German and Spanish examples, to an English bot."""
    examples = [text for text in shipped_examples(language) if len(text) >= 20]
    found = [other_language(text, ["en"]) for text in examples]
    assert set(found) <= {language, None}
    assert found.count(language) >= 0.6 * len(examples)


def test_no_shipped_english_example_is_read_as_another_language() -> None:
    assert not [t for t in shipped_examples("en") if other_language(t, ["en"])]


def test_the_bots_languages_come_from_its_responses() -> None:
    english = Domain.from_yaml(TEST_DOMAIN)
    assert languages_written_in(response_texts(english.responses)) == ("en",)
    french = Domain.from_yaml(
        """
version: "3.1"
responses:
  utter_greet:
    - text: "Bonjour ! Je suis le bot de location de voitures."
  utter_price:
    - text: "Le prix dépend de la voiture et de la durée."
  utter_bye:
    - text: "Merci et à bientôt !"
  utter_handover_wait:
    - text: "You are number {position} in the queue; an agent will be with you."
  utter_handover_offline:
    - text: "Nobody from our team is online right now. Can we call you back?"
"""
    )
    assert languages_written_in(response_texts(french.responses)) == ("fr", "en")
    assert languages_written_in(["Hi!", "Bye!"]) == ()


@pytest.mark.parametrize(
    "value, expected",
    [
        pytest.param("auto", None, id="auto"),
        pytest.param(["en"], ("en",), id="en"),
        pytest.param(["fr", "en", "fr"], ("fr", "en"), id="deduplicated"),
        pytest.param([], (), id="off"),
    ],
)
def test_bot_languages_setting(value: object, expected: object) -> None:
    assert settings(bot_languages=value).bot_languages == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("en", id="bare-string"),
        pytest.param(["english"], id="name"),
        pytest.param(["EN"], id="upper-case"),
        pytest.param([1], id="number"),
    ],
)
def test_a_bad_bot_languages_setting_says_how_to_fix_it(value: object) -> None:
    with pytest.raises(HandoverConfigError, match=r"bot_languages.*ISO 639-1"):
        settings(bot_languages=value)


def test_auto_is_resolved_and_a_given_list_is_kept() -> None:
    texts = ["Hi, how can I help you with your account?", "Your invoice is here."]
    assert with_bot_languages(settings(), texts).bot_languages == ("en",)
    given = settings(bot_languages=["fr"])
    assert with_bot_languages(given, texts) is given


SPANISH = "¿cuánto cuesta el plan premium al mes?"


def test_a_confident_reading_of_another_language_is_asked_about() -> None:
    """DIET read this as `upgrade_plan` at 0.94 on the example bot."""
    english_bot = settings(bot_languages=["en"])
    ranking = [("upgrade_plan", 0.94), ("ask_plans", 0.03)]
    decision = check_low_confidence(
        view(turn(SPANISH, "upgrade_plan", 0.94, ranking)), english_bot
    )
    assert decision is not None
    assert decision.action == ACTION_CLARIFY
    assert decision.evidence["kind"] == LOW_CONFIDENCE_OTHER_LANGUAGE
    assert decision.evidence["language"] == "es"
    assert decision.evidence["bot_languages"] == ["en"]
    # NLU's guesses at it are no choices to offer.
    assert decision.evidence["choices"] == []
    english = turn("how much is premium a month?", "upgrade_plan", 0.94, ranking)
    assert check_low_confidence(view(english), english_bot) is None
    off = settings(bot_languages=[])
    assert check_low_confidence(view(turn(SPANISH, "upgrade_plan", 0.94)), off) is None


def test_the_next_turn_in_that_language_hands_over_with_both() -> None:
    english_bot = settings(bot_languages=["en"])
    decision = check_low_confidence(
        view(
            turn(SPANISH, "upgrade_plan", 0.94),
            turn(
                "no entiendo, quiero hablar con una persona",
                "deny",
                0.9,
                previous_action=ACTION_CLARIFY,
            ),
        ),
        english_bot,
    )
    assert decision is not None and decision.action == ACTION_HANDOVER
    assert decision.evidence["language"] == "es"
    assert decision.evidence["clarified"]["language"] == "es"
    assert decision.evidence["clarified"]["turn"] == 1


def user(text: str, intent: str, confidence: float) -> list:
    return [
        ActionExecuted(ACTION_LISTEN),
        UserUttered(
            text,
            {"name": intent, "confidence": confidence},
            parse_data={"intent_ranking": [{"name": intent, "confidence": confidence}]},
        ),
    ]


@pytest.mark.parametrize(
    "config, expected",
    [
        pytest.param({}, ACTION_CLARIFY, id="auto-from-the-domain"),
        pytest.param({"bot_languages": ["es", "en"]}, None, id="bot-speaks-it"),
        pytest.param({"bot_languages": []}, None, id="off"),
    ],
)
def test_the_policy_reads_the_bots_language_from_its_domain(
    tmp_path: Path, config: dict, expected: object, caplog: pytest.LogCaptureFixture
) -> None:
    domain = Domain.from_yaml(TEST_DOMAIN)
    policy = HandoverPolicy.create(
        {**HandoverPolicy.get_default_config(), **config},
        LocalModelStorage(tmp_path),
        Resource("handover"),
        ExecutionContext(GraphSchema({}), "test"),
    )
    # As `rasa train` does: the policy is trained on the domain without its
    # responses, and predicts with the whole domain.
    policy.train([], DomainForCoreTrainingProvider.create_pruned_version(domain))
    tracker = DialogueStateTracker.from_events(
        "test", user(SPANISH, "ask_invoice", 0.97), domain.slots
    )
    with caplog.at_level(logging.INFO, logger="rasa_handover.policy"):
        prediction = policy.predict_action_probabilities(tracker, domain)
    if not config:
        assert "the bot speaks en (bot_languages: auto" in caplog.text
    if expected is None:
        assert max(prediction.probabilities) == 0
        return
    chosen = domain.action_names_or_texts[prediction.max_confidence_index]
    assert chosen == expected
    evidence = next(
        e.value for e in prediction.optional_events if e.key == SLOT_HANDOVER_EVIDENCE
    )
    assert evidence["language"] == "es" and evidence["bot_languages"] == ["en"]
