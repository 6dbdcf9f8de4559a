"""What a customer may send: checked once, where their message enters the channel.

The handover channel (REST `/webhook`, socket.io `user_uttered`) calls
`checked_customer_message` before anything else sees the message:

* **Control intents.** `/handover_resolved` ends a handover; only the inbox may
  send it (the channel does, when an agent resolves the ticket). A customer's
  message that would be parsed as one of `CHANNEL_CONTROL_INTENTS` (Rasa reads
  `/intent{...}` as that intent) is refused.
* **The plugin's metadata keys** (`agent_name` for the handback greeting,
  `outcome`) are removed from the customer's metadata.
* **Limits** (`rasa_handover.limits`): the sender id at most 255 characters (the
  inbox's column), the text at most 10,000; metadata must be an object.
* **Text that cannot be stored**: lone surrogates (half an emoji, as JavaScript
  slices it) become U+FFFD.
* **The REST long poll** (`checked_poll`): `after` a message id, `wait` a finite
  number of seconds (not NaN or infinity), at most `LONG_POLL_MAX_SECONDS`.

A refused message raises `CustomerInputError` (a `LimitError`): the REST route
answers 400 with its message and field, socket.io logs and drops it.

This module is pure: it imports nothing from Rasa or Sanic.
"""

import json
import re
from typing import Any, Dict, Mapping, NamedTuple, Tuple

from rasa_handover.constants import CHANNEL_CONTROL_INTENTS, CHANNEL_METADATA_KEYS
from rasa_handover.limits import (
    LONG_POLL_MAX_SECONDS,
    MAX_CONVERSATION_ID_CHARS,
    MAX_TEXT_CHARS,
    LimitError,
    check_length,
    clean_text,
    message_id,
    seconds,
)

# How Rasa's RegexMessageHandler reads "/intent" messages: a slash, the intent
# name up to "{" (entities) or "@" (confidence). Leading whitespace is ignored.
_CONTROL_RE = re.compile(
    r"^\s*/\s*(?:"
    + "|".join(map(re.escape, CHANNEL_CONTROL_INTENTS))
    + r")\s*(?:$|[{@])",
    re.IGNORECASE,
)


class CustomerInputError(LimitError):
    """A customer message the channel refuses (see the module docstring)."""


class CustomerMessage(NamedTuple):
    """A customer's message, checked and cleaned."""

    sender_id: str
    text: str
    metadata: Dict[str, Any]


def checked_customer_message(
    sender_id: Any, text: Any, metadata: Any
) -> CustomerMessage:
    """The message as the channel may pass it on.

    Args:
        sender_id: The conversation id the client sent (`sender`, `session_id`).
        text: The message text.
        metadata: The client's metadata (an object, JSON text or None).

    Raises:
        CustomerInputError: naming the field, what is wrong and how to fix it.

    """
    if not isinstance(sender_id, str) or not sender_id.strip():
        raise CustomerInputError("sender", "`sender` must be a non-empty string.")
    if not isinstance(text, str):
        raise CustomerInputError("message", "`message` must be a string.")
    sender_id = _checked("sender", clean_text(sender_id), MAX_CONVERSATION_ID_CHARS)
    text = _checked("message", clean_text(text), MAX_TEXT_CHARS)
    if _CONTROL_RE.match(text):
        raise CustomerInputError(
            "message",
            f"`message` may not be the intent {text.strip().split('{')[0]!r}: it "
            f"is the inbox's to send (only an agent resolves a handover).",
        )
    return CustomerMessage(sender_id, text, customer_metadata(metadata))


def customer_metadata(metadata: Any) -> Dict[str, Any]:
    """The client's metadata without the keys only the channel sets.

    Raises:
        CustomerInputError: the metadata is neither an object nor JSON of one.

    """
    if metadata is None or metadata == "":
        return {}
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            metadata = None
    if not isinstance(metadata, dict):
        raise CustomerInputError(
            "metadata", "`metadata` must be a JSON object (or left out)."
        )
    return {
        key: value
        for key, value in metadata.items()
        if key not in CHANNEL_METADATA_KEYS
    }


def checked_poll(conversation_id: str, args: Mapping[str, Any]) -> Tuple[int, float]:
    """The `after` cursor and `wait` seconds of a REST long poll.

    Args:
        conversation_id: The conversation polled (from the path).
        args: The query arguments (values are lists, as Sanic gives them).

    Raises:
        CustomerInputError: an id too long, `after` not a message id, `wait`
            not a finite number of seconds (NaN, infinity, negative).

    """
    _checked("conversation_id", conversation_id, MAX_CONVERSATION_ID_CHARS)
    try:
        after = message_id("after", _first(args, "after"))
        wait = seconds("wait", _first(args, "wait"), LONG_POLL_MAX_SECONDS)
    except LimitError as error:
        raise CustomerInputError(error.field, str(error)) from error
    return after, wait


def _first(args: Mapping[str, Any], name: str) -> Any:
    values = args.get(name)
    if isinstance(values, (list, tuple)):
        return values[0] if values else None
    return values


def _checked(field: str, value: str, limit: int) -> str:
    try:
        return check_length(field, value, limit)
    except LimitError as error:
        raise CustomerInputError(error.field, str(error)) from error
