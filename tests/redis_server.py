"""The Redis server the replica tests share, and a key prefix of their own.

Tests that need Redis read its URL from `HANDOVER_TEST_REDIS_URL` (e.g.
`redis://127.0.0.1:6379/0`) and are skipped without it. Each test uses keys
under a random prefix (`fresh_prefix`), deleted afterwards, so runs never
collide.
"""

import os
import uuid
from typing import Optional

import pytest

from tests.conftest import skip_reason

REDIS_ENV = "HANDOVER_TEST_REDIS_URL"
REDIS_SKIP_REASON = skip_reason(
    f"the Redis tests need a server: {REDIS_ENV} is not set",
    f"{REDIS_ENV}=redis://127.0.0.1:6379/0 make test",
)


def redis_url() -> Optional[str]:
    return os.environ.get(REDIS_ENV) or None


requires_redis = pytest.mark.skipif(redis_url() is None, reason=REDIS_SKIP_REASON)


def fresh_prefix() -> str:
    """Keys of one test: `rasa_handover_test:<random>:`."""
    return f"rasa_handover_test:{uuid.uuid4().hex[:12]}:"


def delete_keys(url: str, prefix: str) -> None:
    """Deletes every key under `prefix` (a test's own)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            client.delete(key)
    finally:
        client.close()
