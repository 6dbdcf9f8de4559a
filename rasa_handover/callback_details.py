"""Reading a callback request: where to reach the customer and when (pure).

The callback form (`validate_handover_callback_form`) and the message form
(`validate_handover_message_form`) read the customer's words with these
functions; nothing here imports Rasa.

Contacts: a phone number (7 to 15 digits, an optional leading `+`, spaces,
dots, dashes and brackets between them, e.g. "+1 555 0100", "(030) 1234-567")
or an e-mail address ("dana@example.com").

Times (`parse_callback_time`), in the callback time zone: the IANA name in the
action server's environment variable `HANDOVER_TIMEZONE` (`callback_timezone`),
UTC when it is not set; never the machine's own zone, which a container or a
cloud host sets by accident:

| said | means |
|---|---|
| "now", "asap", "as soon as possible", "right away" | now |
| "in 2 hours", "in 30 minutes", "in an hour", "in half an hour" | from now |
| "at 3pm", "10am", "15:30", "noon" | today, or tomorrow if already past |
| "tomorrow at 10am", "today 5pm", "tonight at 8" | that day |
| "monday 3pm", "next friday at 9:30" | the next such day (today if still ahead) |
| "tomorrow morning" / "afternoon" / "evening" | 9:00 / 14:00 / 18:00 |

A day without a time ("tomorrow"), a time already past ("today at 9am" in the
afternoon) or anything else is not understood: the form asks again.
"""

import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Mapping, Optional, Tuple

from rasa_handover.time_zones import time_zone
from rasa_handover.validation import HandoverConfigError

MIN_PHONE_DIGITS = 7
MAX_PHONE_DIGITS = 15
CONTACT_PHONE = "phone"
CONTACT_EMAIL = "email"

_EMAIL = re.compile(
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d\s().\-/]{4,}\d(?!\w)")


@dataclass(frozen=True)
class Contact:
    """Where to reach the customer.

    Attributes:
        kind: `phone` or `email`.
        value: The number as written (trimmed) or the address (lower case).
        span: Where it was found in the text (start, end).

    """

    kind: str
    value: str
    span: Tuple[int, int] = (0, 0)


def find_email(text: str) -> Optional[Contact]:
    """The first e-mail address in `text`, if any."""
    match = _EMAIL.search(text or "")
    if match is None:
        return None
    return Contact(CONTACT_EMAIL, match.group(0).lower(), match.span())


def find_phone(text: str) -> Optional[Contact]:
    """The first phone number (7-15 digits) in `text`, if any."""
    for match in _PHONE.finditer(text or ""):
        digits = re.sub(r"\D", "", match.group(0))
        if MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS:
            return Contact(CONTACT_PHONE, match.group(0).strip(), match.span())
    return None


def find_contact(text: str) -> Optional[Contact]:
    """An e-mail address or phone number in `text` (the address first)."""
    return find_email(text) or find_phone(text)


# --- Times. ----------------------------------------------------------------------

# The setting: the time zone callback times are said in (an IANA name).
TIMEZONE_ENV = "HANDOVER_TIMEZONE"
DEFAULT_TIMEZONE = "UTC"


def callback_timezone(environ: Mapping[str, str] = os.environ) -> tzinfo:
    """The time zone of `HANDOVER_TIMEZONE` (default UTC).

    Raises:
        HandoverConfigError: the name is no time zone, saying what to write.

    """
    name = (environ.get(TIMEZONE_ENV) or "").strip() or DEFAULT_TIMEZONE
    try:
        return time_zone(name)
    except ValueError as error:
        raise HandoverConfigError(
            f"{TIMEZONE_ENV}={name!r} is not a time zone, so callback times "
            f"cannot be read. Set it to an IANA name such as Europe/Berlin, "
            f"America/New_York or UTC (the default), or unset it."
        ) from error


WEEKDAYS = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
PARTS_OF_DAY = {"morning": 9, "afternoon": 14, "evening": 18, "tonight": 20}
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "twelve": 12,
    "fifteen": 15, "twenty": 20, "thirty": 30, "forty-five": 45,
}  # fmt: skip
_UNIT_SECONDS = {"minute": 60, "min": 60, "hour": 3600, "hr": 3600, "day": 86400}

