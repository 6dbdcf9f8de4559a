"""`rasa-handover init` on bots written for the test, as a new user would run it.

The fast tests check every file init touches, idempotence, `--dry-run` and the
errors. The integration test trains two third-party-style bots after init and
runs their own test stories plus a handover story (and `check`).
"""

import argparse
import warnings
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from rasa_handover import setup_bot
from rasa_handover.constants import CHANNEL_CREDENTIALS_KEY
from rasa_handover.inbox.config import InboxConfig
from rasa_handover.setup_bot import ACTIONS_IMPORT, POLICY_NAME, SetupError

SHOP_CONFIG = """\
# The config recipe.
# https://rasa.com/docs/rasa/model-configuration/
recipe: default.v1
assistant_id: shoe_shop
language: en

pipeline:
- name: WhitespaceTokenizer
- name: CountVectorsFeaturizer
- name: CountVectorsFeaturizer
  analyzer: char_wb
  min_ngram: 2
  max_ngram: 4
- name: LogisticRegressionClassifier   # fast enough for the test
- name: FallbackClassifier
  threshold: 0.3

policies:
- name: MemoizationPolicy
- name: RulePolicy
# - name: TEDPolicy
#   epochs: 100
"""

SHOP_DOMAIN = """\
version: "3.1"
intents:
  - greet
  - goodbye
  - affirm
  - deny
  - order_status
  - subscribe
  - inform_email
entities:
  - email
slots:
  email:
    type: text
    influence_conversation: false
    mappings:
      - type: from_entity
        entity: email
        conditions:
          - active_loop: newsletter_form
forms:
  newsletter_form:
    required_slots:
      - email
responses:
  utter_greet:
    - text: "Hi! Welcome to the shoe shop."
  utter_goodbye:
    - text: "Bye!"
  utter_order_status:
    - text: "Your order is on its way."
  utter_ask_email:
    - text: "Which email address should we send the newsletter to?"
  utter_subscribed:
    - text: "Done, you're subscribed."
  utter_please_rephrase:
    - text: "Sorry, I didn't quite get that. Could you say it another way?"
session_config:
  session_expiration_time: 60
  carry_over_slots_to_new_session: true
"""

SHOP_NLU = """\
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hi
    - hello
    - good morning
    - hey there
    - hello shop
- intent: goodbye
  examples: |
    - bye
    - goodbye
    - see you later
    - that's all, bye
- intent: affirm
  examples: |
    - yes
    - sure
    - correct
    - yes please
- intent: deny
  examples: |
    - no
    - not now
    - no thanks
    - nope
- intent: order_status
  examples: |
    - where is my order
    - when will my shoes arrive
    - has my order shipped
    - track my package
    - status of my order
    - is my parcel on its way
- intent: subscribe
  examples: |
    - subscribe me to the newsletter
    - I want the newsletter
    - sign me up for updates
    - send me your deals by email
- intent: inform_email
  examples: |
    - [jo@example.com](email)
    - my email is [sam@shoes.example](email)
    - it's [kim@example.org](email)
"""

SHOP_RULES = """\
version: "3.1"
rules:
- rule: greet
  steps:
  - intent: greet
  - action: utter_greet
- rule: ask to rephrase when NLU is unsure (FallbackClassifier)
  steps:
  - intent: nlu_fallback
  - action: utter_please_rephrase
- rule: goodbye
  steps:
  - intent: goodbye
  - action: utter_goodbye
- rule: order status
  steps:
  - intent: order_status
  - action: utter_order_status
- rule: start the newsletter form
  steps:
  - intent: subscribe
  - action: newsletter_form
  - active_loop: newsletter_form
- rule: submit the newsletter form
  condition:
  - active_loop: newsletter_form
  steps:
  - action: newsletter_form
  - active_loop: null
  - slot_was_set:
    - requested_slot: null
  - action: utter_subscribed
"""

