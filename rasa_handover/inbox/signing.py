"""HMAC signatures for the calls between a channel and a standalone inbox.

The one module that signs and verifies: the channel signs its calls to the
inbox and verifies the inbox's event deliveries, the inbox the other way round;
both import this. The sender signs, with HMAC-SHA256 and the key of its
direction (`SigningKeys`), the canonical request::

    rasa-handover-v2
    <METHOD>
    <path?query>          exactly as sent, percent-encoding and all
    <timestamp>           unix seconds
    <nonce>               random, never reused
    <sha256 hex of the raw body>

and sends::

    X-Handover-Timestamp: 1717000000
    X-Handover-Nonce: 5f0c...
    X-Handover-Signature: v2=<hex digest>

A captured signature is therefore good for one method, one path and query, one
body, and one use: the receiver (`Verifier`) refuses a timestamp further than
`MAX_SIGNATURE_AGE_SECONDS` from its clock and a nonce it has seen within that
window (`NonceCache`, bounded, per process; the inbox also records each nonce in
its database, `store.replay`, so a replay to another replica is refused too).
A signature of one direction is refused in the other (different keys).

Nothing here imports Sanic, SQLAlchemy or Rasa.
"""

import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Dict, Mapping, Optional, Tuple
from urllib.parse import urlsplit

SIGNATURE_HEADER = "X-Handover-Signature"
TIMESTAMP_HEADER = "X-Handover-Timestamp"
NONCE_HEADER = "X-Handover-Nonce"
SIGNATURE_PREFIX = "v2="
# What versions before the v2 scheme sent (they signed only timestamp.body).
LEGACY_SIGNATURE_PREFIX = "sha256="
SCHEME = "rasa-handover-v2"
# Five minutes: generous for clock skew between hosts, short for replays.
MAX_SIGNATURE_AGE_SECONDS = 300
# Nonces remembered at most; at 100 signed calls a second for the whole
# window that is 30,000, so this is rarely reached (see `NonceCache`).
NONCE_CACHE_SIZE = 100_000
NONCE_BYTES = 16
_NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")

# The two directions; each has its own key.
CHANNEL_TO_INBOX = "channel-to-inbox"
INBOX_TO_CHANNEL = "inbox-to-channel"


class SignatureError(ValueError):
    """A request's signature is missing, stale, replayed, malformed or wrong."""


