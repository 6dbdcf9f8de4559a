"""What several Rasa replicas share through Redis (credentials.yml `redis_url`).

One Rasa server keeps the REST mailbox in memory and the applied inbox event
ids in its SQLite outbox file. Behind a load balancer, every replica must see
the same ones, so with `redis_url` they live in Redis:

* `RedisMailbox`: the REST customers' messages, one Redis stream per
  conversation (`<prefix>mailbox:<conversation id>`), entry ids from one
  counter (`<prefix>mailbox:last-id`), so ids increase as in `Mailbox`. Bounded
  as that one: `MAILBOX_SIZE` messages a conversation, `MAX_MAILBOX_CONVERSATIONS`
  conversations (the least recently written is dropped), and a conversation
  nobody wrote to for `MAILBOX_TTL_SECONDS` expires. A long poll waits on the
  stream (`XREAD BLOCK`), so a message posted by any replica wakes it.
* `RedisAppliedEvents`: an inbox event id is claimed with `SET NX` (expiring
  after `APPLYING_SECONDS`, should the replica die applying it) and recorded as
  applied for `APPLIED_RETENTION_SECONDS`: an event delivered to two replicas
  is applied by one.
* `RedisRelayMemory`: the relay's per-conversation courtesies (the response
  templates and the agent last announced, `relay.SharedMemory`), so that the
  replica applying an event says what the one that took the handover would;
  expiring with the mailbox.

socket.io rooms cross replicas through python-socketio's own
`AsyncRedisManager` (`handover_input`). See docs/scaling.md.
"""

import contextlib
import json
import logging
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlparse

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from rasa_handover.channels.inbox_events import (
    APPLIED,
    APPLIED_RETENTION_SECONDS,
    APPLYING,
    CLAIMED,
    AppliedIdsUnavailableError,
)
from rasa_handover.channels.mailbox import (
    MAILBOX_SIZE,
    MailboxBusyError,
    MailboxUnavailableError,
)
from rasa_handover.constants import CHANNEL_CREDENTIALS_KEY
from rasa_handover.limits import MAX_MAILBOX_CONVERSATIONS, MAX_WAITING_POLLS

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "rasa_handover:"
# A conversation's mailbox nobody wrote to for this long is dropped.
MAILBOX_TTL_SECONDS = 24 * 3600
# A claimed event not applied within this long may be claimed again (the
# replica applying it died).
APPLYING_SECONDS = 30
REDIS_SCHEMES = ("redis", "rediss", "unix")
_WHERE = CHANNEL_CREDENTIALS_KEY

# Atomically: the next id, the message under it, the bounds. KEYS: the counter,
# the index of conversations (score: last id), the conversation's stream.
# ARGV: the message (JSON), the conversation id, its size, the most
# conversations, the TTL, the stream key prefix.
_POST = """
local id = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[3], 'MAXLEN', ARGV[3], id .. '-0', 'm', ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[5])
redis.call('ZADD', KEYS[2], id, ARGV[2])
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if excess > 0 then
  for i, item in ipairs(redis.call('ZPOPMIN', KEYS[2], excess)) do
    if i % 2 == 1 then redis.call('DEL', ARGV[6] .. item) end
  end
end
return id
"""


def checked_redis_url(value: Any) -> Optional[str]:
    """The `redis_url` of credentials.yml, or None if it is not set.

    Raises:
        ValueError: it is no `redis://`, `rediss://` or `unix://` URL.

    """
    if value is None:
        return None
    parsed = urlparse(value) if isinstance(value, str) else None
    if (
        parsed is None
        or parsed.scheme not in REDIS_SCHEMES
        or not (parsed.hostname or parsed.path)
    ):
        raise ValueError(
            f"{_WHERE}: `redis_url` must be a Redis URL such as "
            f"`redis://redis:6379/0` (schemes {', '.join(REDIS_SCHEMES)}), got "
            f"{value!r}. Every Rasa replica shares the REST mailbox, the socket.io "
            f"rooms and the applied inbox events through it (see docs/scaling.md)."
        )
    return value