SHOP_TESTS = """\
version: "3.1"
stories:
- story: an unclear message is asked about by the shop itself
  steps:
  - user: hello
    intent: greet
  - action: utter_greet
  - user: the thing with the laces from before
    intent: nlu_fallback
  - action: utter_please_rephrase
  - user: where is my order
    intent: order_status
  - action: utter_order_status
- story: greet and ask for the order
  steps:
  - user: hello
    intent: greet
  - action: utter_greet
  - user: where is my order
    intent: order_status
  - action: utter_order_status
- story: newsletter sign-up
  steps:
  - user: sign me up for updates
    intent: subscribe
  - action: newsletter_form
  - active_loop: newsletter_form
  - slot_was_set:
    - requested_slot: email
  - user: it's [kim@example.org](email)
    intent: inform_email
  - action: newsletter_form
  - slot_was_set:
    - email: kim@example.org
  - slot_was_set:
    - requested_slot: null
  - active_loop: null
  - action: utter_subscribed
"""

# The planted change: asking the same thing twice is a repeat loop for the plugin.
PLANTED_STORY = """\
- story: asks for the order twice
  steps:
  - user: where is my order
    intent: order_status
  - action: utter_order_status
  - user: has my order shipped
    intent: order_status
  - action: utter_order_status
"""

HANDOVER_STORY = """\
version: "3.1"
stories:
- story: the customer asks for a person
  steps:
  - user: hi
    intent: greet
  - action: utter_greet
  - user: can I talk to a person please
    intent: human_handoff
  - action: action_handover
  - slot_was_set:
    - handover_active: true
"""


def write_shop(root: Path, domain_folder: bool, planted: bool = False) -> Path:
    """A shoe shop bot as `rasa init` lays it out (optionally with domain/)."""
    (root / "data").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "actions").mkdir()
    (root / "config.yml").write_text(SHOP_CONFIG)
    if domain_folder:
        (root / "domain").mkdir()
        (root / "domain" / "shop.yml").write_text(SHOP_DOMAIN)
    else:
        (root / "domain.yml").write_text(SHOP_DOMAIN)
    (root / "data" / "nlu.yml").write_text(SHOP_NLU)
    (root / "data" / "rules.yml").write_text(SHOP_RULES)
    tests = SHOP_TESTS + (PLANTED_STORY if planted else "")
    (root / "tests" / "test_stories.yml").write_text(tests)
    (root / "credentials.yml").write_text("# Channels.\nrest:\n\n#socketio:\n")
    (root / "endpoints.yml").write_text("# action_endpoint:\n#  url: x\n")
    (root / "actions" / "__init__.py").write_text("")
    (root / "actions" / "actions.py").write_text("# The shop's own actions.\n")
    return root


def snapshot(root: Path) -> Dict[str, str]:
    """Every text file of the bot (not its trained models)."""
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "models" not in p.relative_to(root).parts
    }


