"""The size bound: a payload fits `PayloadConfig.max_bytes`, and says what it lost.

Long transcripts lose their *middle* (the opening and the latest messages are
what an agent needs) with an explicit marker; if that is not enough, long
strings are shortened with an explicit marker too. Nothing is dropped silently
and every field stays.
"""

import json
import logging
import re
from typing import Any, Callable, Dict, List, Mapping, Tuple

from rasa_handover.limits import MAX_TEXT_CHARS
from rasa_handover.payload.config import PayloadConfig

logger = logging.getLogger(__name__)

# The same for the intent history (one entry per user turn), which is only cut
# when the transcript alone could not make the payload fit.
INTENT_HISTORY_HEAD = 3
INTENT_HISTORY_TAIL = 8
# No chat message is this long; a string this long (a slot holding a document
# or a data blob) is shortened before any message is dropped.
LONG_STRING_CHARS = 2000
# Strings are never shortened below this: shorter is no longer readable.
MIN_STRING_CHARS = 80
# Before redaction: no string longer than a customer message may be, and the
# transcript and intent history within this many times `max_bytes` (the bound
# below keeps far less, so nothing that would have been sent is lost).
PRE_REDACTION_STRING_CHARS = MAX_TEXT_CHARS
PRE_REDACTION_SIZE_FACTOR = 2
# Digits and separators at the end of a string cut before redaction: part of a
# card number there could no longer be recognised, so it goes too.
_TRAILING_NUMBER_RE = re.compile(r"[0-9\s./-]+$")


def payload_size(payload: Mapping[str, Any]) -> int:
    """The payload's size in bytes, serialised as compact UTF-8 JSON."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
    return len(text.encode("utf-8"))


def _transcript_marker(omitted: int) -> Dict[str, Any]:
    return {
        "role": "system",
        "text": f"[... {omitted} messages omitted ...]",
        "omitted": omitted,
    }


def _history_marker(omitted: int) -> Dict[str, Any]:
    return {
        "turn": None,
        "session": None,
        "intent": None,
        "confidence": None,
        "text": f"[... {omitted} turns omitted ...]",
        "entities": [],
        "omitted": omitted,
    }


def _cut_middle(
    payload: Dict[str, Any],
    key: str,
    head: int,
    min_tail: int,
    marker: Callable[[int], Dict[str, Any]],
    max_bytes: int,
) -> bool:
    """Drops the middle of `payload[key]`, keeping as many latest items as fit.

    Returns:
        True if items were dropped.

    """
    items = payload[key]
    if len(items) <= head + min_tail + 1:
        return False

    def with_tail(tail: int) -> List[Dict[str, Any]]:
        cut = items[head : len(items) - tail]
        # A marker of an earlier cut (before redaction) counts what it stood for.
        omitted = sum(int(item.get("omitted") or 1) for item in cut)
        return [*items[:head], marker(omitted), *items[len(items) - tail :]]

    def fits(tail: int) -> bool:
        return payload_size({**payload, key: with_tail(tail)}) <= max_bytes

    # The largest tail that fits (the size grows with the tail).
    low, high = min_tail, len(items) - head - 1
    if not fits(low):
        best = low
    else:
        best = low
        while low <= high:
            middle = (low + high) // 2
            if fits(middle):
                best, low = middle, middle + 1
            else:
                high = middle - 1
    payload[key] = with_tail(best)
    return True


def _shorten_strings(
    value: Any, limit: int, unredacted: bool = False
) -> Tuple[Any, int]:
    """Shortens every string longer than `limit`; returns how many it shortened.

    `unredacted`: the strings are not redacted yet, so a number cut in two at
    the end is dropped whole (its head alone might not be recognised as PII).
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return value, 0
        marker_room = len(f"…[truncated {len(value)} chars]")
        head = value[: max(limit - marker_room, 0)]
        if unredacted:
            head = _TRAILING_NUMBER_RE.sub("", head)
        return f"{head}…[truncated {len(value) - len(head)} chars]", 1
    if isinstance(value, dict):
        result, count = {}, 0
        for k, v in value.items():
            result[k], n = _shorten_strings(v, limit, unredacted)
            count += n
        return result, count
    if isinstance(value, list):
        shortened = [_shorten_strings(v, limit, unredacted) for v in value]
        return [v for v, _ in shortened], sum(n for _, n in shortened)
    return value, 0


def cap_before_redaction(
    payload: Dict[str, Any], config: PayloadConfig
) -> Dict[str, Any]:
    """Caps what redaction has to read, whatever the conversation holds.

    Every string to `PRE_REDACTION_STRING_CHARS`, then the middle of the
    transcript and of the intent history (whole messages, never part of one)
    until the payload is within `PRE_REDACTION_SIZE_FACTOR` times `max_bytes`.
    The markers and flags are those of `bound`.
    """
    shortened, count = _shorten_strings(
        payload, PRE_REDACTION_STRING_CHARS, unredacted=True
    )
    if count:
        payload = {**shortened, "strings_truncated": True}
    budget = PRE_REDACTION_SIZE_FACTOR * config.max_bytes
    if payload_size(payload) > budget and _cut_middle(
        payload,
        "transcript",
        config.transcript_head,
        config.transcript_tail,
        _transcript_marker,
        budget,
    ):
        payload["transcript_truncated"] = True
    if payload_size(payload) > budget and _cut_middle(
        payload,
        "intent_history",
        INTENT_HISTORY_HEAD,
        INTENT_HISTORY_TAIL,
        _history_marker,
        budget,
    ):
        payload["intent_history_truncated"] = True
    return payload


def bound(payload: Dict[str, Any], config: PayloadConfig) -> Dict[str, Any]:
    """Makes the payload fit `config.max_bytes` (see the module docstring)."""
    limit = config.max_bytes
    if payload_size(payload) <= limit:
        return payload
    # 1. A giant string (a document in a slot) goes first: cutting it loses less
    #    than dropping messages.
    shortened, count = _shorten_strings(payload, LONG_STRING_CHARS)
    if count:
        payload = {**shortened, "strings_truncated": True}
    # 2. The middle of the transcript, then of the intent history.
    if payload_size(payload) > limit and _cut_middle(
        payload,
        "transcript",
        config.transcript_head,
        config.transcript_tail,
        _transcript_marker,
        limit,
    ):
        payload["transcript_truncated"] = True
    if payload_size(payload) > limit and _cut_middle(
        payload,
        "intent_history",
        INTENT_HISTORY_HEAD,
        INTENT_HISTORY_TAIL,
        _history_marker,
        limit,
    ):
        payload["intent_history_truncated"] = True
    # 3. Shorter and shorter strings everywhere.
    original = payload
    max_chars = LONG_STRING_CHARS
    while payload_size(payload) > limit and max_chars > MIN_STRING_CHARS:
        max_chars = max(max_chars // 2, MIN_STRING_CHARS)
        shortened, count = _shorten_strings(original, max_chars)
        if count:
            payload = {**shortened, "strings_truncated": True}
    size = payload_size(payload)
    if size > limit:
        logger.warning(
            "rasa_handover: the payload of conversation %s is %d bytes after "
            "truncation, above max_bytes=%d (too many slots or entities?); "
            "sending it anyway.",
            payload.get("conversation_id"),
            size,
            limit,
        )
    return payload
