"""The decision modules stay pure: no Sanic, SQLAlchemy or Rasa imports."""

import ast
import subprocess
import sys
from pathlib import Path
from typing import Set

import pytest

import rasa_handover.inbox as inbox

INBOX = Path(inbox.__file__).parent
FORBIDDEN = {
    "sanic",
    "sqlalchemy",
    "rasa",
    "rasa_sdk",
    "aiohttp",
    "aiosqlite",
    "asyncpg",
}


def imported_modules(path: Path) -> Set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize(
    "module",
    [
        "router.py",
        "presence.py",
        "access.py",
        "limits.py",
        "wait_estimate.py",
        "signing.py",
        "stream_tickets.py",
        "models.py",
        "errors.py",
        "contract.py",
        "views.py",
    ],
)
def test_decision_module_imports_nothing_heavy(module: str) -> None:
    assert imported_modules(INBOX / module) & FORBIDDEN == set()


def test_importing_the_package_loads_neither_sanic_nor_sqlalchemy() -> None:
    code = (
        "import sys, rasa_handover.inbox as i; i.route; i.estimate_wait; "
        "print(sorted(m for m in ('sanic', 'sqlalchemy') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
