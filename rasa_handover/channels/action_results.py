"""Rasa's check of an action server's answer, with its JSON schema compiled once.

Rasa 3.6 checks every answer of the action server (`RemoteAction.run`) with
`jsonschema.validate(answer, schema)`, which first checks the schema itself
against JSON Schema's meta-schema, on every call: Rasa's events schema is
large, so that costs about 10 ms of CPU per custom action on a quiet core
(40 ms on a busy one), ten times the check of the answer (docs/benchmarks.md,
"Handover latency"). The handover pays it once more than any other message
(`action_handover`), and so does every custom action of the bot.

`compile_action_result_check` replaces `RemoteAction._validate_action_result`
with the same check made by a validator built once per schema: the same
answers pass, the same `ValidationError` (Rasa's message appended) is raised
for the others. The handover channel installs it when it is created.
"""

import logging
from typing import Any, Dict

from jsonschema import validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

logger = logging.getLogger(__name__)

# The action class -> the validator of its answers (Rasa builds the same schema
# on every call, from the class's `action_response_format_spec`).
_VALIDATORS: Dict[type, Any] = {}


def compile_action_result_check() -> None:
    """Makes `RemoteAction` check answers with a validator built once."""
    if RemoteAction.__dict__.get("_validate_action_result") is not _check:
        RemoteAction._validate_action_result = _check


def _validator(action: RemoteAction) -> Any:
    kind = type(action)
    validator = _VALIDATORS.get(kind)
    if validator is None:
        schema = action.action_response_format_spec()
        cls = validators.validator_for(schema)
        cls.check_schema(schema)
        validator = _VALIDATORS[kind] = cls(schema)
    return validator


def _check(action: RemoteAction, result: Dict[str, Any]) -> bool:
    """What `RemoteAction._validate_action_result` does, the schema checked once.

    Raises:
        ValidationError: the answer does not fit Rasa's schema, with Rasa's
            explanation appended.

    """
    error = best_match(_validator(action).iter_errors(result))
    if error is not None:
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True
