"""Signatures between channel and inbox: what is signed, replays, directions.

A captured signature must be good for nothing else: not for another method,
path, query or body, not a second time within the window, not in the other
direction, not after the window.
"""

import hashlib
import hmac
from typing import Dict, Optional

import pytest

from rasa_handover.inbox.signing import (
    CHANNEL_TO_INBOX,
    INBOX_TO_CHANNEL,
    MAX_SIGNATURE_AGE_SECONDS,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    NonceCache,
    SignatureError,
    SigningKeys,
    Verifier,
    direction_key,
    request_target,
    sign,
)

SECRET = "s3cret"
KEYS = SigningKeys.from_settings(SECRET)
assert KEYS is not None
KEY = KEYS.channel_to_inbox
BODY = b'{"conversation_id": "c1", "attempt": 1, "payload": {}}'
NOW = 1_700_000_000
TICKETS = "/webhooks/handover/inbox/api/channel/tickets"
MESSAGES = "/webhooks/handover/inbox/api/channel/messages?conversation_id=c1&after_id=0"


def verifier(key: str = KEY, now: float = NOW, capacity: int = 1000) -> Verifier:
    return Verifier(key, nonce_capacity=capacity, clock=lambda: now)


def test_signed_request_verifies_once() -> None:
    headers = sign("POST", TICKETS, BODY, KEY, NOW)
    check = verifier(now=NOW + 1)

    signed = check.verify("POST", TICKETS, BODY, headers)
    # What the inbox records for every replica (`store.replay`): the nonce,
    # until its timestamp is out of the window.
    assert signed.nonce == headers["X-Handover-Nonce"]
    assert signed.expires == NOW + 300

    with pytest.raises(SignatureError, match="already used"):
        check.verify("POST", TICKETS, BODY, headers)


def test_signature_covers_method_path_query_timestamp_nonce_and_body_hash() -> None:
    nonce = "n" * 32
    canonical = "\n".join(
        (
            "rasa-handover-v2",
            "GET",
            MESSAGES,
            str(NOW),
            nonce,
            hashlib.sha256(b"").hexdigest(),
        )
    )
    expected = hmac.new(KEY.encode(), canonical.encode(), hashlib.sha256).hexdigest()

    assert sign("GET", f"http://inbox:5010{MESSAGES}", b"", KEY, NOW, nonce) == {
        TIMESTAMP_HEADER: str(NOW),
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: f"v2={expected}",
    }


def test_header_names_are_case_insensitive() -> None:
    headers = sign("POST", TICKETS, BODY, KEY, NOW)

    verifier().verify(
        "POST", TICKETS, BODY, {key.lower(): value for key, value in headers.items()}
    )


def _captured(method: str = "GET", target: str = MESSAGES, body: bytes = b"") -> Dict:
    return sign(method, target, body, KEY, NOW)


@pytest.mark.parametrize(
    "method, target, body, headers, message",
    [
        pytest.param(
            "GET",
            MESSAGES.replace("conversation_id=c1", "conversation_id=someone-else"),
            b"",
            _captured(),
            "does not match",
            id="replayed-on-another-query",
        ),
        pytest.param(
            "GET",
            "/webhooks/handover/inbox/api/channel/other?conversation_id=c1&after_id=0",
            b"",
            _captured(),
            "does not match",
            id="replayed-on-another-path",
        ),
        pytest.param(
            "POST", MESSAGES, b"", _captured(), "does not match", id="another-method"
        ),
        pytest.param(
            "POST",
            TICKETS,
            BODY.replace(b"c1", b"c2"),
            _captured("POST", TICKETS, BODY),
            "does not match",
            id="tampered-body",
        ),
        pytest.param(
            "POST",
            TICKETS,
            BODY,
            {**_captured("POST", TICKETS, BODY), TIMESTAMP_HEADER: str(NOW + 1)},
            "does not match",
            id="timestamp-swapped",
        ),
        pytest.param(
            "POST",
            TICKETS,
            BODY,
            {**_captured("POST", TICKETS, BODY), NONCE_HEADER: "m" * 32},
            "does not match",
            id="nonce-swapped",
        ),
        pytest.param(
            "POST",
            TICKETS,
            BODY,
            sign("POST", TICKETS, BODY, KEYS.inbox_to_channel, NOW),
            "does not match",
            id="signed-with-the-other-direction-key",
        ),
        pytest.param(
            "POST",
            TICKETS,
            BODY,
            sign("POST", TICKETS, BODY, SECRET, NOW),
            "does not match",
            id="signed-with-the-raw-shared-secret",
        ),
        pytest.param(
            "POST",
            TICKETS,
            BODY,
            sign("POST", TICKETS, BODY, KEY, NOW - MAX_SIGNATURE_AGE_SECONDS - 1),
            "replayed",
            id="older-than-five-minutes",
        ),
        pytest.param(
            "POST",
            TICKETS,
            BODY,
            sign("POST", TICKETS, BODY, KEY, NOW + MAX_SIGNATURE_AGE_SECONDS + 1),
            "replayed",
            id="from-the-future",
        ),
        pytest.param(
            "POST", TICKETS, BODY, {}, "missing X-Handover-Sig", id="unsigned"
        ),
        pytest.param(
            "POST",
            TICKETS,
            BODY,
            {k: v for k, v in _captured().items() if k != NONCE_HEADER},
            "X-Handover-Nonce must be",
            id="no-nonce",
        ),
        pytest.param(
            "POST",
            TICKETS,
            BODY,
            {TIMESTAMP_HEADER: "yesterday", SIGNATURE_HEADER: "v2=00"},
            "unix seconds",
            id="bad-timestamp",
        ),
        pytest.param(
            "POST",
            TICKETS,
            BODY,
            {TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: "sha256=00"},
            "old scheme",
            id="old-timestamp-dot-body-scheme",
        ),
        pytest.param(
            "POST",
            TICKETS,
            BODY,
            {TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: "md5=00"},
            "must start with 'v2='",
            id="unknown-scheme",
        ),
    ],
)
def test_refused(
    method: str, target: str, body: bytes, headers: Dict[str, str], message: str
) -> None:
    with pytest.raises(SignatureError, match=message):
        verifier().verify(method, target, body, headers)


