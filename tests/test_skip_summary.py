"""`make test` on a machine without Chromium or PostgreSQL says what it skipped.

A real pytest run in a subprocess, with the PostgreSQL address unset and
Chromium pointed at a path that does not exist: the end of its output lists
each skip reason with its tests and the one command that runs them.
"""

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import SKIP_SUMMARY_TITLE

ROOT = Path(__file__).resolve().parents[1]


def test_skipped_tests_are_explained_with_the_command_that_runs_them() -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key != "HANDOVER_TEST_POSTGRES_URL"
    }
    env["HANDOVER_TEST_CHROMIUM"] = "/nonexistent/chromium"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "tests/inbox/test_store.py",
            "tests/browser/test_customer_widget.py",
            "-k",
            "postgresql or agent_is_a_person",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout
    assert result.returncode == 0, output[-3000:]
    summary = output[output.index(SKIP_SUMMARY_TITLE) :]
    postgres = summary.index("skipped: the PostgreSQL tests need a server")
    browser = summary.index("skipped: the browser tests need Chromium")
    assert "in tests/inbox/test_store.py" in summary[postgres:]
    assert (
        "to run them: HANDOVER_TEST_POSTGRES_URL="
        "postgresql://postgres@127.0.0.1:5432/test make test"
    ) in summary[postgres:]
    assert "in tests/browser/test_customer_widget.py" in summary[browser:]
    assert (
        "to run them: apt-get update && apt-get install -y chromium"
        in summary[browser:]
    )
