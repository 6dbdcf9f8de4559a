"""Rasa's check of the action server's answers, compiled once (action_results.py).

The same answers pass and fail as with Rasa's own `jsonschema.validate` call,
with the same message; a real action server's answers are checked in every
end-to-end test.
"""

from typing import Any, Dict

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from rasa_handover.channels.action_results import compile_action_result_check

HANDOVER_ANSWER = {
    "events": [{"event": "slot", "name": "handover_active", "value": True}],
    "responses": [{"custom": {"rasa_handover": {"type": "handover", "payload": {}}}}],
}


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(HANDOVER_ANSWER, id="a handover"),
        pytest.param({"events": [], "responses": []}, id="nothing"),
        pytest.param({"events": [{"event": "slot"}]}, id="a slot without a name"),
        pytest.param({"events": [{"event": "no_such_event"}]}, id="unknown event"),
        pytest.param({"events": "slot"}, id="events not a list"),
        pytest.param({"responses": ["hello"]}, id="a response not an object"),
    ],
)
def test_the_same_answers_pass_and_fail_as_with_rasas_own_check(
    answer: Dict[str, Any],
) -> None:
    compile_action_result_check()
    action = RemoteAction("action_handover", None)
    schema = action.action_response_format_spec()
    try:
        jsonschema.validate(answer, schema)
        expected = None
    except jsonschema.ValidationError as error:
        expected = error.message
    if expected is None:
        assert action._validate_action_result(answer) is True
    else:
        with pytest.raises(jsonschema.ValidationError) as raised:
            action._validate_action_result(answer)
        assert raised.value.message.startswith(expected)
        assert "Failed to validate Action server response" in raised.value.message


def test_installing_twice_changes_nothing() -> None:
    compile_action_result_check()
    installed = RemoteAction._validate_action_result
    compile_action_result_check()
    assert RemoteAction._validate_action_result is installed
