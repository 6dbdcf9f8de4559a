"""HMAC signatures for the calls between a channel and a standalone inbox.

The sender signs `"<timestamp>." + raw body` with HMAC-SHA256 and a shared
secret, and sends::

    X-Handover-Timestamp: 1717000000
    X-Handover-Signature: sha256=<hex digest>

The timestamp is part of the signed message, so it cannot be swapped; requests
older (or further in the future) than `MAX_SIGNATURE_AGE_SECONDS` are rejected,
which bounds how long a captured request can be replayed.

Nothing here imports Sanic, SQLAlchemy or Rasa.
"""

import hashlib
import hmac
from typing import Dict, Mapping, Optional

SIGNATURE_HEADER = "X-Handover-Signature"
TIMESTAMP_HEADER = "X-Handover-Timestamp"
SIGNATURE_PREFIX = "sha256="
# Five minutes: generous for clock skew between hosts, short for replays.
MAX_SIGNATURE_AGE_SECONDS = 300


class SignatureError(ValueError):
    """A request's signature is missing, stale, malformed or wrong."""


def sign(body: bytes, secret: str, timestamp: int) -> Dict[str, str]:
    """Signs a request body.

    Args:
        body: The exact bytes that will be sent.
        secret: The shared secret.
        timestamp: Unix time in seconds.

    Returns:
        The two headers to send with the body.

    """
    return {
        TIMESTAMP_HEADER: str(int(timestamp)),
        SIGNATURE_HEADER: SIGNATURE_PREFIX + _digest(body, secret, int(timestamp)),
    }


def verify(body: bytes, headers: Mapping[str, str], secret: str, now: float) -> None:
    """Checks a signed request.

    Args:
        body: The raw request body as received.
        headers: The request headers (looked up case-insensitively).
        secret: The shared secret.
        now: Current unix time in seconds.

    Raises:
        SignatureError: with a message saying what is wrong.

    """
    if not secret:
        raise SignatureError("no shared secret configured")
    raw_timestamp = _header(headers, TIMESTAMP_HEADER)
    raw_signature = _header(headers, SIGNATURE_HEADER)
    if raw_timestamp is None:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} header")
    if raw_signature is None:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    try:
        timestamp = int(raw_timestamp.strip())
    except ValueError as error:
        raise SignatureError(f"{TIMESTAMP_HEADER} is not unix seconds") from error
    if abs(now - timestamp) > MAX_SIGNATURE_AGE_SECONDS:
        raise SignatureError(
            f"{TIMESTAMP_HEADER} is more than {MAX_SIGNATURE_AGE_SECONDS} s "
            "from the server's clock (replayed or clocks out of sync)"
        )
    signature = raw_signature.strip()
    if not signature.startswith(SIGNATURE_PREFIX):
        raise SignatureError(f"{SIGNATURE_HEADER} must start with '{SIGNATURE_PREFIX}'")
    expected = _digest(body, secret, timestamp)
    # compare_digest: the time taken must not reveal how many characters matched.
    if not hmac.compare_digest(
        signature[len(SIGNATURE_PREFIX) :].encode(), expected.encode()
    ):
        raise SignatureError("signature does not match the body")


def _digest(body: bytes, secret: str, timestamp: int) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _header(headers: Mapping[str, str], name: str) -> Optional[str]:
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, candidate in headers.items():
        if key.lower() == wanted:
            return candidate
    return None
