"""Shared fixtures: a small real Rasa project, trained once per test session.

The project has RulePolicy, MemoizationPolicy and TEDPolicy next to
HandoverPolicy, a regulated intent, a `human_handoff` intent and an
`account_tier` slot. Training output goes to `tests/artifacts/train.log`.

At the end of a run, skipped tests are listed by reason, each with the command
that runs them (`pytest_terminal_summary`): skip reasons are written
`skip_reason(why, command)`.
"""

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

ARTIFACTS = Path(__file__).parent / "artifacts"
SKIP_SUMMARY_TITLE = "skipped tests: why, and the command that runs them"
_TO_RUN_THEM = "; to run them: "


def skip_reason(why: str, command: str) -> str:
    """A skip reason the end-of-run summary splits into why and the command."""
    return f"{why}{_TO_RUN_THEM}{command}"


def _reason_of(report: Any) -> str:
    longrepr = report.longrepr
    text = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
    return text[len("Skipped: ") :] if text.startswith("Skipped: ") else text


def skipped_by_reason(reports: List[Any]) -> List[Tuple[str, List[str]]]:
    """`(reason, test ids)` pairs, the reason with the most skipped tests first."""
    groups: Dict[str, List[str]] = {}
    for report in reports:
        groups.setdefault(_reason_of(report), []).append(report.nodeid)
    return sorted(groups.items(), key=lambda group: (-len(group[1]), group[0]))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: Any, log: Any) -> Any:
    """`--dist loadgroup` (as `make unit` runs): an `xdist_group` runs in one
    worker, and so does each other test module (as `--dist loadfile`).

    A fixture that starts servers for several modules (session scope) marks
    their tests with one group, so the servers start once; module-scoped
    servers stay in one worker as before.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class GroupsThenFiles(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            group = super()._split_scope(nodeid)
            return group if group != nodeid else nodeid.split("::", 1)[0]

    return GroupsThenFiles(config, log)


def pytest_configure(config: Any) -> None:
    """Rasa models this test process loads build eagerly: seconds, not most of
    a minute each (tests/fast_model_load.py says why they answer the same)."""
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from tests.fast_model_load import install

    install()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Says which tests were skipped, why, and the one command that runs them."""
    groups = skipped_by_reason(terminalreporter.stats.get("skipped", []))
    if not groups:
        return
    terminalreporter.section(SKIP_SUMMARY_TITLE)
    for reason, test_ids in groups:
        why, _, command = reason.partition(_TO_RUN_THEM)
        files = sorted({test_id.split("::")[0] for test_id in test_ids})
        terminalreporter.write_line(f"{len(test_ids)} skipped: {why}")
        terminalreporter.write_line(f"    in {', '.join(files)}")
        if command:
            terminalreporter.write_line(f"    to run them: {command}")


TEST_DOMAIN = """
version: "3.1"
intents:
  - greet
  - goodbye
  - affirm
  - deny
  - ask_invoice
  - reset_password
  - human_handoff
  - handover_resolved
  - handover_something_else
  - ask_medical_advice:
      regulated: true
      handover_team: compliance
  - request_refund:
      regulated: true
      handover_team: billing
      regulated_when:
        slot: refund_amount
        above: 100
entities:
  - amount
slots:
  refund_amount:
    type: float
    influence_conversation: false
    mappings:
      - type: from_entity
        entity: amount
  account_tier:
    type: categorical
    values: [free, enterprise, vip]
    influence_conversation: false
    mappings: [{type: custom}]
  handover_active:
    type: bool
    initial_value: false
    influence_conversation: false
    mappings: [{type: custom}]
  handover_reason:
    type: text
    influence_conversation: false
    mappings: [{type: custom}]
  handover_evidence:
    type: any
    influence_conversation: false
    mappings: [{type: custom}]
  handover_turn:
    type: float
    influence_conversation: false
    mappings: [{type: custom}]
  handover_offered:
    type: bool
    initial_value: false
    influence_conversation: false
    mappings: [{type: custom}]
actions:
  - action_handover
  - action_offer_handover
  - action_handback
  - action_handover_clarify
responses:
  utter_greet:
    - text: "Hi! How can I help with your Streamly account?"
  utter_goodbye:
    - text: "Bye!"
  utter_invoice:
    - text: "Your invoices are under Account > Billing."
  utter_reset_password:
    - text: "Use 'Forgot password' on the sign-in page."
  utter_refund_info:
    - text: "Refunds up to $100 are automatic within 5 days."
  utter_anything_else:
    - text: "OK. Anything else I can help with?"
session_config:
  session_expiration_time: 60
  carry_over_slots_to_new_session: true
"""