def direction_key(shared_secret: str, direction: str) -> str:
    """The key of one direction derived from a single shared secret.

    A configuration with only `shared_secret` (how versions before per-direction
    keys were set up) keeps working: each direction signs with its own key
    derived from it, so a request signed for one direction is refused in the
    other.
    """
    label = f"{SCHEME}/{direction}".encode()
    return hmac.new(shared_secret.encode(), label, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SigningKeys:
    """The two HMAC keys: what the channel signs with, what the inbox signs with.

    Attributes:
        channel_to_inbox: Signs the channel's calls; the inbox verifies them.
        inbox_to_channel: Signs the inbox's event deliveries; the channel
            verifies them.

    """

    channel_to_inbox: str
    inbox_to_channel: str

    @classmethod
    def from_settings(
        cls,
        shared_secret: Optional[str] = None,
        channel_to_inbox: Optional[str] = None,
        inbox_to_channel: Optional[str] = None,
        where: str = "",
    ) -> Optional["SigningKeys"]:
        """The keys a configuration names, or None when it names none.

        Each direction's own secret wins; a direction without one uses the key
        derived from `shared_secret` (`direction_key`).

        Raises:
            ValueError: one direction has a key and the other none (set both,
                or `shared_secret`).

        """
        if not (shared_secret or channel_to_inbox or inbox_to_channel):
            return None
        to_inbox = channel_to_inbox or (
            direction_key(shared_secret, CHANNEL_TO_INBOX) if shared_secret else None
        )
        to_channel = inbox_to_channel or (
            direction_key(shared_secret, INBOX_TO_CHANNEL) if shared_secret else None
        )
        if not to_inbox or not to_channel:
            prefix = f"{where}: " if where else ""
            raise ValueError(
                f"{prefix}set both `channel_to_inbox_secret` and "
                "`inbox_to_channel_secret` (one key per direction), or "
                "`shared_secret` to derive both (see docs/security.md)"
            )
        if to_inbox == to_channel:
            prefix = f"{where}: " if where else ""
            raise ValueError(
                f"{prefix}`channel_to_inbox_secret` and `inbox_to_channel_secret` "
                "must differ: one key per direction (see docs/security.md)"
            )
        return cls(to_inbox, to_channel)


def request_target(url_or_path: str, query: str = "") -> str:
    """The `path?query` that is signed: from a full URL, or a path and a query.

    Args:
        url_or_path: `http://host/x/y?a=1` or `/x/y` (a query in it is kept).
        query: The raw query string (without `?`), added to a bare path.

    """
    parts = urlsplit(url_or_path)
    path = parts.path or "/"
    raw_query = parts.query or query
    return f"{path}?{raw_query}" if raw_query else path


def sign(
    method: str,
    target: str,
    body: bytes,
    key: str,
    timestamp: Optional[int] = None,
    nonce: Optional[str] = None,
) -> Dict[str, str]:
    """Signs one request.

    Args:
        method: The HTTP method (`GET`, `POST`).
        target: The full URL or `path?query` the request goes to (the URL is
            sent exactly as given: build it encoded, see `request_target`).
        body: The exact bytes that will be sent (`b""` for a GET).
        key: The key of the sender's direction (`SigningKeys`).
        timestamp: Unix seconds (default: now).
        nonce: A value never used before (default: a random one).

    Returns:
        The three headers to send.

    """
    timestamp = int(time.time() if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(NONCE_BYTES)
    digest = _digest(method, request_target(target), body, key, timestamp, nonce)
    return {
        TIMESTAMP_HEADER: str(timestamp),
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: SIGNATURE_PREFIX + digest,
    }


class NonceCache:
    """The nonces seen within the signature window: bounded, expiring.

    A nonce is remembered until its timestamp leaves the window (a replay after
    that is refused for its age). When `capacity` nonces are in the window, the
    oldest is forgotten and the cache refuses every request at least as old as
    it (`floor`): a forgotten nonce can never be replayed, and honest senders,
    whose requests are fresh, are not affected.
    """

    def __init__(
        self,
        capacity: int = NONCE_CACHE_SIZE,
        window_seconds: float = MAX_SIGNATURE_AGE_SECONDS,
    ) -> None:
        """Creates an empty cache of at most `capacity` nonces."""
        self.capacity = max(1, int(capacity))
        self.window_seconds = float(window_seconds)
        self._seen: OrderedDict[str, int] = OrderedDict()
        self.floor = float("-inf")

    def __len__(self) -> int:
        return len(self._seen)

    def check_and_add(self, nonce: str, timestamp: int, now: float) -> None:
        """Remembers `nonce`.

        Raises:
            SignatureError: it was seen within the window, or the request is
                older than what the full cache can still tell apart.

        """
        self._expire(now)
        if timestamp <= self.floor:
            raise SignatureError(
                "request too old for the replay check under the current load; "
                "sign it again with a fresh timestamp"
            )
        if nonce in self._seen:
            raise SignatureError(
                f"{NONCE_HEADER} was already used: a replayed request is refused"
            )
        self._seen[nonce] = timestamp
        while len(self._seen) > self.capacity:
            _, oldest = self._seen.popitem(last=False)
            self.floor = max(self.floor, oldest)

    def _expire(self, now: float) -> None:
        # Oldest first (requests arrive roughly in timestamp order): constant
        # time per request; a stale nonce behind a fresher one waits its turn.
        cutoff = now - self.window_seconds
        while self._seen:
            nonce, stamp = next(iter(self._seen.items()))
            if stamp >= cutoff:
                break
            del self._seen[nonce]


@dataclass(frozen=True)
class SignedRequest:
    """What a verified request was signed with.

    Attributes:
        timestamp: Its `X-Handover-Timestamp` (unix seconds).
        nonce: Its `X-Handover-Nonce`.
        expires: Unix seconds from which the timestamp is too old: a replay
            of the nonce is refused for its age from then on.

    """

    timestamp: int
    nonce: str
    expires: float


class Verifier:
    """Checks the signed requests of one direction (one key, one nonce cache)."""

    def __init__(
        self,
        key: str,
        max_age_seconds: float = MAX_SIGNATURE_AGE_SECONDS,
        nonce_capacity: int = NONCE_CACHE_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Creates the verifier.

        Args:
            key: The key of the direction it receives (`SigningKeys`).
            max_age_seconds: How far a timestamp may be from the clock.
            nonce_capacity: Nonces remembered at most (`NonceCache`).
            clock: Unix time.

        """
        self.key = key
        self.max_age_seconds = float(max_age_seconds)
        self.nonces = NonceCache(nonce_capacity, max_age_seconds)
        self._clock = clock

    def verify(
        self,
        method: str,
        target: str,
        body: bytes,
        headers: Mapping[str, str],
    ) -> SignedRequest:
        """Checks a request; remembers its nonce when it is good.

        Args:
            method: The HTTP method as received.
            target: The `path?query` as received (`request_target`).
            body: The raw body as received.
            headers: The request headers (looked up case-insensitively).

        Returns:
            Its timestamp and nonce (a receiver with several replicas records
            the nonce where all of them look, see `store.replay`).

        Raises:
            SignatureError: with a message saying what is wrong.

        """
        if not self.key:
            raise SignatureError("no key configured for signed requests")
        timestamp, nonce, signature = _signed_headers(headers)
        now = self._clock()
        if abs(now - timestamp) > self.max_age_seconds:
            raise SignatureError(
                f"{TIMESTAMP_HEADER} is more than {int(self.max_age_seconds)} s "
                "from the server's clock (replayed or clocks out of sync)"
            )
        expected = _digest(method, target, body, self.key, timestamp, nonce)
        # compare_digest: the time taken must not reveal how many characters matched.
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise SignatureError(
                "signature does not match this method, path, query and body "
                "(or the key of this direction differs)"
            )
        self.nonces.check_and_add(nonce, timestamp, now)
        return SignedRequest(timestamp, nonce, timestamp + self.max_age_seconds)


def _signed_headers(headers: Mapping[str, str]) -> Tuple[int, str, str]:
    raw_signature = _header(headers, SIGNATURE_HEADER)
    raw_timestamp = _header(headers, TIMESTAMP_HEADER)
    if raw_signature is None:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    signature = raw_signature.strip()
    if signature.startswith(LEGACY_SIGNATURE_PREFIX):
        raise SignatureError(
            f"{SIGNATURE_HEADER} uses the old scheme (timestamp and body only), "
            "which is refused: run the same rasa-handover version on the channel "
            "and the inbox (see docs/security.md, 'Upgrading the signatures')"
        )
    if not signature.startswith(SIGNATURE_PREFIX):
        raise SignatureError(f"{SIGNATURE_HEADER} must start with '{SIGNATURE_PREFIX}'")
    if raw_timestamp is None:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} header")
    try:
        timestamp = int(raw_timestamp.strip())
    except ValueError as error:
        raise SignatureError(f"{TIMESTAMP_HEADER} is not unix seconds") from error
    nonce = (_header(headers, NONCE_HEADER) or "").strip()
    if not _NONCE_PATTERN.match(nonce):
        raise SignatureError(
            f"{NONCE_HEADER} must be 16 to 128 characters of letters, digits, "
            "'-' or '_', new for every request"
        )
    return timestamp, nonce, signature[len(SIGNATURE_PREFIX) :]


def _digest(
    method: str, target: str, body: bytes, key: str, timestamp: int, nonce: str
) -> str:
    message = "\n".join(
        (
            SCHEME,
            method.upper(),
            target,
            str(timestamp),
            nonce,
            hashlib.sha256(body).hexdigest(),
        )
    )
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def _header(headers: Mapping[str, str], name: str) -> Optional[str]:
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, candidate in headers.items():
        if key.lower() == wanted:
            return candidate
    return None
