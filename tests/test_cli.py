"""`rasa-handover`'s entry point: each command imports only what it needs."""

import subprocess
import sys

import pytest

from rasa_handover.cli import COMMANDS, chosen_command

# Prints which heavy modules a command line imported, then runs it.
PROBE = """
import sys
from rasa_handover.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("IMPORTED", sorted(m for m in ("rasa", "tensorflow") if m in sys.modules))
"""


def _imported(*argv: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.rsplit("IMPORTED", 1)[1].strip()


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--help"], id="top-level-help"),
        pytest.param(["--version"], id="version"),
        pytest.param(["inbox", "--help"], id="standalone-inbox"),
        pytest.param(["init", "--help"], id="init"),
    ],
)
def test_commands_that_do_not_need_rasa_start_without_importing_it(argv):
    """`rasa-handover --help` and the standalone inbox answer in a fraction of a
    second: neither imports Rasa or TensorFlow (several seconds on start)."""
    assert _imported(*argv) == "[]"


def test_only_the_chosen_commands_module_is_imported_and_its_options_shown():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from rasa_handover.cli import COMMANDS, main\n"
            "try:\n    main(['init', '--help'])\nexcept SystemExit:\n    pass\n"
            "print('MODULES', sorted(n for n, (m, _) in COMMANDS.items() "
            "if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "--dry-run" in result.stdout  # init's own options
    assert result.stdout.rsplit("MODULES", 1)[1].strip() == "['init']"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(["init", "--dry-run"], "init", id="command-first"),
        pytest.param(["--version"], None, id="option-only"),
        pytest.param(["nonsense"], None, id="unknown-command"),
        pytest.param([], None, id="nothing"),
    ],
)
def test_chosen_command(argv, expected):
    assert chosen_command(argv) == expected


def test_every_command_lists_in_the_top_level_help(capsys):
    from rasa_handover.cli import main

    assert main([]) == 2
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out
