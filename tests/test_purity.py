"""The decision modules stay pure, and the configuration modules stay apart.

- `validation.py` is a leaf: it imports nothing else of the package;
- `settings.py` and `intent_properties.py` do not import each other, not even
  for typing;
- the decision code (settings, domain declarations, thresholds, triggers) loads
  neither Rasa nor a web server, so that it stays cheap for the action server and
  testable on its own.
"""

import ast
import subprocess
import sys
from pathlib import Path
from typing import Set

import pytest

import rasa_handover

PACKAGE = Path(rasa_handover.__file__).parent
HEAVY = ("rasa", "rasa_sdk", "sanic", "sqlalchemy")
DECISION_MODULES = (
    "rasa_handover.validation",
    "rasa_handover.settings",
    "rasa_handover.intent_properties",
    "rasa_handover.thresholds",
    "rasa_handover.triggers",
    "rasa_handover.person_requests",
    "rasa_handover.callback_details",
    "rasa_handover.time_zones",
)


def imports_of(relative_path: str) -> Set[str]:
    """Every module a file imports, wherever the import stands (TYPE_CHECKING too)."""
    tree = ast.parse((PACKAGE / relative_path).read_text(encoding="utf-8"))
    found: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_validation_is_a_leaf() -> None:
    package_imports = {
        name for name in imports_of("validation.py") if name.startswith("rasa_handover")
    }
    assert package_imports == set()


@pytest.mark.parametrize(
    "path, other",
    [
        pytest.param("settings.py", "rasa_handover.intent_properties", id="settings"),
        pytest.param(
            "intent_properties.py", "rasa_handover.settings", id="intent-properties"
        ),
    ],
)
def test_settings_and_domain_declarations_do_not_import_each_other(
    path: str, other: str
) -> None:
    assert other not in imports_of(path)


@pytest.mark.parametrize("module", DECISION_MODULES)
def test_decision_module_loads_nothing_heavy(module: str) -> None:
    code = (
        f"import sys, {module}; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
