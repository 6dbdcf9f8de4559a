"""A standalone inbox in credentials.yml: what `rasa run` refuses to start with.

Without `public_url` the inbox could never deliver an agent's reply or the end
of a handover: the customer would wait in silence. Without keys nothing could
be signed. Each is a clear error at start-up, saying what to add.
"""

from typing import Any, Dict

import pytest

from rasa_handover.channels.handover_input import HandoverInput

INBOX = "http://inbox:5010/webhooks/handover/inbox"


@pytest.mark.parametrize(
    "credentials, message",
    [
        pytest.param(
            {"inbox_url": INBOX, "shared_secret": "s" * 32},
            "Set `public_url`",
            id="no-public-url",
        ),
        pytest.param(
            {"inbox_url": INBOX, "public_url": "http://rasa:5005"},
            "Set `shared_secret`",
            id="no-secret",
        ),
        pytest.param(
            {
                "inbox_url": INBOX,
                "public_url": "http://rasa:5005",
                "channel_to_inbox_secret": "a" * 32,
            },
            "set both",
            id="one-direction-key-only",
        ),
    ],
)
def test_a_standalone_inbox_without_what_it_needs_stops_start_up(
    credentials: Dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        HandoverInput.from_credentials(credentials)


@pytest.mark.parametrize(
    "secrets",
    [
        pytest.param({"shared_secret": "s" * 32}, id="one-shared-secret"),
        pytest.param(
            {"channel_to_inbox_secret": "a" * 32, "inbox_to_channel_secret": "b" * 32},
            id="a-key-per-direction",
        ),
    ],
)
def test_a_complete_standalone_configuration_starts(secrets: Dict[str, str]) -> None:
    channel = HandoverInput.from_credentials(
        {"inbox_url": INBOX, "public_url": "http://rasa:5005/", **secrets}
    )

    assert isinstance(channel, HandoverInput)
    assert channel.signing_keys is not None
    assert channel.relay.callback_url == "http://rasa:5005/webhooks/handover/events"