def checked_prefix(value: Any) -> str:
    """The `redis_prefix` of credentials.yml (keys and the socket.io channel).

    Raises:
        ValueError: it is not a non-empty string without spaces.

    """
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        raise ValueError(
            f"{_WHERE}: `redis_prefix` must be a non-empty string without spaces "
            f"(e.g. `rasa_handover:`), got {value!r}: every replica of one bot "
            f"uses the same one, another bot on the same Redis another."
        )
    return value


def connect(url: str) -> "aioredis.Redis":
    """A client for `url` (it connects on first use)."""
    return aioredis.Redis.from_url(url)


async def check_reachable(client: "aioredis.Redis", url: str) -> None:
    """Raises a RuntimeError saying what to fix unless Redis answers a PING."""
    try:
        await client.ping()
    except (RedisError, OSError) as error:
        raise RuntimeError(
            f"{_WHERE}: Redis at `redis_url` {_without_password(url)} does not "
            f"answer ({error}). Start it, or fix `redis_url` in credentials.yml; "
            f"several Rasa replicas need it to share customers' messages (see "
            f"docs/scaling.md)."
        ) from error


class RedisMailbox:
    """The REST mailbox in Redis, shared by every replica (`CustomerMailbox`)."""

    def __init__(
        self,
        client: "aioredis.Redis",
        prefix: str = DEFAULT_PREFIX,
        size: int = MAILBOX_SIZE,
        max_conversations: int = MAX_MAILBOX_CONVERSATIONS,
        max_waiting: int = MAX_WAITING_POLLS,
        ttl_seconds: int = MAILBOX_TTL_SECONDS,
    ) -> None:
        """Creates the mailbox on `client`, its keys under `prefix`."""
        self._client = client
        self._streams = f"{prefix}mailbox:"
        self._counter = f"{prefix}mailbox-last-id"
        self._index = f"{prefix}mailbox-conversations"
        self._size = size
        self._max_conversations = max_conversations
        self._max_waiting = max_waiting
        self._ttl = ttl_seconds
        self._post = client.register_script(_POST)
        self._waiting = 0

    @property
    def waiting_count(self) -> int:
        """How many long polls wait on this replica now."""
        return self._waiting

    async def post(self, conversation_id: str, message: Dict[str, Any]) -> int:
        """Adds a message for the conversation; returns its id.

        Raises:
            MailboxUnavailableError: Redis cannot be reached.

        """
        try:
            message_id = await self._post(
                keys=[self._counter, self._index, self._streams + conversation_id],
                args=[
                    json.dumps(message),
                    conversation_id,
                    self._size,
                    self._max_conversations,
                    self._ttl,
                    self._streams,
                ],
            )
        except RedisError as error:
            raise _mailbox_unavailable(error) from error
        return int(message_id)

    async def since(self, conversation_id: str, after: int) -> List[Dict[str, Any]]:
        """Messages with an id above `after`, oldest first."""
        try:
            entries = await self._client.xrange(
                self._streams + conversation_id, min=f"{after + 1}-0"
            )
        except RedisError as error:
            raise _mailbox_unavailable(error) from error
        return [_message(entry) for entry in entries]

    async def wait(
        self, conversation_id: str, after: int, timeout: float
    ) -> List[Dict[str, Any]]:
        """Returns new messages at once, or waits up to `timeout` seconds for some.

        Raises:
            MailboxBusyError: `max_waiting` polls wait on this replica already.
            MailboxUnavailableError: Redis cannot be reached.

        """
        messages = await self.since(conversation_id, after)
        if messages or timeout <= 0:
            return messages
        if self._waiting >= self._max_waiting:
            raise MailboxBusyError(
                f"{self._waiting} long polls are waiting already; retry in a "
                f"few seconds."
            )
        self._waiting += 1
        try:
            # Entries after `after`, including any posted since `since` read.
            answer = await self._client.xread(
                {self._streams + conversation_id: f"{after}-0"},
                block=max(1, int(timeout * 1000)),
            )
        except RedisError as error:
            raise _mailbox_unavailable(error) from error
        finally:
            self._waiting -= 1
        return [_message(entry) for _, entries in answer or () for entry in entries]


