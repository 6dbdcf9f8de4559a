"""`rasa-handover check`: which of a bot's test stories the plugin changes.

The fast tests cover the comparison, the configuration checks and the report.
The integration tests run `init` on two third-party-style shoe shop bots (one
with a single domain.yml, one with a domain/ folder), train them, and check them:
the bots' own stories and a handover story pass, and the planted repeat of an
intent is the one change reported.
"""

import argparse
import contextlib
import os
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest

from rasa_handover import check
from rasa_handover.check import (
    Decision,
    Report,
    StoryChange,
    StoryOutcome,
    check_inbox,
    compare,
    format_report,
)
from tests.test_init import HANDOVER_STORY, init, snapshot, write_shop

PLANTED = "asks for the order twice"
HANDOVER = "the customer asks for a person"


# --- Comparing outcomes. ---------------------------------------------------------


def outcome(name: str, passed: bool, error: str = "") -> StoryOutcome:
    return StoryOutcome(name, passed, error)


@pytest.mark.parametrize(
    "with_plugin, without_plugin, handover, changed",
    [
        pytest.param(
            outcome("s", False, "expected utter_x, HandoverPolicy predicted offer"),
            outcome("s", True),
            [],
            True,
            id="passes-only-without-the-plugin",
        ),
        pytest.param(outcome("s", True), outcome("s", True), [], False, id="same"),
        pytest.param(
            outcome("s", True),
            outcome("s", False, "expected action_handover"),
            ["s"],
            False,
            id="handover-story-needs-the-plugin",
        ),
        pytest.param(
            outcome("s", False, "expected action_handover, TED predicted utter_y"),
            outcome("s", False, "expected action_handover, TED predicted utter_y"),
            [],
            False,
            id="fails-alike",
        ),
        pytest.param(
            outcome("s", False, "at turn 3: HandoverPolicy predicted offer"),
            outcome("s", False, "at turn 5: TEDPolicy predicted utter_z"),
            [],
            True,
            id="fails-earlier-with-the-plugin",
        ),
    ],
)
def test_compare_lists_only_stories_the_plugin_changes(
    with_plugin: StoryOutcome,
    without_plugin: StoryOutcome,
    handover: list,
    changed: bool,
) -> None:
    changes, _ = compare({"s": with_plugin}, {"s": without_plugin}, handover)
    assert bool(changes) == changed


def test_report_names_the_trigger_evidence_and_what_to_do() -> None:
    decision = Decision(
        reason="repeat_loop",
        evidence={"intent": "order_status", "count": 2},
        action="action_offer_handover",
        user_text="has my order shipped",
    )
    failed = StoryOutcome(
        PLANTED,
        False,
        'after "has my order shipped" (intent order_status): expected '
        "utter_order_status, HandoverPolicy predicted action_offer_handover",
        [decision],
    )
    report = Report(
        Path("models/m.tar.gz"),
        3,
        [StoryChange(PLANTED, failed, outcome(PLANTED, True))],
        [HANDOVER],
        [],
    )

    text = format_report(report)

    assert f'"{PLANTED}" passes without the plugin and fails with it' in text
    assert "trigger: repeat_loop" in text and '"count": 2' in text
    assert "repeat_ignore_intents" in text
    assert "1 story expects the handover and passes with it" in text


@pytest.mark.parametrize(
    ("failing", "expected"),
    [
        pytest.param(["a"], "1 story fails with and without the plugin", id="one"),
        pytest.param(["a", "b"], "2 stories fail with and without", id="two"),
    ],
)
def test_report_counts_stories_that_fail_anyway(failing, expected) -> None:
    report = Report(Path("models/m.tar.gz"), 3, [], [], [], failing)

    assert expected in format_report(report)


# --- The configuration checks. ---------------------------------------------------


@pytest.mark.parametrize(
    "credentials, inbox, expected",
    [
        pytest.param(
            "rest:\n", None, "does not name the handover channel", id="no-channel"
        ),
        pytest.param(
            "rasa_handover.channels.HandoverInput:\n",
            None,
            "has no `inbox_config`",
            id="no-inbox-config",
        ),
        pytest.param(
            "rasa_handover.channels.HandoverInput: {inbox_config: inbox.yml}\n",
            "agents: []\n",
            "defines no agents",
            id="no-agents",
        ),
        pytest.param(
            "rasa_handover.channels.HandoverInput: {inbox_config: inbox.yml}\n",
            "agents: [{name: Maya}]\n",
            "token (or token_env) is required",
            id="agent-without-token",
        ),
        pytest.param(
            "rasa_handover.channels.HandoverInput: {inbox_config: gone.yml}\n",
            None,
            "cannot read",
            id="inbox-file-missing",
        ),
        pytest.param(
            "rasa_handover.channels.HandoverInput: {inbox_config: inbox.yml}\n",
            "agents: [{name: Maya, token: a-long-secret}]\n",
            None,
            id="complete",
        ),
    ],
)
def test_check_inbox_says_what_is_missing(
    tmp_path: Path, credentials: str, inbox: Any, expected: Any
) -> None:
    (tmp_path / "credentials.yml").write_text(credentials)
    if inbox is not None:
        (tmp_path / "inbox.yml").write_text(inbox)

    problems = check_inbox(tmp_path)

    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1 and expected in problems[0]


