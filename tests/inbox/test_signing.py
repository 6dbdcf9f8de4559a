"""HMAC signatures between channel and inbox: accepted, tampered, replayed."""

import hashlib
import hmac

import pytest

from rasa_handover.inbox.signing import (
    MAX_SIGNATURE_AGE_SECONDS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    sign,
    verify,
)

SECRET = "s3cret"
BODY = b'{"conversation_id": "c1", "attempt": 1, "payload": {}}'
NOW = 1_700_000_000


def test_signed_body_verifies() -> None:
    headers = sign(BODY, SECRET, NOW)

    verify(BODY, headers, SECRET, NOW + 1)


def test_signature_is_hmac_sha256_of_timestamp_and_body() -> None:
    expected = hmac.new(
        SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256
    ).hexdigest()

    assert sign(BODY, SECRET, NOW) == {
        TIMESTAMP_HEADER: str(NOW),
        SIGNATURE_HEADER: f"sha256={expected}",
    }


def test_header_names_are_case_insensitive() -> None:
    headers = {key.lower(): value for key, value in sign(BODY, SECRET, NOW).items()}

    verify(BODY, headers, SECRET, NOW)


@pytest.mark.parametrize(
    "body, headers, now, message",
    [
        pytest.param(
            BODY.replace(b"c1", b"c2"),
            sign(BODY, SECRET, NOW),
            NOW,
            "does not match",
            id="tampered-body",
        ),
        pytest.param(
            BODY, sign(BODY, "other", NOW), NOW, "does not match", id="wrong-secret"
        ),
        pytest.param(
            BODY,
            {**sign(BODY, SECRET, NOW), TIMESTAMP_HEADER: str(NOW + 1)},
            NOW,
            "does not match",
            id="timestamp-swapped",
        ),
        pytest.param(
            BODY,
            sign(BODY, SECRET, NOW),
            NOW + MAX_SIGNATURE_AGE_SECONDS + 1,
            "replayed",
            id="older-than-five-minutes",
        ),
        pytest.param(
            BODY,
            sign(BODY, SECRET, NOW + MAX_SIGNATURE_AGE_SECONDS + 1),
            NOW,
            "replayed",
            id="from-the-future",
        ),
        pytest.param(BODY, {}, NOW, "missing X-Handover-Timestamp", id="unsigned"),
        pytest.param(
            BODY,
            {TIMESTAMP_HEADER: str(NOW)},
            NOW,
            "missing X-Handover-Signature",
            id="no-signature",
        ),
        pytest.param(
            BODY,
            {TIMESTAMP_HEADER: "yesterday", SIGNATURE_HEADER: "sha256=00"},
            NOW,
            "unix seconds",
            id="bad-timestamp",
        ),
        pytest.param(
            BODY,
            {TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: "md5=00"},
            NOW,
            "sha256=",
            id="wrong-scheme",
        ),
    ],
)
def test_rejected(body: bytes, headers: dict, now: int, message: str) -> None:
    with pytest.raises(SignatureError, match=message):
        verify(body, headers, SECRET, now)


def test_empty_secret_never_verifies() -> None:
    with pytest.raises(SignatureError, match="no shared secret"):
        verify(BODY, sign(BODY, "", NOW), "", NOW)