def test_a_refused_request_does_not_use_up_its_nonce() -> None:
    headers = sign("POST", TICKETS, BODY, KEY, NOW)
    check = verifier()
    with pytest.raises(SignatureError):
        check.verify("POST", TICKETS, b"{}", headers)

    check.verify("POST", TICKETS, BODY, headers)


def test_empty_key_never_verifies() -> None:
    with pytest.raises(SignatureError, match="no key"):
        verifier(key="").verify("POST", TICKETS, BODY, sign("POST", TICKETS, BODY, ""))


def test_nonces_expire_with_the_window_and_the_cache_stays_bounded() -> None:
    cache = NonceCache(capacity=3, window_seconds=10)
    for number in range(3):
        cache.check_and_add(f"nonce-{number}", NOW, NOW)
    assert len(cache) == 3

    cache.check_and_add("fresh", NOW + 11, NOW + 11)  # the first three expired

    assert len(cache) == 1


def test_a_full_cache_refuses_what_it_forgot_rather_than_let_it_replay() -> None:
    cache = NonceCache(capacity=2, window_seconds=300)
    cache.check_and_add("first", NOW, NOW)
    cache.check_and_add("second", NOW + 1, NOW + 1)
    cache.check_and_add("third", NOW + 2, NOW + 2)  # "first" is forgotten

    assert len(cache) == 2
    with pytest.raises(SignatureError, match="too old"):
        cache.check_and_add("first", NOW, NOW + 3)
    cache.check_and_add("fourth", NOW + 3, NOW + 3)  # fresh requests still pass


def test_one_shared_secret_gives_two_different_direction_keys() -> None:
    keys = SigningKeys.from_settings("legacy-single-secret")

    assert keys is not None
    assert keys.channel_to_inbox == direction_key(
        "legacy-single-secret", CHANNEL_TO_INBOX
    )
    assert keys.inbox_to_channel == direction_key(
        "legacy-single-secret", INBOX_TO_CHANNEL
    )
    assert (
        len({keys.channel_to_inbox, keys.inbox_to_channel, "legacy-single-secret"}) == 3
    )


@pytest.mark.parametrize(
    "shared, to_inbox, to_channel, expected",
    [
        pytest.param(None, None, None, None, id="nothing-configured"),
        pytest.param(
            None, "a" * 32, "b" * 32, ("a" * 32, "b" * 32), id="both-explicit"
        ),
        pytest.param(
            "s",
            "a" * 32,
            None,
            ("a" * 32, direction_key("s", INBOX_TO_CHANNEL)),
            id="one-explicit-one-derived",
        ),
    ],
)
def test_keys_from_settings(
    shared: Optional[str],
    to_inbox: Optional[str],
    to_channel: Optional[str],
    expected: Optional[tuple],
) -> None:
    keys = SigningKeys.from_settings(shared, to_inbox, to_channel)

    assert (keys and (keys.channel_to_inbox, keys.inbox_to_channel)) == expected


@pytest.mark.parametrize(
    "to_inbox, to_channel, message",
    [
        pytest.param("a" * 32, None, "set both", id="one-direction-only"),
        pytest.param("a" * 32, "a" * 32, "must differ", id="same-key-both-ways"),
    ],
)
def test_incomplete_keys_are_a_clear_error(
    to_inbox: str, to_channel: Optional[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        SigningKeys.from_settings(None, to_inbox, to_channel)


@pytest.mark.parametrize(
    "url, query, expected",
    [
        pytest.param("http://h:1/a/b?x=1&y=%20", "", "/a/b?x=1&y=%20", id="full-url"),
        pytest.param("/a/b", "x=1", "/a/b?x=1", id="path-and-query"),
        pytest.param("/a/b", "", "/a/b", id="no-query"),
    ],
)
def test_request_target(url: str, query: str, expected: str) -> None:
    assert request_target(url, query) == expected
