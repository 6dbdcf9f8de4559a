"""Messages for customers who poll over REST (agent replies, wait updates).

Socket.io customers get these pushed; REST clients read them with a long poll
(`GET /webhooks/handover/messages/<conversation_id>?after=<id>`). The mailbox is
in memory and bounded per conversation: it is a delivery buffer, not a record
(the inbox stores every message).
"""

import asyncio
from collections import deque
from typing import Any, Deque, Dict, List, Tuple

# Messages kept per conversation for clients that poll late.
MAILBOX_SIZE = 200


class Mailbox:
    """Per-conversation message buffers with increasing ids."""

    def __init__(self, size: int = MAILBOX_SIZE) -> None:
        """Creates an empty mailbox keeping `size` messages per conversation."""
        self._size = size
        self._messages: Dict[str, Deque[Tuple[int, Dict[str, Any]]]] = {}
        self._next_id: Dict[str, int] = {}
        self._changed: Dict[str, asyncio.Event] = {}

    def put(self, conversation_id: str, message: Dict[str, Any]) -> int:
        """Adds a message; returns its id (1, 2, ... per conversation)."""
        message_id = self._next_id.get(conversation_id, 0) + 1
        self._next_id[conversation_id] = message_id
        box = self._messages.setdefault(conversation_id, deque(maxlen=self._size))
        box.append((message_id, {**message, "id": message_id}))
        event = self._changed.pop(conversation_id, None)
        if event is not None:
            event.set()
        return message_id

    def since(self, conversation_id: str, after: int) -> List[Dict[str, Any]]:
        """Messages with an id above `after`, oldest first."""
        return [m for i, m in self._messages.get(conversation_id, ()) if i > after]

    async def wait(
        self, conversation_id: str, after: int, timeout: float
    ) -> List[Dict[str, Any]]:
        """Returns new messages at once, or waits up to `timeout` seconds for some."""
        messages = self.since(conversation_id, after)
        if messages or timeout <= 0:
            return messages
        event = self._changed.setdefault(conversation_id, asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except asyncio.TimeoutError:
            return []
        return self.since(conversation_id, after)