def test_check_domain_names_missing_handover_responses() -> None:
    from rasa.shared.core.domain import Domain

    fragment = check.FRAGMENT.read_text()
    domain = Domain.from_yaml(fragment.replace("  utter_handback:\n", "  utter_bye:\n"))

    problems = check.check_domain(domain)

    assert len(problems) == 1 and "responses utter_handback" in problems[0]
    assert check.check_domain(Domain.from_yaml(fragment)) == []


def test_no_model_says_how_to_get_one(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    parser = argparse.ArgumentParser()
    check.add_arguments(parser)

    assert check.run(parser.parse_args(["--bot", str(tmp_path)])) == 2
    assert "rasa train" in capsys.readouterr().err


# --- A real bot after init: train once, check. -------------------------------------


def train(bot: Path) -> Path:
    import rasa.api

    log = bot / "train.log"
    with open(log, "w") as out, contextlib.redirect_stdout(
        out
    ), contextlib.redirect_stderr(out):
        result = rasa.api.train(
            domain=str(bot / "domain"),
            config=str(bot / "config.yml"),
            training_files=[str(bot / "data")],
            output=str(bot / "models"),
        )
    assert result.code == 0 and result.model, f"training failed, see {log}"
    return Path(result.model)


@pytest.fixture(scope="module")
def shops(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Tuple[Path, Path]]:
    """Two shoe shop bots after `init`, trained: name -> (bot, model)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    bots = {}
    for name, domain_folder, planted in (
        ("single-domain-yml", False, True),
        ("domain-folder", True, False),
    ):
        bot = write_shop(tmp_path_factory.mktemp(name), domain_folder, planted)
        assert init(bot, "--move-domain", "--nlu", "en") == 0
        (bot / "tests" / "test_handover.yml").write_text(HANDOVER_STORY)
        bots[name] = (bot, train(bot))
    return bots


def run_check(bot: Path) -> Report:
    import asyncio

    model = check.newest_model(bot / "models")
    return asyncio.run(check.check_bot(bot, model, bot / "tests"))


@pytest.mark.integration
def test_init_again_after_training_changes_nothing(
    shops: Dict[str, Tuple[Path, Path]], capsys: pytest.CaptureFixture
) -> None:
    for bot, _ in shops.values():
        before = snapshot(bot)
        assert init(bot, "--move-domain", "--nlu", "en") == 0
        assert snapshot(bot) == before
    assert "nothing to change" in capsys.readouterr().out


@pytest.mark.integration
def test_check_reports_the_planted_repeat_and_nothing_else(
    shops: Dict[str, Tuple[Path, Path]],
) -> None:
    bot, _ = shops["single-domain-yml"]

    report = run_check(bot)

    # Its 3 stories (one asks to rephrase itself), the planted repeat, the handover.
    assert report.stories == 5
    assert [change.name for change in report.changes] == [PLANTED]
    change = report.changes[0]
    assert change.without_plugin.passed and not change.with_plugin.passed
    assert "predicted action_offer_handover" in change.with_plugin.first_error
    (decision,) = change.with_plugin.decisions
    assert decision.reason == "repeat_loop"
    assert decision.user_text == "has my order shipped"
    assert "order_status" in str(decision.evidence)
    # The bot's own stories and the handover story pass with the plugin.
    assert report.handover_stories == [HANDOVER]
    assert report.failing == []
    assert report.problems == []


@pytest.mark.integration
def test_check_on_an_unchanged_bot_passes(
    shops: Dict[str, Tuple[Path, Path]], capsys: pytest.CaptureFixture
) -> None:
    bot, _ = shops["domain-folder"]
    parser = argparse.ArgumentParser()
    check.add_arguments(parser)

    code = check.run(parser.parse_args(["--bot", str(bot)]))

    out = capsys.readouterr().out
    assert code == 0, out
    assert "changes none of your stories" in out
    assert "1 story expects the handover and passes with it" in out
    assert "configuration is complete" in out


@pytest.mark.integration
def test_the_policy_decides_again_after_check(
    shops: Dict[str, Tuple[Path, Path]],
) -> None:
    from rasa.core.agent import Agent

    _, model = shops["domain-folder"]
    agent = Agent.load(str(model))
    (node,) = check.handover_policy_nodes(agent)
    original = node._fn

    with check.policy_mode(agent, abstain=True, record=lambda *a: None):
        assert node._fn is not original
    assert node._fn is original
