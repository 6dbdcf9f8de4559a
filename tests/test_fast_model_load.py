"""The test run's faster model load answers exactly as Rasa's own.

Every Rasa model the suite loads is built eagerly (tests/fast_model_load.py).
This loads the example bot once each way, with the real action server, and
plays the same conversations through both: each message's intent ranking and
each predicted action, with its policy and confidence, must be the same. If a
Rasa upgrade changed how a model loads, this is the test that says so.
"""

import uuid
from typing import Any, List, Tuple

import pytest

from tests import fast_model_load
from tests.e2e.servers import ensure_example_model

pytestmark = pytest.mark.e2e

CONVERSATIONS = [
    ["hello", "where is my invoice for order 1182?", "thanks!"],
    ["I want a refund of $250", "this is useless, nothing works"],
    ["my tv app keeps crashing", "it still crashes", "talk to a human please"],
    ["asdf qwer", "what's the weather on mars", "ok"],
]


async def _play(agent: Any, texts: List[str]) -> List[Tuple[Any, ...]]:
    """What the agent understood and did, turn by turn, without timestamps."""
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    sender = f"fast-load-{uuid.uuid4().hex[:8]}"
    for text in texts:
        await agent.handle_message(
            UserMessage(text, CollectingOutputChannel(), sender_id=sender)
        )
    tracker = await agent.tracker_store.retrieve(sender)
    seen: List[Tuple[Any, ...]] = []
    for event in tracker.events:
        if event.type_name == "user":
            ranking = event.parse_data.get("intent_ranking", [])
            seen.append(
                (
                    "user",
                    event.text,
                    [(i["name"], round(i["confidence"], 6)) for i in ranking],
                )
            )
        elif event.type_name == "action":
            confidence = event.confidence
            seen.append(
                (
                    "action",
                    event.action_name,
                    event.policy,
                    None if confidence is None else round(confidence, 6),
                )
            )
    return seen


async def _conversations_with(agent: Any) -> List[List[Tuple[Any, ...]]]:
    return [await _play(agent, texts) for texts in CONVERSATIONS]


async def test_the_example_bot_answers_the_same_loaded_either_way(
    example_action_server: str,
) -> None:
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    model = str(ensure_example_model())
    endpoint = EndpointConfig(url=example_action_server)
    fast_model_load.uninstall()
    try:
        rasas_own = Agent.load(model, action_endpoint=endpoint)
    finally:
        fast_model_load.install()
    fast = Agent.load(model, action_endpoint=endpoint)

    expected = await _conversations_with(rasas_own)
    assert await _conversations_with(fast) == expected
    # The comparison saw real predictions, not two empty lists.
    assert sum(len(turns) for turns in expected) > 3 * sum(map(len, CONVERSATIONS))
