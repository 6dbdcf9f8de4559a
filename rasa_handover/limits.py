"""The input limits, in one place: what a client may send, and how long it may wait.

Enforced at the edge (the handover channel's REST and socket.io input, the
long poll) with a clear 4xx, and before the payload is redacted, so that no
input can make a component slow, fill its memory or fail its store. The inbox
side can import the same numbers. `docs/security.md` lists them.

This module imports nothing, so any side (and the pure decision code) can use it.
"""

import math
import unicodedata
from typing import Any, Optional

# A customer message: no chat message is longer; the inbox API accepts the same.
MAX_TEXT_CHARS = 10_000
# A conversation (sender) id and a customer name: the inbox's columns hold 255
# characters (inbox/store/schema.py), and PostgreSQL refuses longer values.
MAX_CONVERSATION_ID_CHARS = 255
MAX_NAME_CHARS = 255
# The REST long poll: the longest a request may wait for new messages.
LONG_POLL_MAX_SECONDS = 30.0
# Message ids are counters; anything above a signed 64-bit integer is not one.
MAX_MESSAGE_ID = 2**63 - 1
# A client message id: the key that makes a retried message stored once (the
# channel sends Rasa's `UserMessage.message_id`, 32 hex digits; other clients
# their own). Visible ASCII characters (no spaces), at most this many.
MAX_CLIENT_MESSAGE_ID_CHARS = 128
CLIENT_MESSAGE_ID_PATTERN = "^[!-~]+$"
# The channel's memory: conversations with a REST mailbox, and long polls
# waiting at once (beyond these, the least recently used mailbox is dropped and
# new polls are answered 429).
MAX_MAILBOX_CONVERSATIONS = 10_000
MAX_WAITING_POLLS = 1_000
# Per-conversation state the channel keeps while a handover is open (response
# templates, the agent last announced): the least recently used goes first.
MAX_TRACKED_CONVERSATIONS = 10_000
# The durable outbox: tries before an item goes to the dead letters. With the
# backoff (1, 2, 4, ... 60 s) that is about 15 minutes of an inbox outage.
MAX_OUTBOX_ATTEMPTS = 20

# What replaces a character that cannot be stored: a lone surrogate (which
# JavaScript produces when it slices an emoji in half; not UTF-8) and NUL
# (PostgreSQL's text columns refuse it).
REPLACEMENT_CHARACTER = "\ufffd"
_NUL = "\x00"


class LimitError(ValueError):
    """A value outside its limit; the message says which, what and how to fix."""

    def __init__(self, field: str, message: str) -> None:
        """`field` names the offending input (e.g. `wait`, `message`)."""
        super().__init__(message)
        self.field = field


def clean_text(text: str) -> str:
    """`text` with what cannot be stored replaced by U+FFFD.

    That is lone surrogates (not encodable as UTF-8) and NUL (PostgreSQL).
    """
    text = text.replace(_NUL, REPLACEMENT_CHARACTER)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return "".join(
            REPLACEMENT_CHARACTER if unicodedata.category(char) == "Cs" else char
            for char in text
        )


def check_length(field: str, value: str, limit: int) -> str:
    """`value` if it has at most `limit` characters.

    Raises:
        LimitError: naming the field and the limit.

    """
    if len(value) > limit:
        raise LimitError(
            field,
            f"`{field}` has {len(value)} characters; at most {limit} are "
            f"accepted. Send it in shorter parts.",
        )
    return value


def seconds(field: str, raw: Optional[str], maximum: float) -> float:
    """A wait in seconds from a query parameter: finite, 0 or more, capped.

    Raises:
        LimitError: not a number, NaN or infinite, or negative.

    """
    if raw is None or raw == "":
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise LimitError(
            field,
            f"`{field}` must be a number of seconds from 0 to {maximum:g}, "
            f"got {raw!r}.",
        )
    return min(value, maximum)


def client_message_id(field: str, value: Any) -> Optional[str]:
    """A client message id from a request body (None or absent: no id).

    Raises:
        LimitError: not a string, empty, longer than
            `MAX_CLIENT_MESSAGE_ID_CHARS`, or with a character other than
            visible ASCII.

    """
    if value is None:
        return None
    limit = MAX_CLIENT_MESSAGE_ID_CHARS
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= limit
        or not all("!" <= char <= "~" for char in value)
    ):
        raise LimitError(
            field,
            f"`{field}` must be a string of 1 to {limit} visible ASCII characters "
            f"(letters, digits, punctuation; no spaces), got {_shown(value)}. "
            "Send the same id with every retry of one message, e.g. a UUID.",
        )
    return value


def _shown(value: Any) -> str:
    """`value` for an error message: its type, or the start of a string."""
    if not isinstance(value, str):
        return f"a {type(value).__name__}"
    return repr(value[:40]) + ("..." if len(value) > 40 else "")


def message_id(field: str, raw: Optional[str], maximum: int = MAX_MESSAGE_ID) -> int:
    """A message id (a cursor) from a query parameter: an integer, 0 or more.

    Args:
        field: The parameter's name, for the error.
        raw: The parameter as received (None or empty: 0).
        maximum: The largest id there can be (default `MAX_MESSAGE_ID`).

    Raises:
        LimitError: not an integer, negative or above `maximum`.

    """
    if raw is None or raw == "":
        return 0
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= maximum:
        raise LimitError(
            field,
            f"`{field}` must be a message id (an integer from 0 to "
            f"{maximum}), got {raw!r}.",
        )
    return value
