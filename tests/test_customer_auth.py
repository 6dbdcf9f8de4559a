"""A REST customer can only read and write their own conversation (issue 11, High 3).

The credentials themselves (`channels.customer_auth`, pure), then the REST
routes through real HTTP: the channel registered on a Sanic app as `rasa run`
does it, served on a loopback socket, with the real embedded inbox on SQLite.
Rasa's agent is the recorder of tests/test_channel_input_guard.py (the real
Rasa server runs in tests/e2e/).
"""

import logging
import time
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Dict, Optional, Tuple

import aiohttp
import pytest
from rasa.core.channels.channel import register
from sanic import Sanic

from rasa_handover.channels import HandoverInput, sender_token
from rasa_handover.channels.customer_auth import (
    MIN_SECRET_CHARS,
    CustomerAuth,
    CustomerAuthError,
    checked_secret,
)
from rasa_handover.cli import main
from tests.inbox.conftest import running
from tests.test_channel_inbox import INBOX_YML
from tests.test_channel_input_guard import PREFIX, RecordingAgent

SECRET = "customer-secret-for-tests-0123456789abcdef"
OTHER_SECRET = "another-secret-nobody-shares-0123456789ab"

Served = Tuple[str, HandoverInput, RecordingAgent]


# --- The credentials. -------------------------------------------------------------


def test_a_token_opens_its_own_senders_conversation_only() -> None:
    auth = CustomerAuth(SECRET)
    token = sender_token(SECRET, "+44 7700 900123")
    auth.check_sender("+44 7700 900123", f"Bearer {token}", time.time())
    with pytest.raises(CustomerAuthError) as refused:
        auth.check_sender("+44 7700 900124", f"Bearer {token}", time.time())
    assert refused.value.status == 403
    assert "not valid for sender '+44 7700 900124'" in str(refused.value)


@pytest.mark.parametrize(
    ("authorization", "status", "says"),
    [
        pytest.param(None, 401, "only accepts authenticated customers", id="missing"),
        pytest.param("Basic abc", 401, "Authorization: Bearer", id="other-scheme"),
        pytest.param("Bearer ", 401, "Authorization: Bearer", id="empty"),
        pytest.param("Bearer dana", 401, "not of the form", id="not-a-token"),
        pytest.param(
            f"Bearer {sender_token(OTHER_SECRET, 'dana')}",
            403,
            "another secret",
            id="other-secret",
        ),
        pytest.param(
            f"Bearer {sender_token(SECRET, 'dana', 1_000)}",
            401,
            "expired",
            id="expired",
        ),
    ],
)
def test_a_bad_token_is_refused_saying_why_and_how_to_fix_it(
    authorization: Optional[str], status: int, says: str
) -> None:
    with pytest.raises(CustomerAuthError) as refused:
        CustomerAuth(SECRET).check_sender("dana", authorization, time.time())
    assert refused.value.status == status
    assert says in str(refused.value)
    assert "customer_secret" in str(refused.value)  # how to fix it


def test_a_token_works_until_it_expires() -> None:
    token = sender_token(SECRET, "dana", expires_at=2_000_000_000)
    auth = CustomerAuth(SECRET)
    auth.check_sender("dana", f"Bearer {token}", 1_999_999_999)
    with pytest.raises(CustomerAuthError, match="expired"):
        auth.check_sender("dana", f"Bearer {token}", 2_000_000_000)


def test_the_documented_recipe_makes_the_same_token() -> None:
    """docs/channel.md tells integrators in other languages how to make a token."""
    import hashlib
    import hmac

    expires, sender = 1_900_000_000, "dana"
    message = f"rasa-handover/sender/v1:{expires}:{sender}".encode()
    mac = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
    assert sender_token(SECRET, sender, expires) == f"{expires}.{mac}"


def test_session_ids_are_unguessable_and_only_the_servers_own_resume() -> None:
    auth = CustomerAuth(SECRET)
    first, second = auth.new_session(), auth.new_session()
    assert first.conversation_id != second.conversation_id
    assert len(first.conversation_id) >= 22  # 128 random bits
    assert auth.session(first.session_id) == first
    # Another process with the same secret (a restart, another replica) too.
    assert CustomerAuth(SECRET).session(first.session_id) == first
    conversation, mac = first.session_id.split(".")
    for forged in (
        conversation,  # the conversation id an agent or a log sees
        f"{conversation}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}",
        f"{second.conversation_id}.{mac}",
        CustomerAuth(OTHER_SECRET).new_session().session_id,
        None,
        42,
    ):
        assert auth.session(forged) is None, forged


@pytest.mark.parametrize(
    ("value", "says"),
    [
        pytest.param("short", f"at least {MIN_SECRET_CHARS} characters", id="short"),
        pytest.param(12345, f"at least {MIN_SECRET_CHARS} characters", id="number"),
        pytest.param(SECRET, "same as `shared_secret`", id="the-inboxs-secret"),
    ],
)
def test_a_bad_customer_secret_stops_the_start_naming_the_key(
    value: Any, says: str
) -> None:
    with pytest.raises(ValueError) as stopped:
        HandoverInput.from_credentials(
            {
                "customer_secret": value,
                "inbox_url": "http://inbox:5010",
                "public_url": "http://rasa:5005",
                "shared_secret": SECRET,
            }
        )
    assert "`customer_secret`" in str(stopped.value)
    assert says in str(stopped.value)
    assert "secrets.token_urlsafe" in str(stopped.value)  # how to make one


