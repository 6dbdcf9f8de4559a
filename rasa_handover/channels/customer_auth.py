"""Who a customer is: a customer can only read and write their own conversation.

Two credentials, both HMAC-SHA256 with the channel's `customer_secret`
(credentials.yml), each under its own prefix so that one can never stand for
the other:

* **socket.io session ids** (rasa-webchat). The channel issues them: a fresh,
  random conversation id (`web-` and 128 random bits) and its signature,
  `<conversation id>.<signature>`.
  The widget stores that id and sends it back in `session_request` after a
  reload; a signed one resumes its conversation, anything else (an id the
  server never issued, a conversation id seen in a log or in the inbox, a
  tampered signature) gets a fresh session of its own. The conversation id
  (the sender id in Rasa and the inbox) is the part before the dot: knowing it
  gives no access, only the whole session id does; the REST routes refuse
  such a conversation id whatever the token.
* **REST sender tokens**, issued by the integrator's backend, which knows who
  its customer is: `<expires>.<hex HMAC-SHA256 of
  "rasa-handover/sender/v1:<expires>:<sender>">`, `expires` in unix seconds
  (`0`: never). Sent as `Authorization: Bearer <token>` to `POST /webhook` and
  `GET /messages/<sender>`. `sender_token` makes one.

Without a `customer_secret` the session ids are signed with a key made at start
(they stop resuming at a restart or on another replica) and REST is not
authenticated (see docs/channel.md#customer-authentication).

This module is pure: it imports nothing from Rasa or Sanic.
"""

import base64
import hashlib
import hmac
import re
import secrets
from typing import Any, NamedTuple, Optional

from rasa_handover.constants import CHANNEL_CREDENTIALS_KEY

# At least 256 bits' worth of characters, so the secret cannot be guessed offline.
MIN_SECRET_CHARS = 32
SESSION_PREFIX = "rasa-handover/session/v1:"
SENDER_PREFIX = "rasa-handover/sender/v1:"
# 128 random bits: a conversation id nobody can guess, marked as a socket.io one.
_CONVERSATION_ID_BYTES = 16
SOCKET_CONVERSATION_PREFIX = "web-"
_SOCKET_CONVERSATION = r"web-[A-Za-z0-9_-]{22}"
_SOCKET_CONVERSATION_RE = re.compile(f"^{_SOCKET_CONVERSATION}$")
_SESSION_RE = re.compile(rf"^({_SOCKET_CONVERSATION})\.([A-Za-z0-9_-]{{43}})$")
_SENDER_TOKEN_RE = re.compile(r"^(\d{1,12})\.([0-9a-f]{64})$")
_DOCS = "docs/channel.md#customer-authentication"
GENERATE_HINT = (
    "generate one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
)


class CustomerAuthError(ValueError):
    """A REST request whose sender is not authenticated.

    `status` is 401 (no token, a malformed or expired one) or 403 (a token
    signed for another sender or with another secret).
    """

    def __init__(self, status: int, message: str) -> None:
        """`message` says what is wrong, why, and how to fix it."""
        super().__init__(message)
        self.status = status


class Session(NamedTuple):
    """A socket.io session: what the widget stores, and whose conversation it is."""

    session_id: str
    conversation_id: str


def checked_secret(value: Any, shared_secret: Optional[str] = None) -> Optional[str]:
    """The `customer_secret` of credentials.yml, or None if it is not set.

    Raises:
        ValueError: it is not a string of at least `MIN_SECRET_CHARS`
            characters, or it is the inbox's `shared_secret` (one key per purpose).

    """
    if value is None:
        return None
    where = f"{CHANNEL_CREDENTIALS_KEY}: `customer_secret`"
    if not isinstance(value, str) or len(value.strip()) < MIN_SECRET_CHARS:
        raise ValueError(
            f"{where} must be a string of at least {MIN_SECRET_CHARS} characters "
            f"(it signs customers' session ids and REST sender tokens); "
            f"{GENERATE_HINT} and put it in an environment variable "
            f"(`customer_secret: ${{HANDOVER_CUSTOMER_SECRET}}`). See {_DOCS}."
        )
    if shared_secret is not None and value == shared_secret:
        raise ValueError(
            f"{where} is the same as `shared_secret`: use a different secret for "
            f"customers than for the inbox ({GENERATE_HINT}). See {_DOCS}."
        )
    return value


