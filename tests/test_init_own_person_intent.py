"""`init` on a bot that already has its own intent for a person.

Such a bot (`talk_to_human`, `human_handover`, `agent`, ...) must not get the
plugin's `human_handoff` examples next to its own: two intents with the same
examples split NLU's confidence. `init` finds the intent with the plugin's phrase
grammar, names it in `explicit_request_intents` and leaves `human_handoff`'s
examples out.
"""

from pathlib import Path

import pytest
import yaml

from rasa_handover import HandoverPolicy, bot_nlu
from rasa_handover.settings import parse_settings
from rasa_handover.setup_bot import POLICY_NAME
from tests.test_init import (
    SHOP_CONFIG,
    added_lines,
    init,
    train_rule_policy,
    write_shop,
)

OWN_INTENT = """\
version: "3.1"
nlu:
- intent: talk_to_human
  examples: |
    - I want to talk to a human
    - can I speak to someone real
    - put me through to an [agent](role)
    - connect me to customer service
    - is there a person I can talk to
    - let me chat with your support team
- intent: bot_challenge
  examples: |
    - are you a bot?
    - am I talking to a human?
    - are you a real person
    - is this a machine
"""

OWN_RULE = """\
version: "3.1"
rules:
- rule: give the phone number when asked for a person
  steps:
  - intent: talk_to_human
  - action: utter_call_us
"""


def shop_with_own_intent(root: Path) -> Path:
    bot = write_shop(root, domain_folder=True)
    domain = bot / "domain" / "shop.yml"
    text = domain.read_text().replace(
        "  - greet\n", "  - greet\n  - talk_to_human\n  - bot_challenge\n", 1
    )
    call_us = "  utter_call_us: [{text: Call us on 555 0100.}]\n"
    text = text.replace("responses:\n", "responses:\n" + call_us)
    domain.write_text(text)
    (bot / "data" / "own_nlu.yml").write_text(OWN_INTENT)
    (bot / "data" / "own_rules.yml").write_text(OWN_RULE)
    return bot


def test_the_bots_own_intent_for_a_person_is_found_and_questions_are_not(
    tmp_path: Path,
) -> None:
    bot = shop_with_own_intent(tmp_path)

    [found] = bot_nlu.person_intents(bot / "data")

    assert found.intent == "talk_to_human"
    assert found.examples == 6 and found.requests >= 5
    # "am I talking to a human?" asks about the bot: not an intent for a person.


def test_init_names_it_in_explicit_request_intents_and_adds_no_rival_examples(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bot = shop_with_own_intent(tmp_path / "bot")

    assert init(bot, "--nlu", "en") == 0

    config = (bot / "config.yml").read_text()
    assert added_lines(SHOP_CONFIG, config) == [
        f"- name: {POLICY_NAME}",
        "  explicit_request_intents: {add: [talk_to_human]}",
    ]
    [entry] = [
        p for p in yaml.safe_load(config)["policies"] if p["name"] == POLICY_NAME
    ]
    settings = parse_settings(
        {**HandoverPolicy.get_default_config(), **entry, "name": None}
    )
    assert {"human_handoff", "talk_to_human"} <= settings.explicit_request_intents
    nlu = yaml.safe_load((bot / "data" / "handover_nlu_en.yml").read_text())
    intents = [entry["intent"] for entry in nlu["nlu"]]
    assert "human_handoff" not in intents and "handover_callback" in intents
    out = capsys.readouterr().out
    assert "talk_to_human in data/own_nlu.yml (6 of 6 examples" in out
    train_rule_policy(bot, tmp_path)  # the bot's own rule does not contradict


def test_a_second_init_adds_nothing_more(tmp_path: Path) -> None:
    bot = shop_with_own_intent(tmp_path)
    assert init(bot, "--nlu", "en") == 0
    config = (bot / "config.yml").read_text()

    assert init(bot, "--nlu", "en") == 0

    assert (bot / "config.yml").read_text() == config
