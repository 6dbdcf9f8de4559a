"""Signing test requests the way a channel (or an inbox) signs them."""

from typing import Dict

from rasa_handover.inbox.signing import SigningKeys, sign


def channel_headers(method: str, url: str, body: bytes, secret: str) -> Dict[str, str]:
    """The headers of a channel's call to the inbox, for `shared_secret: secret`.

    `url` is the full URL or the path with its query, exactly as sent.
    """
    keys = SigningKeys.from_settings(secret)
    assert keys is not None
    return {
        "Content-Type": "application/json",
        **sign(method, url, body, keys.channel_to_inbox),
    }


def inbox_headers(method: str, url: str, body: bytes, secret: str) -> Dict[str, str]:
    """The headers of an inbox's event delivery to a channel."""
    keys = SigningKeys.from_settings(secret)
    assert keys is not None
    return {
        "Content-Type": "application/json",
        **sign(method, url, body, keys.inbox_to_channel),
    }