_NOW = re.compile(r"\b(now|asap|as soon as possible|right away|immediately)\b")
_HALF_HOUR = re.compile(r"\bin (?:half an hour|30 min(?:ute)?s?)\b")
_RELATIVE = re.compile(
    r"\bin (\d+|" + "|".join(_NUMBER_WORDS) + r")\s*(minute|min|hour|hr|day)s?\b"
)
_CLOCK = re.compile(
    r"\b(?:at\s+)?(\d{1,2})(?::|\.|h)?(\d{2})?\s*(am|pm|a\.m\.|p\.m\.)?(?![\d:])"
)
_NOON = re.compile(r"\b(noon|midday|midnight)\b")


@dataclass(frozen=True)
class CallbackTime:
    """When to call back.

    Attributes:
        due: The moment (timezone-aware, like `now`).
        text: How to say it to the customer ("tomorrow at 10:00").

    """

    due: datetime
    text: str


def parse_callback_time(text: str, now: datetime) -> Optional[CallbackTime]:
    """Reads when the customer wants the call (see the module's table).

    Args:
        text: What the customer wrote (a contact in it is ignored).
        now: The current time, timezone-aware.

    Returns:
        The time, or None if it is not understood or already past.

    """
    lowered = _without_contact(text or "").lower()
    if _HALF_HOUR.search(lowered):
        return _at(now + timedelta(minutes=30), now)
    relative = _RELATIVE.search(lowered)
    if relative:
        amount = relative.group(1)
        count = int(amount) if amount.isdigit() else _NUMBER_WORDS[amount]
        return _at(
            now + timedelta(seconds=count * _UNIT_SECONDS[relative.group(2)]), now
        )
    if _NOW.search(lowered):
        return CallbackTime(now, "as soon as possible")
    day_offset = _day_offset(lowered, now)
    hour_minute = _clock(lowered)
    if hour_minute is None:
        if day_offset is None:
            return None
        part = next((h for name, h in PARTS_OF_DAY.items() if name in lowered), None)
        if part is None:
            return None  # "tomorrow" alone: ask for a time
        hour_minute = (part, 0)
    hour, minute = hour_minute
    if day_offset is None:
        day_offset = 0
        if (hour, minute) <= (now.hour, now.minute):
            day_offset = 1  # "at 10am" in the afternoon: tomorrow
    due = (now + timedelta(days=day_offset)).replace(
        hour=hour, minute=minute, second=0, microsecond=0
    )
    if due <= now and _names_weekday(lowered):
        due += timedelta(days=7)  # "monday 3pm" on a Monday afternoon
    if due <= now:
        return None
    return _at(due, now)


def _without_contact(text: str) -> str:
    for contact in (find_email(text), find_phone(text)):
        if contact is not None:
            start, end = contact.span
            text = text[:start] + " " + text[end:]
    return text


def _day_offset(text: str, now: datetime) -> Optional[int]:
    if re.search(r"\b(today|tonight|this (morning|afternoon|evening))\b", text):
        return 0
    if re.search(r"\btomorrow\b", text):
        return 1
    for index, name in enumerate(WEEKDAYS):
        if re.search(rf"\b{name}\b", text):
            return (index - now.weekday()) % 7
    return None


def _names_weekday(text: str) -> bool:
    return any(re.search(rf"\b{name}\b", text) for name in WEEKDAYS)


def _clock(text: str) -> Optional[Tuple[int, int]]:
    noon = _NOON.search(text)
    if noon:
        return (0, 0) if noon.group(1) == "midnight" else (12, 0)
    for match in _CLOCK.finditer(text):
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        suffix = (match.group(3) or "").replace(".", "")
        said_at = text[max(0, match.start() - 3) : match.start() + 3].find("at") >= 0
        if not suffix and not match.group(2) and not said_at:
            continue  # a bare number ("2 people") is not a time
        if suffix == "pm" and hour < 12:
            hour += 12
        elif suffix == "am" and hour == 12:
            hour = 0
        elif not suffix and "tonight" in text and hour < 12:
            hour += 12
        if hour < 24 and minute < 60:
            return hour, minute
    return None


def _at(due: datetime, now: datetime) -> CallbackTime:
    return CallbackTime(due, describe_time(due, now))


def describe_time(due: datetime, now: datetime) -> str:
    """How to say `due`: today / tomorrow at 17:00, on Monday 7 December at 15:00."""
    clock = due.strftime("%H:%M")
    days = (due.date() - now.date()).days
    if days == 0:
        return f"today at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    return f"on {due.strftime('%A')} {due.day} {due.strftime('%B')} at {clock}"