class RedisAppliedEvents:
    """The applied inbox event ids in Redis, shared by every replica (`AppliedIds`)."""

    def __init__(self, client: "aioredis.Redis", prefix: str = DEFAULT_PREFIX) -> None:
        """Keeps the ids on `client`, under `prefix`."""
        self._client = client
        self._keys = f"{prefix}applied-event:"

    async def claim(self, event_id: int) -> str:
        """`CLAIMED`, `APPLYING` or `APPLIED` (see `inbox_events.AppliedIds`)."""
        key = f"{self._keys}{event_id}"
        try:
            if await self._client.set(key, APPLYING, nx=True, ex=APPLYING_SECONDS):
                return CLAIMED
            state = await self._client.get(key)
        except RedisError as error:
            raise _unavailable(error) from error
        return APPLIED if state == APPLIED.encode() else APPLYING

    async def done(self, event_id: int) -> None:
        """Records the claimed event as applied, for `APPLIED_RETENTION_SECONDS`."""
        try:
            await self._client.set(
                f"{self._keys}{event_id}", APPLIED, ex=APPLIED_RETENTION_SECONDS
            )
        except RedisError as error:
            raise _unavailable(error) from error

    async def release(self, event_id: int) -> None:
        """The claimed event may be claimed again (at once, or when it expires)."""
        # Unreachable: the claim expires after APPLYING_SECONDS.
        with contextlib.suppress(RedisError):
            await self._client.delete(f"{self._keys}{event_id}")

    def close(self) -> None:
        """Nothing to close: the channel closes the Redis client."""


class RedisRelayMemory:
    """The relay's per-conversation state in Redis (`relay.SharedMemory`)."""

    def __init__(
        self,
        client: "aioredis.Redis",
        prefix: str = DEFAULT_PREFIX,
        ttl_seconds: int = MAILBOX_TTL_SECONDS,
    ) -> None:
        """Keeps the state on `client`, under `prefix`, `ttl_seconds` after a write."""
        self._client = client
        self._keys = f"{prefix}relay:"
        self._ttl = ttl_seconds

    async def load(self, conversation_id: str) -> Optional[Dict[str, Any]]:
        """The state shared last, or None (also when Redis cannot be reached)."""
        try:
            stored = await self._client.get(self._keys + conversation_id)
        except RedisError as error:
            logger.warning(f"rasa-handover: relay state not read from Redis: {error}")
            return None
        return json.loads(stored) if stored else None

    async def save(self, conversation_id: str, state: Dict[str, Any]) -> None:
        """Shares the state; a Redis failure is logged (this replica keeps it)."""
        try:
            await self._client.set(
                self._keys + conversation_id, json.dumps(state), ex=self._ttl
            )
        except RedisError as error:
            logger.warning(f"rasa-handover: relay state not shared in Redis: {error}")


def _message(entry: Tuple[bytes, Dict[bytes, bytes]]) -> Dict[str, Any]:
    entry_id, fields = entry
    return {**json.loads(fields[b"m"]), "id": int(entry_id.split(b"-")[0])}


def _mailbox_unavailable(error: Exception) -> MailboxUnavailableError:
    return MailboxUnavailableError(
        f"Redis, where customers' messages wait, cannot be reached ({error}); "
        f"retry in a few seconds."
    )


def _unavailable(error: Exception) -> AppliedIdsUnavailableError:
    return AppliedIdsUnavailableError(
        f"Redis, where the applied inbox events are kept, cannot be reached "
        f"({error}); the inbox delivers the event again."
    )


def _without_password(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    return url.replace(f":{parsed.password}@", ":***@", 1)