def sender_token(secret: str, sender: str, expires_at: int = 0) -> str:
    """The token that authenticates `sender` on the REST routes.

    Args:
        secret: The channel's `customer_secret`.
        sender: The conversation (sender) id the token is for.
        expires_at: Unix seconds after which the token is refused; 0: never.

    """
    if isinstance(expires_at, bool) or not 0 <= int(expires_at) < 10**12:
        raise ValueError("`expires_at` must be unix seconds (or 0: never).")
    expires = int(expires_at)
    return f"{expires}.{_hex_mac(secret, f'{SENDER_PREFIX}{expires}:{sender}')}"


class CustomerAuth:
    """Issues and checks customers' credentials (see the module docstring)."""

    def __init__(self, secret: Optional[str] = None) -> None:
        """With `secret` None, session ids are signed with a per-process key."""
        self.configured = secret is not None
        self._key = (secret or secrets.token_urlsafe(32)).encode("utf-8")

    # --- socket.io sessions. ----------------------------------------------------

    def new_session(self) -> Session:
        """A fresh conversation, and the session id that proves it is yours."""
        conversation_id = SOCKET_CONVERSATION_PREFIX + secrets.token_urlsafe(
            _CONVERSATION_ID_BYTES
        )
        return Session(
            f"{conversation_id}.{self._session_mac(conversation_id)}", conversation_id
        )

    def session(self, session_id: Any) -> Optional[Session]:
        """The session `session_id` resumes, or None if this server did not issue it."""
        match = _SESSION_RE.match(session_id) if isinstance(session_id, str) else None
        if match is None:
            return None
        conversation_id, mac = match.groups()
        if not hmac.compare_digest(mac, self._session_mac(conversation_id)):
            return None
        return Session(session_id, conversation_id)

    def _session_mac(self, conversation_id: str) -> str:
        digest = hmac.new(
            self._key, f"{SESSION_PREFIX}{conversation_id}".encode(), hashlib.sha256
        ).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    # --- REST senders. ----------------------------------------------------------

    def check_sender(
        self, sender: str, authorization: Optional[str], now: float
    ) -> None:
        """Passes if `authorization` carries a valid token for `sender`.

        A socket.io conversation (`web-` and 22 random characters) is never
        REST's to read or write: only its own socket's. Otherwise, without a
        configured secret, every sender passes (REST is open).

        Raises:
            CustomerAuthError: 401 or 403, saying what is wrong and how to fix it.

        """
        if _SOCKET_CONVERSATION_RE.match(sender):
            raise CustomerAuthError(
                403,
                f"{sender!r} is a socket.io (rasa-webchat) conversation: only its "
                f"own socket reads and writes it, never REST. REST senders choose "
                f"other ids (see {_DOCS}).",
            )
        if not self.configured:
            return
        how = (
            f"Send `Authorization: Bearer <token>`, the token your backend makes "
            f"for this sender with the channel's `customer_secret` "
            f"(rasa_handover.channels.sender_token; see {_DOCS})."
        )
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise CustomerAuthError(
                401, f"This channel only accepts authenticated customers. {how}"
            )
        match = _SENDER_TOKEN_RE.match(token.strip())
        if match is None:
            raise CustomerAuthError(
                401,
                f"The sender token is not of the form `<expires>.<64 hex digits>`. "
                f"{how}",
            )
        expires, mac = int(match.group(1)), match.group(2)
        expected = _hex_mac(
            self._key.decode("utf-8"), f"{SENDER_PREFIX}{expires}:{sender}"
        )
        if not hmac.compare_digest(mac, expected):
            raise CustomerAuthError(
                403,
                f"The sender token is not valid for sender {sender!r}: it was made "
                f"for another sender or with another secret. {how}",
            )
        if expires and expires <= now:
            raise CustomerAuthError(
                401, f"The sender token expired (at unix time {expires}). {how}"
            )


def _hex_mac(secret: str, message: str) -> str:
    return hmac.new(
        secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256
    ).hexdigest()
