"""The channel's memory and input limits (issue 11, Low 11 and 12, channel part).

The long poll is exercised through real HTTP on the channel registered like
`rasa run` does it (see tests/test_channel_input_guard.py); the mailbox and the
relay's per-conversation state directly.
"""

import asyncio
import logging
import uuid
from typing import Any, Dict, Tuple

import aiohttp
import pytest
from rasa.core.channels.channel import CollectingOutputChannel

from rasa_handover.bounded import LruDict
from rasa_handover.channels import HandoverInput
from rasa_handover.channels.mailbox import Mailbox
from rasa_handover.channels.relay import HandoverRelay
from rasa_handover.limits import MAX_TRACKED_CONVERSATIONS
from tests.test_channel_input_guard import PREFIX, served  # noqa: F401

Served = Tuple[str, HandoverInput, Any]


async def get(url: str, path: str) -> Tuple[int, Dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(
        f"{url}{PREFIX}{path}"
    ) as response:
        return response.status, await response.json()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param("wait=nan", "wait", id="wait-nan"),
        pytest.param("wait=inf", "wait", id="wait-infinite"),
        pytest.param("wait=-1", "wait", id="wait-negative"),
        pytest.param("wait=soon", "wait", id="wait-not-a-number"),
        pytest.param("after=inf", "after", id="after-infinite"),
        pytest.param("after=1.5", "after", id="after-not-an-integer"),
        pytest.param(f"after={2**64}", "after", id="after-above-int64"),
        pytest.param("after=-1", "after", id="after-negative"),
    ],
)
async def test_bad_poll_arguments_are_a_clear_400(
    served: Served,  # noqa: F811
    query: str,
    field: str,
) -> None:
    url, _, _ = served
    status, body = await get(url, f"/messages/c1?{query}")
    assert (status, body["field"]) == (400, field)
    assert field in body["error"]


async def test_an_over_long_conversation_id_is_a_400(served: Served) -> None:  # noqa: F811
    url, _, _ = served
    status, body = await get(url, f"/messages/{'x' * 300}?wait=0")
    assert (status, body["field"]) == (400, "conversation_id")


async def test_polling_random_ids_leaves_nothing_behind(served: Served) -> None:  # noqa: F811
    url, channel, _ = served
    polls = [
        get(url, f"/messages/{uuid.uuid4().hex}?wait=0.3&after=0") for _ in range(20)
    ]
    answers = await asyncio.gather(*polls)
    assert {status for status, _ in answers} == {200}
    assert channel.mailbox.waiting_count == 0
    assert channel.mailbox.conversation_count == 0


async def test_too_many_waiting_polls_are_told_to_retry(served: Served) -> None:  # noqa: F811
    url, channel, _ = served
    channel.mailbox = Mailbox(max_waiting=2)
    waiting = [
        asyncio.ensure_future(get(url, f"/messages/c{i}?wait=1")) for i in range(2)
    ]
    while channel.mailbox.waiting_count < 2:
        await asyncio.sleep(0.01)
    status, body = await get(url, "/messages/c3?wait=1")
    assert status == 429
    assert "retry" in body["error"]
    assert [status for status, _ in await asyncio.gather(*waiting)] == [200, 200]


def test_the_mailbox_evicts_the_least_recently_written_conversation() -> None:
    mailbox = Mailbox(size=2, max_conversations=2)
    first = mailbox.put("a", {"text": "1"})
    mailbox.put("b", {"text": "2"})
    mailbox.put("a", {"text": "3"})
    mailbox.put("c", {"text": "4"})  # evicts b, written least recently
    assert mailbox.conversation_count == 2
    assert mailbox.since("b", 0) == []
    assert [m["text"] for m in mailbox.since("a", first)] == ["3"]
    mailbox.put("a", {"text": "5"})
    mailbox.put("a", {"text": "6"})
    assert [m["text"] for m in mailbox.since("a", 0)] == ["5", "6"]  # 2 kept
    # Ids never go back: a re-created conversation continues above old ids.
    again = mailbox.put("b", {"text": "7"})
    assert again > first


def test_lru_dict_forgets_the_least_recently_used() -> None:
    cache: LruDict[str, int] = LruDict(2)
    cache["a"] = 1
    cache["b"] = 2
    assert cache.get("a") == 1  # a is now the most recently used
    cache["c"] = 3
    assert "b" not in cache
    assert (cache.get("a"), cache.get("c"), len(cache)) == (1, 3, 2)
    assert cache.pop("a") == 1
    assert cache.get("a", {}) == {}


async def test_the_relays_per_conversation_state_is_bounded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR)

    async def active(_: str) -> bool:
        return True

    relay = HandoverRelay("handover", CollectingOutputChannel, active, "help@x.com")
    output = CollectingOutputChannel()
    message = {"type": "unknown", "responses": {"utter_x": {"text": "x"}}}
    for i in range(MAX_TRACKED_CONVERSATIONS + 50):
        # Every plugin message keeps its conversation's response templates.
        await relay.handle_plugin_message(f"c{i}", message, output)
    assert len(relay._templates) == MAX_TRACKED_CONVERSATIONS