TEST_NLU = """
version: "3.1"
nlu:
- regex: amount
  examples: |
    - \\d+
- intent: greet
  examples: |
    - hi
    - hello
    - hey there
    - good morning
    - hiya
    - hello bot
    - hey
    - good evening
- intent: goodbye
  examples: |
    - bye
    - goodbye
    - see you later
    - that's all, bye
    - cya
    - have a nice day
- intent: affirm
  examples: |
    - yes
    - yes please
    - sure
    - ok do it
    - yeah
    - absolutely
    - that would be great
- intent: deny
  examples: |
    - no
    - no thanks
    - nope
    - not now
    - I'd rather not
    - no, I'm fine
- intent: ask_invoice
  examples: |
    - where is my invoice
    - I need my invoice
    - can you send me the bill
    - why is my invoice wrong
    - show me my last bill
    - invoice for last month please
    - where can I download invoices
    - my bill looks wrong
- intent: reset_password
  examples: |
    - how do I reset my password
    - I forgot my password
    - reset password
    - can't log in, forgot password
    - password reset please
    - how can I change my password
    - I need a new password
- intent: human_handoff
  examples: |
    - I want to talk to a human
    - let me speak to a person
    - agent please
    - connect me to a representative
    - real person please
    - can I talk to someone from support
    - human
- intent: handover_resolved
  examples: |
    - /handover_resolved
- intent: ask_medical_advice
  examples: |
    - is it safe to watch with epilepsy
    - the flashing lights gave me a seizure
    - can the screen hurt my eyes medically
    - my doctor says I should not watch, is that right
    - is streaming bad for my migraine
- intent: request_refund
  examples: |
    - I want a refund
    - refund me please
    - I want a refund of [250](amount) dollars
    - please refund [40](amount) euros
    - give me my money back
    - can I get a refund of [12](amount)
    - refund [300](amount) please
    - I was charged twice, refund
"""

TEST_STORIES = """
version: "3.1"
stories:
- story: invoice
  steps:
  - intent: ask_invoice
  - action: utter_invoice
- story: password
  steps:
  - intent: reset_password
  - action: utter_reset_password
- story: refund
  steps:
  - intent: request_refund
  - action: utter_refund_info
- story: greet then invoice
  steps:
  - intent: greet
  - action: utter_greet
  - intent: ask_invoice
  - action: utter_invoice
"""

TEST_RULES = """
version: "3.1"
rules:
- rule: greet
  steps:
  - intent: greet
  - action: utter_greet
- rule: goodbye
  steps:
  - intent: goodbye
  - action: utter_goodbye
- rule: invoice
  steps:
  - intent: ask_invoice
  - action: utter_invoice
- rule: password
  steps:
  - intent: reset_password
  - action: utter_reset_password
- rule: refund within the limit
  steps:
  - intent: request_refund
  - action: utter_refund_info
- rule: declined offer
  steps:
  - action: action_offer_handover
  - intent: deny
  - action: utter_anything_else
"""

TEST_CONFIG = """
recipe: default.v1
assistant_id: handover_tests
language: en
pipeline:
  - name: WhitespaceTokenizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 2
    max_ngram: 4
  - name: LogisticRegressionClassifier
  - name: RegexEntityExtractor
    use_regexes: true
policies:
  - name: MemoizationPolicy
  - name: RulePolicy
  - name: TEDPolicy
    max_history: 3
    epochs: 3
  - name: rasa_handover.HandoverPolicy
"""


def write_project(directory: Path, config: str = TEST_CONFIG) -> Path:
    """Writes the test project into `directory` and returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "data").mkdir(exist_ok=True)
    (directory / "domain.yml").write_text(TEST_DOMAIN)
    (directory / "config.yml").write_text(config)
    (directory / "data" / "nlu.yml").write_text(TEST_NLU)
    (directory / "data" / "stories.yml").write_text(TEST_STORIES)
    (directory / "data" / "rules.yml").write_text(TEST_RULES)
    return directory


def train_project(directory: Path, log_name: str = "train.log") -> Path:
    """Trains the project in `directory` with Rasa, logging to tests/artifacts."""
    import rasa.api

    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / log_name
    with open(log, "w") as out, contextlib.redirect_stdout(
        out
    ), contextlib.redirect_stderr(out):
        result = rasa.api.train(
            domain=str(directory / "domain.yml"),
            config=str(directory / "config.yml"),
            training_files=[str(directory / "data")],
            output=str(directory / "models"),
            fixed_model_name="model",
        )
    assert result.code == 0 and result.model, f"training failed, see {log}"
    return Path(result.model)


@pytest.fixture(scope="session")
def example_action_server() -> Iterator[str]:
    """The example bot's action server (`tests.e2e.servers.action_server`), one per
    test process: started on first use, shared by every module that needs it.

    Its actions keep nothing between calls (each gets the tracker and the
    environment, the same for every module), so what one module did cannot
    change another's result; each test uses its own conversation ids.
    Yields its webhook URL.
    """
    from tests.e2e.servers import action_server

    with action_server() as url:
        yield url


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real model (NLU + all policies) trained once for the whole run.

    Under pytest-xdist the first worker that needs it trains it into the run's
    temporary directory (common to its workers, new for each run); the others
    wait for it and load that file.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    run_directory = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        run_directory = run_directory.parent
    with open(run_directory / "trained-model.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        project = run_directory / "trained-project"
        model = project / "models" / "model.tar.gz"
        if not model.exists():
            model = train_project(write_project(project))
    return model


@pytest.fixture(scope="session")
def agent(trained_model: Path) -> Iterator["object"]:
    """The trained model loaded in a Rasa `Agent` (in-memory tracker store)."""
    from rasa.core.agent import Agent

    yield Agent.load(str(trained_model))