def init(root: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser()
    setup_bot.add_arguments(parser)
    return setup_bot.run(parser.parse_args(["--bot", str(root), *argv]))


def added_lines(before: str, after: str) -> List[str]:
    """The lines of `after` not in `before`; fails if any line was removed."""
    old, new = before.splitlines(), after.splitlines()
    assert all(line in new for line in old), "a line of the bot's file was lost"
    return [line for line in new if line not in old]


# --- Each file init touches. -----------------------------------------------------


@pytest.mark.parametrize(
    "domain_folder",
    [
        pytest.param(False, id="single-domain-yml-moved"),
        pytest.param(True, id="domain-folder"),
    ],
)
def test_init_adds_the_plugin_to_every_file(
    tmp_path: Path, domain_folder: bool, capsys: pytest.CaptureFixture
) -> None:
    bot = write_shop(tmp_path, domain_folder)
    before = snapshot(bot)

    assert init(bot, "--move-domain", "--nlu", "en") == 0
    after = snapshot(bot)

    # config.yml: the policy appended, every comment and line of the bot kept.
    assert added_lines(before["config.yml"], after["config.yml"]) == [
        f"- name: {POLICY_NAME}"
    ]
    # The domain: the fragment next to the bot's own file, unchanged.
    own = "domain/shop.yml" if domain_folder else "domain/domain.yml"
    assert after[own] == SHOP_DOMAIN
    assert "domain.yml" not in after
    assert after["domain/handover.yml"] == setup_bot.FRAGMENT.read_text()
    # credentials.yml: the bot's channels kept, the handover channel added.
    credentials = yaml.safe_load(after["credentials.yml"])
    assert "rest" in credentials
    assert credentials[CHANNEL_CREDENTIALS_KEY] == {"inbox_config": "inbox.yml"}
    assert yaml.safe_load(after["endpoints.yml"])["action_endpoint"]["url"]
    # inbox.yml: one agent the inbox accepts, with a strong token.
    inbox = InboxConfig.from_yaml(bot / "inbox.yml")
    assert len(inbox.agents) == 1 and len(inbox.agents[0].token) >= 40
    assert inbox.agents[0].languages == ("en",)
    assert {"handover.db*", "handover_outbox.db*"} <= set(
        after[".gitignore"].splitlines()
    )
    assert ACTIONS_IMPORT in after["actions/__init__.py"]
    assert after["actions/actions.py"] == before["actions/actions.py"]
    assert "human_handoff" in after["data/handover_nlu_en.yml"]
    assert "data/handover_rules.yml" in after
    out = capsys.readouterr().out
    assert "rasa train --domain domain" in out and "Go online" in out


def test_a_second_init_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bot = write_shop(tmp_path, domain_folder=False)
    assert init(bot, "--move-domain", "--nlu", "en,es,de") == 0
    first = snapshot(bot)

    assert init(bot, "--move-domain", "--nlu", "en,es,de") == 0

    assert snapshot(bot) == first
    assert "nothing to change" in capsys.readouterr().out


def test_dry_run_shows_the_diff_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bot = write_shop(tmp_path, domain_folder=True)
    before = snapshot(bot)

    assert init(bot, "--dry-run") == 0

    assert snapshot(bot) == before
    out = capsys.readouterr().out
    assert f"+- name: {POLICY_NAME}" in out
    assert "--- a/config.yml" in out and "+++ b/domain/handover.yml" in out
    assert f"+{ACTIONS_IMPORT}" in out and "+++ b/inbox.yml" in out


def test_a_single_domain_yml_is_moved_only_on_request(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bot = write_shop(tmp_path, domain_folder=False)
    before = snapshot(bot)

    assert init(bot) == 1

    assert snapshot(bot) == before  # nothing half-done: the bot still trains
    err = capsys.readouterr().err
    assert "--move-domain" in err and "--domain domain" in err
    assert "Nothing was changed" in err


def test_dry_run_on_a_single_domain_yml_shows_the_move(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bot = write_shop(tmp_path, domain_folder=False)
    before = snapshot(bot)

    assert init(bot, "--dry-run") == 0

    assert snapshot(bot) == before
    out = capsys.readouterr().out
    # A rename, as git shows it: the bot's domain is not printed twice.
    assert "rename from domain.yml\nrename to domain/domain.yml\n" in out
    assert "+++ b/domain/domain.yml" not in out and "+++ /dev/null" not in out
    assert "+++ b/domain/handover.yml" in out


@pytest.mark.parametrize(
    "config, expected",
    [
        pytest.param(
            "recipe: default.v1\nlanguage: en\npipeline:\npolicies: []\n",
            "is not a list of policies",
            id="no-policies-at-all",
        ),
        pytest.param("policies: [\n", "is not valid YAML", id="broken-yaml"),
    ],
)
def test_a_config_init_cannot_extend_is_explained(
    tmp_path: Path, capsys: pytest.CaptureFixture, config: str, expected: str
) -> None:
    bot = write_shop(tmp_path, domain_folder=True)
    (bot / "config.yml").write_text(config)
    before = snapshot(bot)

    assert init(bot) == 1

    assert snapshot(bot) == before
    assert expected in capsys.readouterr().err


def test_rasa_inits_config_gets_rasas_default_policies_written_out(
    tmp_path: Path,
) -> None:
    """`rasa init` lists no policies (Rasa picks them when it trains): init writes
    out the ones Rasa would pick, then HandoverPolicy, and keeps the rest."""
    import rasa.cli
    from rasa.engine.recipes import default_recipe

    bot = write_shop(tmp_path, domain_folder=True)
    initial = Path(rasa.cli.__file__).parent / "initial_project" / "config.yml"
    (bot / "config.yml").write_text(initial.read_text())

    assert init(bot) == 0

    after = (bot / "config.yml").read_text()
    assert after.startswith(initial.read_text())  # nothing of it rewritten
    defaults = Path(default_recipe.__file__).parent / "config_files"
    rasa_picks = yaml.safe_load((defaults / "default_config.yml").read_text())
    written = yaml.safe_load(after)["policies"]
    assert written == [*rasa_picks["policies"], {"name": POLICY_NAME}]


def test_outside_a_bot_folder_says_where_to_run_it(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert init(tmp_path) == 1
    assert "no config.yml" in capsys.readouterr().err


@pytest.mark.parametrize(
    "layout, target",
    [
        pytest.param(["actions/actions.py"], "actions/actions.py", id="namespace-pkg"),
        pytest.param(["actions.py"], "actions.py", id="single-module"),
    ],
)
def test_actions_are_mounted_where_the_action_server_imports(
    tmp_path: Path, layout: List[str], target: str
) -> None:
    bot = write_shop(tmp_path, domain_folder=True)
    (bot / "actions" / "__init__.py").unlink()
    (bot / "actions" / "actions.py").unlink()
    (bot / "actions").rmdir()
    for name in layout:
        (bot / name).parent.mkdir(parents=True, exist_ok=True)
        (bot / name).write_text("from rasa_sdk import Action\n")

    assert init(bot) == 0

    assert (bot / target).read_text().endswith(f"{ACTIONS_IMPORT}\n")


def test_without_an_action_package_it_says_what_to_add(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bot = write_shop(tmp_path, domain_folder=True)
    for name in ("__init__.py", "actions.py"):
        (bot / "actions" / name).unlink()

    assert init(bot) == 0

    out = capsys.readouterr().out
    assert "rasa run actions --actions rasa_handover.actions" in out
    assert ACTIONS_IMPORT in out
    next_steps = out[out.index("Next:") :]
    assert "rasa run actions --actions rasa_handover.actions" in next_steps
    assert "your actions" not in next_steps  # there are none to run


def test_existing_handover_set_up_by_hand_is_left_alone(tmp_path: Path) -> None:
    bot = write_shop(tmp_path, domain_folder=True)
    config = SHOP_CONFIG + "- name: rasa_handover.HandoverPolicy\n  repeat_limit: 3\n"
    (bot / "config.yml").write_text(config)
    (bot / "domain" / "mine.yml").write_text(setup_bot.FRAGMENT.read_text())
    (bot / "inbox.yml").write_text("agents: [{name: Maya, token: secret-of-maya}]\n")
    (bot / "actions" / "actions.py").write_text("import rasa_handover.actions\n")

    assert init(bot) == 0

    assert (bot / "config.yml").read_text() == config
    assert not (bot / "domain" / "handover.yml").exists()
    assert "secret-of-maya" in (bot / "inbox.yml").read_text()
    assert (bot / "actions" / "__init__.py").read_text() == ""


OWN_HANDOFF_RULE = """\
version: "3.1"
rules:
- rule: give the phone number on a request for a person
  steps:
  - intent: human_handoff
  - action: utter_call_us
"""

OWN_HANDOFF_STORY = """\
version: "3.1"
stories:
- story: asks for a person, then thanks
  steps:
  - intent: human_handoff
  - action: utter_call_us
  - intent: goodbye
  - action: utter_goodbye
"""


def train_rule_policy(bot: Path, tmp_path: Path) -> None:
    """Trains Rasa's RulePolicy on the bot's data (raises InvalidRule as `rasa
    train` does when rules and stories contradict each other)."""
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.core.generator import TrainingDataGenerator
    from rasa.shared.importers.importer import TrainingDataImporter

    importer = TrainingDataImporter.load_from_config(
        str(bot / "config.yml"), str(bot / "domain"), [str(bot / "data")]
    )
    domain = importer.get_domain()
    (tmp_path / "storage" / "rules").mkdir(parents=True)
    stories = importer.get_stories()
    trackers = TrainingDataGenerator(stories, domain, augmentation_factor=0).generate()
    policy = RulePolicy(
        RulePolicy.get_default_config(),
        LocalModelStorage(tmp_path / "storage"),
        Resource("rules"),
        ExecutionContext(GraphSchema({}), "test"),
    )
    policy.train(trackers, domain)


def test_a_bot_that_answers_human_handoff_itself_still_trains(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A bot written before the plugin may answer `human_handoff` with its own
    action (a public clinic bot gives reception's phone number). The plugin's
    rule for it would contradict the bot's rule and story, and Rasa would refuse
    to train."""
    bot = write_shop(tmp_path / "bot", domain_folder=True)
    call_us = "responses:\n  utter_call_us: [{text: Call us.}]\n"
    domain = (bot / "domain" / "shop.yml").read_text()
    (bot / "domain" / "shop.yml").write_text(domain.replace("responses:\n", call_us))
    (bot / "data" / "own_rules.yml").write_text(OWN_HANDOFF_RULE)
    (bot / "data" / "stories.yml").write_text(OWN_HANDOFF_STORY)

    assert init(bot, "--nlu", "en") == 0

    train_rule_policy(bot, tmp_path)  # raised InvalidRule before the fix
    rules = yaml.safe_load((bot / "data" / "handover_rules.yml").read_text())
    first_intents = [r["steps"][0].get("intent") for r in rules["rules"]]
    assert "human_handoff" not in first_intents
    assert "handover_resolved" in first_intents  # the other rules stay
    out = capsys.readouterr().out
    assert "data/own_rules.yml, rule 'give the phone number" in out
    assert "data/stories.yml, story 'asks for a person, then thanks'" in out
    assert "HandoverPolicy still answers human_handoff with action_handover" in out


def test_unknown_nlu_language_is_refused() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="choose from en, es, de"):
        setup_bot.parse_languages("en,fr")


def test_without_nlu_examples_init_says_how_to_add_them(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bot = write_shop(tmp_path, domain_folder=True)
    assert init(bot) == 0
    assert "rasa-handover init --nlu en" in capsys.readouterr().out


def test_a_bot_in_a_language_without_examples_is_not_told_to_use_nlu(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A public French bot was told to run `init --nlu fr`, which init refuses."""
    bot = write_shop(tmp_path, domain_folder=True)
    (bot / "config.yml").write_text(SHOP_CONFIG.replace("language: en", "language: fr"))
    assert init(bot) == 0
    out = capsys.readouterr().out
    assert "--nlu fr" not in out
    assert "No examples ship in your bot's language (fr" in out
    assert "handoff_nlu_en.yml" in out


@pytest.mark.parametrize(
    "config, added",
    [
        pytest.param(
            SHOP_CONFIG.replace("recipe: default.v1", 'recipe: "default.v1"')
            .replace("language: en", "language: 'en'")
            .replace("max_ngram: 4", "max_ngram: 4\n  constrain_similarities: True"),
            f"- name: {POLICY_NAME}",
            id="quotes-and-capital-true",
        ),
        pytest.param(
            SHOP_CONFIG.replace("policies:\n- name", "policies:\n-   name")
            + "extra:    {a:    1}\n",
            f"- name: {POLICY_NAME}",  # as the last policy is written
            id="unusual-spacing",
        ),
        pytest.param(
            "language: en\npipeline: []\npolicies:\n  - name: RulePolicy\n"
            "    core_fallback_threshold: 0.3  # tuned\n"
            "    # enable_fallback_prediction: false\n\n"
            "# Rasa's comment about the next key\nassistant_id: x",
            f"  - name: {POLICY_NAME}",
            id="nested-options-comments-no-final-newline",
        ),
    ],
)
def test_init_adds_one_line_to_any_block_policy_list(
    tmp_path: Path, config: str, added: str
) -> None:
    """Real configs quote values and write `True`; init adds its line and leaves
    every other byte alone, after the last policy's own options and comments."""
    bot = write_shop(tmp_path, domain_folder=True)
    (bot / "config.yml").write_text(config)
    before = yaml.safe_load(config)

    assert init(bot) == 0

    after = (bot / "config.yml").read_text()
    assert added_lines(config, after) == [added]
    assert yaml.safe_load(after) == {
        **before,
        "policies": [*before["policies"], {"name": POLICY_NAME}],
    }


def test_init_refuses_to_reformat_an_unusual_flow_style_config(tmp_path: Path) -> None:
    bot = write_shop(tmp_path, domain_folder=True)
    odd = "policies: [{name:   RulePolicy}]\nextra:    {a:    1}\n"
    (bot / "config.yml").write_text(odd)
    with pytest.raises(SetupError, match="would also rewrite"):
        setup_bot.plan_setup(bot)


# --- The shipped NLU examples. ---------------------------------------------------


@pytest.mark.parametrize(
    "language", [pytest.param(x, id=x) for x in ("en", "es", "de")]
)
def test_shipped_nlu_examples_are_valid_and_varied(language: str) -> None:
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    data = RasaYAMLReader().read(setup_bot.nlu_file(language))
    handoff = [m for m in data.intent_examples if m.get("intent") == "human_handoff"]
    texts = [m.get("text") for m in handoff]
    assert {m.get("intent") for m in data.intent_examples} == {
        "human_handoff",
        "handover_callback",
        "handover_leave_message",
    }
    every_text = [m.get("text").lower() for m in data.intent_examples]
    assert len(set(every_text)) == len(every_text)  # no example in two intents
    assert len(texts) >= 25
    assert len({t.lower() for t in texts}) == len(texts)  # no duplicates
    assert len({t.split()[0].lower() for t in texts}) >= 10  # not one template


# --- rasa data validate stays quiet about the plugin. -----------------------------


def validator_warnings(bot: Path) -> List[str]:
    """What `rasa data validate --domain domain` warns about the bot's data."""
    from rasa.shared.importers.importer import TrainingDataImporter
    from rasa.validator import Validator

    importer = TrainingDataImporter.load_from_config(
        str(bot / "config.yml"), str(bot / "domain"), [str(bot / "data")]
    )
    validator = Validator.from_importer(importer)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        validator.verify_nlu(ignore_warnings=False)
    return sorted({str(w.message) for w in caught})


NO_NLU = (
    "The intent '{}' is listed in the domain file, but is not found in the NLU "
    "training data."
)


@pytest.mark.parametrize(
    "argv, unrecognised",
    [
        pytest.param(["--nlu", "en"], [], id="with-nlu"),
        # Without examples init prints how to add them (tested above).
        pytest.param(
            [],
            ["human_handoff", "handover_callback", "handover_leave_message"],
            id="without-nlu",
        ),
    ],
)
def test_validate_is_quiet_about_the_plugins_intents(
    tmp_path: Path, argv: List[str], unrecognised: List[str]
) -> None:
    bot = write_shop(tmp_path, domain_folder=True)
    assert init(bot, *argv) == 0
    fragment = yaml.safe_load(setup_bot.FRAGMENT.read_text())

    messages = validator_warnings(bot)

    about_plugin = [
        m
        for m in messages
        if any(
            f"'{name}'" in m for name in [*fragment["intents"], *fragment["responses"]]
        )
    ]
    # What remains is documented in docs/init.md: handover_resolved is only sent
    # by the channel (NLU examples would let a customer's text trigger it),
    # handover_something_else only by the clarification's button (the policy
    # reads it right after the question), handover_csat only by the CSAT
    # question's buttons, and the channel and the actions send
    # the responses, never a story.
    buttons_only = ["handover_resolved", "handover_something_else", "handover_csat"]
    expected = (
        {NO_NLU.format(i) for i in [*buttons_only, *unrecognised]}
        | {"The intent 'handover_something_else' is not used in any story or rule."}
        | {
            f"The utterance '{name}' is not used in any story or rule."
            for name in fragment["responses"]
        }
    )
    assert set(about_plugin) == expected
