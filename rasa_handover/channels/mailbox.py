"""Messages for customers who poll over REST (agent replies, wait updates).

Socket.io customers get these pushed; REST clients read them with a long poll
(`GET /webhooks/handover/messages/<conversation_id>?after=<id>&wait=<seconds>`).
The mailbox is a delivery buffer in memory, not a record (the inbox stores every
message), and bounded in every direction (`rasa_handover.limits`):

* `MAILBOX_SIZE` messages per conversation;
* `MAX_MAILBOX_CONVERSATIONS` conversations: a new one evicts the one that
  received a message least recently;
* `MAX_WAITING_POLLS` polls waiting at once (more raise `MailboxBusyError`, a
  429 for the client), and a poll leaves nothing behind when it ends: polling
  unknown ids creates no state.

Message ids increase across the whole mailbox (a conversation's ids increase,
with gaps), so an evicted and re-created conversation never reuses an id that a
client has already seen.

`CustomerMailbox` is what the channel needs of a mailbox; `Mailbox` here is the
one process's, `redis_state.RedisMailbox` the one every Rasa replica shares
(credentials.yml `redis_url`).
"""

import asyncio
from collections import OrderedDict, deque
from typing import Any, Deque, Dict, List, Protocol, Tuple

from rasa_handover.limits import MAX_MAILBOX_CONVERSATIONS, MAX_WAITING_POLLS

# Messages kept per conversation for clients that poll late.
MAILBOX_SIZE = 200

_Box = Deque[Tuple[int, Dict[str, Any]]]


class MailboxBusyError(Exception):
    """Too many long polls are waiting already; the client should retry later."""


class MailboxUnavailableError(Exception):
    """The shared mailbox (Redis) cannot be reached; the client should retry."""


class CustomerMailbox(Protocol):
    """Where messages wait for REST customers: `post` one, `wait` for them."""

    async def post(self, conversation_id: str, message: Dict[str, Any]) -> int:
        """Adds a message for the conversation; returns its id (ids increase)."""
        ...

    async def wait(
        self, conversation_id: str, after: int, timeout: float
    ) -> List[Dict[str, Any]]:
        """Messages with an id above `after`, waiting up to `timeout` for some.

        Raises:
            MailboxBusyError: too many polls are waiting already.

        """
        ...


class _Waiters:
    """The long polls waiting for one conversation: one event, how many wait."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.count = 0


class Mailbox:
    """Per-conversation message buffers with increasing ids."""

    def __init__(
        self,
        size: int = MAILBOX_SIZE,
        max_conversations: int = MAX_MAILBOX_CONVERSATIONS,
        max_waiting: int = MAX_WAITING_POLLS,
    ) -> None:
        """Creates an empty mailbox (see the module docstring for the bounds)."""
        self._size = size
        self._max_conversations = max_conversations
        self._max_waiting = max_waiting
        # Least recently written first.
        self._boxes: OrderedDict[str, _Box] = OrderedDict()
        self._last_id = 0
        self._waiters: Dict[str, _Waiters] = {}
        self._waiting = 0

    @property
    def conversation_count(self) -> int:
        """How many conversations have buffered messages."""
        return len(self._boxes)

    @property
    def waiting_count(self) -> int:
        """How many long polls are waiting now."""
        return self._waiting

    def put(self, conversation_id: str, message: Dict[str, Any]) -> int:
        """Adds a message; returns its id."""
        self._last_id += 1
        box = self._boxes.pop(conversation_id, None)
        if box is None:
            box = deque(maxlen=self._size)
        self._boxes[conversation_id] = box
        box.append((self._last_id, {**message, "id": self._last_id}))
        while len(self._boxes) > self._max_conversations:
            self._boxes.popitem(last=False)
        waiters = self._waiters.pop(conversation_id, None)
        if waiters is not None:
            waiters.event.set()
        return self._last_id

    async def post(self, conversation_id: str, message: Dict[str, Any]) -> int:
        """`put`, for the `CustomerMailbox` protocol."""
        return self.put(conversation_id, message)

    def since(self, conversation_id: str, after: int) -> List[Dict[str, Any]]:
        """Messages with an id above `after`, oldest first."""
        return [m for i, m in self._boxes.get(conversation_id, ()) if i > after]

    async def wait(
        self, conversation_id: str, after: int, timeout: float
    ) -> List[Dict[str, Any]]:
        """Returns new messages at once, or waits up to `timeout` seconds for some.

        Raises:
            MailboxBusyError: `max_waiting` polls are waiting already.

        """
        messages = self.since(conversation_id, after)
        if messages or timeout <= 0:
            return messages
        if self._waiting >= self._max_waiting:
            raise MailboxBusyError(
                f"{self._waiting} long polls are waiting already; retry in a "
                f"few seconds."
            )
        waiters = self._waiters.setdefault(conversation_id, _Waiters())
        waiters.count += 1
        self._waiting += 1
        try:
            await asyncio.wait_for(waiters.event.wait(), timeout)
        except asyncio.TimeoutError:
            return []
        finally:
            self._waiting -= 1
            waiters.count -= 1
            if waiters.count == 0 and self._waiters.get(conversation_id) is waiters:
                del self._waiters[conversation_id]
        return self.since(conversation_id, after)