def test_no_secret_is_no_error() -> None:
    assert checked_secret(None) is None


# --- REST through real HTTP. --------------------------------------------------------


async def _served(tmp_path: Path, **credentials: Any) -> AsyncIterator[Served]:
    (tmp_path / "inbox.yml").write_text(INBOX_YML)
    channel = HandoverInput(
        db=f"sqlite:///{tmp_path}/handover.db",
        inbox_config=str(tmp_path / "inbox.yml"),
        outbox=str(tmp_path / "outbox.db"),
        **credentials,
    )
    app = Sanic(f"rasa_{uuid.uuid4().hex[:10]}")
    register([channel], app, route="/webhooks/")  # what `rasa run` does
    agent = RecordingAgent()
    app.ctx.agent = agent
    async with running(app, prefix="") as url:
        yield url, channel, agent


@pytest.fixture
async def signed(tmp_path: Path) -> AsyncIterator[Served]:
    async for served in _served(tmp_path, customer_secret=SECRET):
        yield served


async def _call(
    method: str, url: str, token: Optional[str] = None, **kwargs: Any
) -> Tuple[int, Dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as session, session.request(
        method, url, headers=headers, **kwargs
    ) as response:
        body = await response.json()
        return response.status, body if isinstance(body, dict) else {"list": body}


@pytest.mark.parametrize(
    ("token", "status"),
    [
        pytest.param(None, 401, id="no-token"),
        pytest.param(sender_token(SECRET, "mallory"), 403, id="someone-elses-token"),
        pytest.param(sender_token(OTHER_SECRET, "dana"), 403, id="other-secret"),
        pytest.param(sender_token(SECRET, "dana", 1_000), 401, id="expired"),
    ],
)
async def test_nobody_writes_in_a_conversation_without_its_token(
    signed: Served, token: Optional[str], status: int
) -> None:
    url, _, agent = signed
    answer, body = await _call(
        "POST",
        f"{url}{PREFIX}/webhook",
        token,
        json={"sender": "dana", "message": "change my e-mail to mallory@evil.example"},
    )
    assert (answer, body["field"]) == (status, "authorization")
    assert "customer_secret" in body["error"]
    assert agent.messages == []  # nothing reached Rasa (nor the agent)


async def test_nobody_reads_a_conversation_without_its_token(signed: Served) -> None:
    url, channel, _ = signed
    await channel.customer_output().send_text_message(
        "dana",
        "Your new password is on its way",
        metadata={"from": "agent", "agent_name": "Maya"},
    )
    poll = f"{url}{PREFIX}/messages/dana?after=0&wait=0"
    for token, status in (
        (None, 401),
        (sender_token(SECRET, "mallory"), 403),
        (sender_token(SECRET, "dana", 1_000), 401),
    ):
        answer, body = await _call("GET", poll, token)
        assert answer == status, body
        assert "messages" not in body
    answer, body = await _call("GET", poll, sender_token(SECRET, "dana"))
    assert answer == 200
    assert [m["text"] for m in body["messages"]] == ["Your new password is on its way"]


async def test_a_customer_with_their_token_talks_and_reads(signed: Served) -> None:
    url, _, agent = signed
    token = sender_token(SECRET, "dana", int(time.time()) + 3600)
    answer, _ = await _call(
        "POST",
        f"{url}{PREFIX}/webhook",
        token,
        json={"sender": "dana", "message": "I want a human"},
    )
    assert answer == 200
    assert [(m.sender_id, m.text) for m in agent.messages] == [
        ("dana", "I want a human")
    ]


async def test_without_a_secret_rest_is_open_and_the_start_says_so_loudly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The documented choice: REST behind the integrator's own backend."""
    with caplog.at_level(logging.WARNING, logger="rasa_handover"):
        async for url, _, agent in _served(tmp_path):
            answer, _ = await _call(
                "POST", f"{url}{PREFIX}/webhook", json={"sender": "d", "message": "hi"}
            )
            assert answer == 200
            assert [m.text for m in agent.messages] == ["hi"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "no `customer_secret`" in w and "NOT authenticated" in w for w in warnings
    ), warnings


async def test_with_a_secret_the_start_does_not_warn(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="rasa_handover"):
        async for _ in _served(tmp_path, customer_secret=SECRET):
            pass
    assert not any("customer_secret" in r.getMessage() for r in caplog.records)


# --- `rasa-handover sender-token`. --------------------------------------------------


def test_the_command_prints_a_token_the_channel_accepts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("HANDOVER_CUSTOMER_SECRET", SECRET)
    assert main(["sender-token", "dana", "--expires-in", "60"]) == 0
    token = capsys.readouterr().out.strip()
    auth = CustomerAuth(SECRET)
    auth.check_sender("dana", f"Bearer {token}", time.time())
    with pytest.raises(CustomerAuthError, match="expired"):
        auth.check_sender("dana", f"Bearer {token}", time.time() + 61)


@pytest.mark.parametrize(
    ("secret", "says"),
    [
        pytest.param(None, "HANDOVER_CUSTOMER_SECRET is not set", id="unset"),
        pytest.param("short", "at least 32 characters", id="too-short"),
    ],
)
def test_the_command_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    secret: Optional[str],
    says: str,
) -> None:
    monkeypatch.delenv("HANDOVER_CUSTOMER_SECRET", raising=False)
    if secret is not None:
        monkeypatch.setenv("HANDOVER_CUSTOMER_SECRET", secret)
    assert main(["sender-token", "dana"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and says in captured.err
