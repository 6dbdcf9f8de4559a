"""Agent tokens too short to be safe are refused where an inbox starts (issue 11, 10).

Both ways an inbox starts are run for real: `rasa-handover inbox` (its `run`,
which returns before serving on a configuration error) and the handover
channel's embedded inbox (`HandoverInput.blueprint`, what `rasa run` calls).
The demo (`example_bot/demo.py`) sets `RASA_HANDOVER_DEMO=1` and keeps its
short, memorable tokens.
"""

import argparse
import logging
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from rasa.core.channels.channel import UserMessage

from rasa_handover.channels.handover_input import HandoverInput
from rasa_handover.inbox import cli
from rasa_handover.inbox.config import (
    DEMO_ENV,
    MIN_TOKEN_CHARS,
    TOKEN_COMMAND,
    InboxConfig,
    InboxConfigError,
    check_agent_tokens,
)
from rasa_handover.setup_bot import starter_inbox

DEMO_INBOX = Path(__file__).resolve().parents[2] / "example_bot" / "inbox.yml"


def inbox_yml(tmp_path: Path, token: str) -> Path:
    path = tmp_path / "inbox.yml"
    path.write_text(f"agents:\n  - name: Maya\n    token: {token}\n")
    return path


def cli_args(config: Path, tmp_path: Path) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(
        ["--config", str(config), "--db", f"sqlite:///{tmp_path / 'inbox.db'}"]
    )


def test_the_standalone_inbox_refuses_a_short_token_and_says_how_to_fix_it(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DEMO_ENV, raising=False)
    config = inbox_yml(tmp_path, "maya-token")

    assert cli.run(cli_args(config, tmp_path)) == 2

    error = capsys.readouterr().err
    assert "agents[0] (Maya)" in error  # which agent
    assert f"shorter than {MIN_TOKEN_CHARS} characters" in error  # why
    assert TOKEN_COMMAND in error  # how to fix it
    assert DEMO_ENV in error


def test_the_embedded_inbox_refuses_a_short_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DEMO_ENV, raising=False)
    channel = HandoverInput(
        db=f"sqlite:///{tmp_path / 'handover.db'}",
        inbox_config=str(inbox_yml(tmp_path, "secret")),
        outbox=str(tmp_path / "outbox.db"),
    )

    async def on_new_message(message: UserMessage) -> None:
        pass

    with pytest.raises(InboxConfigError, match=r"agents\[0\] \(Maya\)"):
        channel.blueprint(on_new_message)


def test_the_documented_command_makes_a_token_that_is_accepted() -> None:
    command = shlex.split(TOKEN_COMMAND)
    assert command[0] == "python"
    token = subprocess.run(
        [sys.executable, *command[1:]], capture_output=True, text=True, check=True
    ).stdout.strip()
    config = InboxConfig.from_dict({"agents": [{"name": "Maya", "token": token}]})

    check_agent_tokens(config, environ={})  # no error


def test_rasa_handover_init_generates_an_accepted_token(tmp_path: Path) -> None:
    path = tmp_path / "inbox.yml"
    path.write_text(starter_inbox("Maya", "en"))

    check_agent_tokens(InboxConfig.from_yaml(path), environ={})  # no error


@pytest.mark.parametrize(
    "length, refused",
    [
        pytest.param(MIN_TOKEN_CHARS - 1, True, id="one-short"),
        pytest.param(MIN_TOKEN_CHARS, False, id="exactly-the-minimum"),
    ],
)
def test_the_minimum_is_exact(length: int, refused: bool) -> None:
    agents = [{"name": "Maya", "token": "x" * length}]
    config = InboxConfig.from_dict({"agents": agents})
    if refused:
        with pytest.raises(InboxConfigError):
            check_agent_tokens(config, environ={})
    else:
        check_agent_tokens(config, environ={})


def test_the_demo_keeps_its_tokens_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = InboxConfig.from_yaml(DEMO_INBOX)
    with pytest.raises(InboxConfigError):
        check_agent_tokens(config, environ={})  # outside the demo: refused

    with caplog.at_level(logging.WARNING):
        check_agent_tokens(config, environ={DEMO_ENV: "1"})

    assert f"{DEMO_ENV}=1 (the demo)" in caplog.text
    assert "never run real customers like this" in caplog.text


def test_the_demo_starts_its_servers_with_the_demo_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from example_bot import demo

    monkeypatch.delenv(DEMO_ENV, raising=False)
    name = "test-demo-variable"
    process = demo.start(
        name, [sys.executable, "-c", f"import os; print(os.environ['{DEMO_ENV}'])"]
    )
    assert process.wait(timeout=60) == 0

    assert (demo.LOGS / f"demo-{name}.log").read_text().strip() == "1"
