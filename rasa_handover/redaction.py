"""PII redaction: what must not leave the bot, masked before the payload does.

The context payload travels to the inbox, is stored there and is shown to agents;
an optional LLM summariser sends facts to a model server. Payment card numbers,
IBANs and national ID numbers have no business in any of those places, so they
are masked in every free-text field before the payload is built into its final
form. E-mail addresses and phone numbers are usually exactly what an agent needs
to help, so masking them is opt-in.

Detectors are deliberately strict, because masking an order number would break
the cardinal rule (the agent would have to ask for it again):

* cards: 13-19 digits, optionally grouped by single spaces or dashes, that pass
  the Luhn check. Most order, ticket and tracking numbers fail it or are too
  short.
* IBANs: a country code, two check digits and the account part, with the
  country's registered length where known, that pass the ISO 7064 mod-97 check.
* national IDs: US social security numbers (``123-45-6789``, with the ranges the
  SSA never issues excluded) and UK National Insurance numbers.
* e-mail addresses and phone numbers (off by default).

Whole values can be masked by name too (``slots_to_mask``, ``entities_to_mask``),
in which case every occurrence of the value in the transcript and the other texts
is masked as well: a date of birth kept out of the slots must not be readable in
the message that gave it. ``slots_to_keep`` does the opposite: those values are
never touched, wherever they appear.

This module is pure: it imports nothing from Rasa.
"""

import copy
import re
from dataclasses import dataclass, fields
from typing import (
    Any,
    Callable,
    Dict,
    FrozenSet,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Pattern,
    Sequence,
    Tuple,
)

from rasa_handover.card_numbers import card_spans
from rasa_handover.config_keys import checked_section
from rasa_handover.limits import clean_text

__all__ = [
    "CARD_KEEP_LAST",
    "DROPPED_TEXT",
    "IBAN_KEEP_LAST",
    "IBAN_LENGTHS",
    "MASK_CHAR",
    "MASK_PLACEHOLDER",
    "MIN_SCRUB_CHARS",
    "PHONE_KEEP_LAST",
    "SSN_KEEP_LAST",
    "RedactionConfig",
    "iban_is_valid",
    "luhn_is_valid",
    "redact_customer_message",
    "redact_payload",
    "redact_text",
    "redact_value",
]

# --- Masking. -----------------------------------------------------------------

# The character that replaces a masked digit or letter. Separators (spaces,
# dashes) are kept, so "**** **** **** 4242" still reads as a card number.
MASK_CHAR = "*"
# What a value masked by name (``slots_to_mask``) becomes. A run of stars would
# reveal the value's length, which for a PIN or a password is already a hint.
MASK_PLACEHOLDER = "[redacted]"
# What a value that could not be redacted becomes: it is never sent as it was.
DROPPED_TEXT = "[dropped: could not be redacted]"
# PCI DSS allows the last four digits of a card number to be shown, and they are
# what agents and customers use to tell cards apart.
CARD_KEEP_LAST = 4
# The same courtesy for bank accounts ("the account ending in 3000").
IBAN_KEEP_LAST = 4
# US practice: the last four digits of an SSN identify without exposing it.
SSN_KEEP_LAST = 4
# Enough to confirm "the number ending in 42" without giving the number away.
PHONE_KEEP_LAST = 2
# Values masked by name are also searched for in free text; shorter values ("no",
# "1") would mask unrelated words and digits all over the transcript.
MIN_SCRUB_CHARS = 3

# --- Detectors. ---------------------------------------------------------------

# A phone number has at most 15 digits (ITU E.164). Without a leading "+", fewer
# than 9 digits are more likely a date, a time or an order number.
PHONE_MIN_DIGITS = 9
# With a leading "+" the writer says it is a phone number; the shortest
# international numbers have 7 digits in all.
PHONE_MIN_DIGITS_INTERNATIONAL = 7
PHONE_MAX_DIGITS = 15
# ISO 13616: an IBAN is at most 34 characters; the shortest national format
# (Norway) is 15.
IBAN_MIN_LENGTH = 15
IBAN_MAX_LENGTH = 34

# The registered IBAN length of each country (SWIFT's IBAN registry). A candidate
# is cut to its country's length, so that words typed after a space-grouped IBAN
# are not read as part of it. Countries missing here are checked at every length.
# fmt: off
IBAN_LENGTHS: Mapping[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16,
    "BG": 22, "BH": 22, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28,
    "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24,
    "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18,
    "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23,
    "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}
# fmt: on

# Country code, check digits, then letters/digits optionally grouped by spaces,
# dashes or dots. The account part is matched generously and cut to length
# afterwards.
_IBAN_CANDIDATE_RE = re.compile(
    rf"\b([A-Z]{{2}})(\d{{2}})((?:[ .-]?[A-Z0-9]){{11,{IBAN_MAX_LENGTH - 4}}})",
    re.IGNORECASE,
)
# The SSA never issues area 000, 666 or 900-999, group 00 or serial 0000, so
# those are not SSNs (and excluding them spares some look-alikes).
_SSN_RE = re.compile(
    r"(?<![\d-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])"
)
# Nine digits in one piece are an SSN only when the customer says so: a context
# word shortly before ("SSN 123456789", "social security number is ...").
# Order, account and tracking numbers are often nine digits too, and masking
# them would make the customer repeat them to the agent.
_SSN_UNDASHED_RE = re.compile(
    r"\b(?:ssn|ss#|social(?:\s+security)?(?:\s+(?:number|no\.?|#))?)\b"
    r"[^\d\n]{0,20}?(?<!\d)((?!000|666|9\d\d)\d{3}(?!00)\d{2}(?!0000)\d{4})(?!\d)",
    re.IGNORECASE,
)
# The card verification code and expiry date, after the word that names them:
# "cvv 123", "CVC: 1234", "security code 123", "exp 12/27", "expiry 12-2027",
# "valid thru 12/27". Without such a word, three digits or a date are not
# card data.
_CVV_RE = re.compile(
    r"\b(?:cvv2?|cvc2?|cid|csc|security\s+code|card\s+code)\b"
    r"[^\d\n]{0,12}?(?<!\d)(\d{3,4})(?!\d)",
    re.IGNORECASE,
)
_EXPIRY_RE = re.compile(
    r"\b(?:exp(?:iry|iration|ires|\.)?|valid\s+(?:thru|through|until|till))"
    r"(?:\s+date)?\b[^\d\n]{0,12}?(?<!\d)"
    r"((?:0?[1-9]|1[0-2])\s?[/.-]\s?(?:\d{2}|20\d{2}))(?!\d)",
    re.IGNORECASE,
)
# HMRC's format: two prefix letters (D, F, I, Q, U, V never; O never second;
# BG, GB, KN, NK, NT, TN, ZZ never), six digits, a suffix letter A-D.
_NINO_RE = re.compile(
    r"\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r"[ -]?\d{2}[ -]?\d{2}[ -]?\d{2}[ -]?[A-D]\b",
    re.IGNORECASE,
)
_EMAIL_RE = re.compile(
    r"(?<![\w.+-])([\w.+-])[\w.+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
)
_PHONE_RE = re.compile(r"(?<![\w+*])\+?\(?\d[\d ().-]{5,}\d(?![\w*])")
_NON_ALNUM_RE = re.compile(r"[^A-Za-z0-9]")
_DIGIT_RE = re.compile(r"[0-9]")

# Replacement for one match: (start, end, new text).
_Replacement = Tuple[int, int, str]


@dataclass(frozen=True)
class RedactionConfig:
    """What to mask before the payload leaves the bot.

    The defaults mask what is never needed to help a customer (card numbers,
    IBANs, national ID numbers) and keep what usually is (e-mail, phone).

    Attributes:
        enabled: Master switch; `False` passes everything through unchanged.
        cards: Mask Luhn-valid payment card numbers, keeping the last 4 digits.
        ibans: Mask mod-97-valid IBANs, keeping the country code and last 4.
        national_ids: Mask US SSNs (keeping the last 4) and UK NI numbers.
        emails: Mask e-mail addresses to their first letter and domain.
        phones: Mask phone numbers (9-15 digits, or any with a leading "+"),
            keeping the last 2 digits.
        slots_to_mask: Slots whose whole value is replaced by "[redacted]"
            (and every occurrence of it in the texts masked too).
        slots_to_keep: Slots (and entities of the same name) never redacted,
            wherever their value appears, e.g. `order_id`.
        entities_to_mask: Entities whose whole value is masked, like
            `slots_to_mask`.

    """

    enabled: bool = True
    cards: bool = True
    ibans: bool = True
    national_ids: bool = True
    emails: bool = False
    phones: bool = False
    slots_to_mask: Tuple[str, ...] = ()
    slots_to_keep: Tuple[str, ...] = ()
    entities_to_mask: Tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, raw: Optional[Mapping[str, Any]]) -> "RedactionConfig":
        """Builds the configuration from a mapping (e.g. a YAML section).

        Args:
            raw: Keys are the attribute names; missing keys keep their default.

        Returns:
            The configuration.

        Raises:
            ValueError: naming the unknown key or the key with a bad value.

        """
        if raw is None:
            return cls()
        checked_section(raw, [f.name for f in fields(cls)], "redaction")
        values: Dict[str, Any] = {}
        for key, value in raw.items():
            default = getattr(cls, key)
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ValueError(
                        f"redaction.{key}: expected true or false, got {value!r}."
                    )
                values[key] = value
            else:
                values[key] = _names(f"redaction.{key}", value)
        return cls(**values)

    @property
    def active_detectors(self) -> Tuple[str, ...]:
        """The names of the detectors that are on (as shown in the payload)."""
        if not self.enabled:
            return ()
        switches = (
            ("card", self.cards),
            ("iban", self.ibans),
            ("national_id", self.national_ids),
            ("email", self.emails),
            ("phone", self.phones),
        )
        return tuple(name for name, on in switches if on)


def _names(key: str, value: Any) -> Tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError(f"{key}: expected a list of names, got {value!r}.")
    if not all(isinstance(item, str) and item for item in value):
        raise ValueError(f"{key}: every entry must be a non-empty name, got {value!r}.")
    return tuple(value)


# --- Checksums. ---------------------------------------------------------------


def luhn_is_valid(digits: str) -> bool:
    """Whether a digit string passes the Luhn (mod 10) check of card numbers."""
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def iban_is_valid(iban: str) -> bool:
    """Whether a compact IBAN (no spaces) passes the ISO 7064 mod-97 check."""
    compact = iban.upper()
    if (
        not (IBAN_MIN_LENGTH <= len(compact) <= IBAN_MAX_LENGTH)
        or not compact.isalnum()
    ):
        return False
    if not (compact[:2].isalpha() and compact[2:4].isdigit()):
        return False
    known = IBAN_LENGTHS.get(compact[:2])
    if known is not None and known != len(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    # Letters count as two-digit numbers: A=10 ... Z=35.
    number = "".join(str(int(char, 36)) for char in rearranged)
    return int(number) % 97 == 1


# --- Finders: each yields the replacements for one kind of PII. ---------------


def _mask_keep_last(text: str, keep_last: int, keep_first: int = 0) -> str:
    """Masks the letters and digits of ``text`` but the first/last few."""
    positions = [i for i, char in enumerate(text) if char.isalnum()]
    hidden = set(positions[keep_first : max(keep_first, len(positions) - keep_last)])
    return "".join(MASK_CHAR if i in hidden else char for i, char in enumerate(text))


def _compact(text: str) -> str:
    return _NON_ALNUM_RE.sub("", text).upper()


def _cards(text: str, keep: FrozenSet[str]) -> Iterator[_Replacement]:
    for start, end in card_spans(text):
        number = text[start:end]
        if _compact(number) not in keep:
            yield start, end, _mask_keep_last(number, CARD_KEEP_LAST)


def _card_codes(text: str, keep: FrozenSet[str]) -> Iterator[_Replacement]:
    """CVV and expiry dates named as such: every digit masked."""
    for pattern in (_CVV_RE, _EXPIRY_RE):
        for match in pattern.finditer(text):
            start, end = match.span(1)
            yield start, end, _mask_keep_last(text[start:end], 0)


def _ibans(text: str, keep: FrozenSet[str]) -> Iterator[_Replacement]:
    position = 0
    while True:
        match = _IBAN_CANDIDATE_RE.search(text, position)
        if match is None:
            return
        end = _iban_end(text, match)
        if end is None:
            # The candidate may have swallowed the start of a real IBAN
            # ("see DE89 ..."), so look again from the next word.
            position = match.start() + 1
            continue
        iban = text[match.start() : end]
        if _compact(iban) not in keep:
            yield (
                match.start(),
                end,
                _mask_keep_last(iban, IBAN_KEEP_LAST, keep_first=2),
            )
        position = end


def _iban_end(text: str, match: "re.Match[str]") -> Optional[int]:
    """Where the IBAN that starts at ``match`` ends, or None if it is not one."""
    country = match.group(1).upper()
    # Offsets (in text) just past each letter/digit of the candidate.
    ends = [
        match.start() + i + 1 for i, char in enumerate(match.group()) if char.isalnum()
    ]
    known = IBAN_LENGTHS.get(country)
    lengths: Iterable[int] = (
        (known,) if known is not None else range(len(ends), IBAN_MIN_LENGTH - 1, -1)
    )
    for length in lengths:
        if length > len(ends):
            continue
        end = ends[length - 1]
        # The IBAN must end where a word ends, not in the middle of one.
        if end < len(text) and text[end].isalnum():
            continue
        if iban_is_valid(_compact(text[match.start() : end])):
            return end
    return None


def _ssns(text: str, keep: FrozenSet[str]) -> Iterator[_Replacement]:
    spans = [m.span() for m in _SSN_RE.finditer(text)]
    spans.extend(m.span(1) for m in _SSN_UNDASHED_RE.finditer(text))
    for start, end in spans:
        if _compact(text[start:end]) not in keep:
            yield start, end, _mask_keep_last(text[start:end], SSN_KEEP_LAST)


def _ninos(text: str, keep: FrozenSet[str]) -> Iterator[_Replacement]:
    for match in _NINO_RE.finditer(text):
        if _compact(match.group()) not in keep:
            # No partial display convention exists for NI numbers: mask it all.
            yield match.start(), match.end(), _mask_keep_last(match.group(), 0)


def _emails(text: str, keep: FrozenSet[str]) -> Iterator[_Replacement]:
    for match in _EMAIL_RE.finditer(text):
        if _compact(match.group()) in keep:
            continue
        # The first letter and the domain let an agent confirm "d***@example.com
        # is yours?" without reading the address out.
        masked = f"{match.group(1)}{MASK_CHAR * 3}@{match.group(2)}"
        yield match.start(), match.end(), masked


def _phones(text: str, keep: FrozenSet[str]) -> Iterator[_Replacement]:
    for match in _PHONE_RE.finditer(text):
        number = match.group()
        digits = re.sub(r"\D", "", number)
        minimum = (
            PHONE_MIN_DIGITS_INTERNATIONAL
            if number.startswith("+")
            else PHONE_MIN_DIGITS
        )
        if not minimum <= len(digits) <= PHONE_MAX_DIGITS:
            continue
        if digits in keep:
            continue
        yield match.start(), match.end(), _mask_keep_last(number, PHONE_KEEP_LAST)


_Finder = Callable[[str, FrozenSet[str]], Iterator[_Replacement]]


def _finders(config: RedactionConfig) -> List[_Finder]:
    # Order matters: cards and IBANs first so that the phone detector never sees
    # their digits (they are stars by then).
    finders: List[_Finder] = []
    if config.cards:
        finders.extend((_cards, _card_codes))
    if config.ibans:
        finders.append(_ibans)
    if config.national_ids:
        finders.extend((_ssns, _ninos))
    if config.emails:
        finders.append(_emails)
    if config.phones:
        finders.append(_phones)
    return finders


def _apply(text: str, replacements: Iterable[_Replacement]) -> str:
    parts: List[str] = []
    position = 0
    for start, end, new in sorted(replacements):
        if start < position:  # overlapping matches: the first one wins
            continue
        parts.append(text[position:start])
        parts.append(new)
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _scrub_pattern(values: Iterable[str]) -> Optional[Pattern[str]]:
    """One regex that finds any of ``values`` as a whole word, longest first."""
    alternatives = []
    for value in sorted(set(values), key=len, reverse=True):
        if len(value) < MIN_SCRUB_CHARS:
            continue
        escaped = re.escape(value)
        # Only anchor on a side that is a word character; "+49 30 1234" may
        # follow a space or a bracket.
        prefix = r"(?<!\w)" if value[0].isalnum() else ""
        suffix = r"(?!\w)" if value[-1].isalnum() else ""
        alternatives.append(f"{prefix}{escaped}{suffix}")
    if not alternatives:
        return None
    return re.compile("|".join(alternatives), re.IGNORECASE)


def redact_text(
    text: str,
    config: RedactionConfig = RedactionConfig(),
    keep_values: Iterable[str] = (),
    mask_values: Iterable[str] = (),
) -> str:
    """Masks the PII in one piece of text.

    Args:
        text: Any free text (a message, a slot value, a summary line).
        config: Which detectors are on.
        keep_values: Values never masked (the values of `slots_to_keep`),
            compared without spaces, dashes and case.
        mask_values: Values masked wherever they appear (the values of
            `slots_to_mask` / `entities_to_mask`), replaced by "[redacted]".

    Returns:
        The text with every detected value masked; unchanged when redaction is
        off or nothing was found.

    """
    if not config.enabled or not text:
        return text
    keep = frozenset(_compact(value) for value in keep_values if value)
    pattern = _scrub_pattern(mask_values)
    if pattern is not None:
        text = pattern.sub(MASK_PLACEHOLDER, text)
    # Every detector but the e-mail one needs a digit: most messages have none.
    has_digits = _DIGIT_RE.search(text) is not None
    for finder in _finders(config):
        if has_digits or finder is _emails:
            replacements = list(finder(text, keep))
            if replacements:
                text = _apply(text, replacements)
    return text


# What a customer's message relayed live to an agent is masked with: the card
# data, bank accounts and national IDs an agent never needs (and the inbox must
# never store); e-mail addresses, phone and order numbers stay readable.
LIVE_MESSAGE_REDACTION = RedactionConfig()


def redact_customer_message(text: str) -> str:
    """A customer's message as the inbox may store it and the agent see it.

    The one function the channel calls before a message enters the inbox
    (`channels.relay`), whether embedded or standalone, and before it is
    written to the channel's outbox file. Text no database can store (lone
    surrogates) is cleaned too (`limits.clean_text`).
    """
    return redact_text(clean_text(text), LIVE_MESSAGE_REDACTION)


def redact_value(
    value: Any,
    config: RedactionConfig = RedactionConfig(),
    keep_values: Iterable[str] = (),
    mask_values: Iterable[str] = (),
) -> Any:
    """Redacts every string inside a JSON-like value (dicts, lists, numbers).

    A number that turns out to be PII (a card number stored as an integer) comes
    back as the masked string; other numbers, booleans and `None` are unchanged.
    """
    keep = tuple(keep_values)
    masks = tuple(mask_values)
    return _redact_value(value, config, keep, masks)


def _redact_value(
    value: Any,
    config: RedactionConfig,
    keep: Sequence[str],
    masks: Sequence[str],
) -> Any:
    if isinstance(value, str):
        return redact_text(value, config, keep, masks)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        as_text = str(value)
        redacted = redact_text(as_text, config, keep, masks)
        return value if redacted == as_text else redacted
    if isinstance(value, Mapping):
        return {k: _redact_value(v, config, keep, masks) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact_value(v, config, keep, masks) for v in value]
    return value


def _scalar_texts(value: Any) -> List[str]:
    """The strings (and numbers, as text) inside a value, for scrubbing."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, (str, int, float)):
        text = str(value)
        if isinstance(value, float) and value.is_integer():
            text = str(int(value))
        return [text]
    if isinstance(value, Mapping):
        return [t for v in value.values() for t in _scalar_texts(v)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _scalar_texts(v)]
    return []


def redact_payload(
    payload: Mapping[str, Any],
    config: RedactionConfig = RedactionConfig(),
    dropped: Optional[List[Dict[str, str]]] = None,
) -> Dict[str, Any]:
    """Redacts a context payload (see `payload.build_payload`).

    Walks the free-text and value fields: `customer`, `trigger.evidence`,
    `intent_history[].text` and `.entities`, `entities[].value`, `slots`,
    `transcript[].text` and `summary`. Identifiers and names of things
    (conversation id, intent and action names, timestamps) are left alone.
    Missing sections are skipped, so a partial payload can be redacted too.

    Args:
        payload: The payload; it is not modified.
        config: What to mask.
        dropped: If given, a value that cannot be redacted (whatever the
            reason) is replaced by `DROPPED_TEXT` and recorded here as
            `{"field": ..., "reason": ...}` instead of raising: it is never sent
            unredacted, and the rest of the payload still is.

    Returns:
        A redacted deep copy.

    """
    result: Dict[str, Any] = copy.deepcopy(dict(payload))
    if not config.enabled:
        return result
    slots: Dict[str, Any] = dict(result.get("slots") or {})
    # Every entity the payload mentions: the latest values and the ones of
    # each turn (an older value of a masked entity is just as private).
    all_entities: List[Mapping[str, Any]] = [
        *(result.get("entities") or []),
        *(
            entity
            for item in result.get("intent_history") or []
            for entity in item.get("entities") or []
        ),
    ]
    keep_names = frozenset(config.slots_to_keep)
    mask_slots = frozenset(config.slots_to_mask)
    mask_entities = frozenset(config.entities_to_mask)
    keep = _values_named(slots, all_entities, keep_names, keep_names)
    masks = _values_named(slots, all_entities, mask_slots, mask_entities)

    def walk(value: Any, where: str) -> Any:
        try:
            return _redact_value(value, config, keep, masks)
        except Exception as error:  # one value must not stop the handover
            if dropped is None:
                raise
            dropped.append({"field": where, "reason": _reason(error)})
            return DROPPED_TEXT

    def entity(item: Mapping[str, Any], where: str) -> Dict[str, Any]:
        redacted = dict(item)
        name = item.get("entity")
        if name in mask_entities:
            redacted["value"] = MASK_PLACEHOLDER
        elif name not in keep_names:
            redacted["value"] = walk(item.get("value"), f"{where}.value")
        return redacted

    if "slots" in result:
        result["slots"] = {
            name: (
                value
                if name in keep_names
                else MASK_PLACEHOLDER
                if name in mask_slots and value is not None
                else walk(value, f"slots.{name}")
            )
            for name, value in slots.items()
        }
    if "entities" in result:
        result["entities"] = [
            entity(item, f"entities[{i}]")
            for i, item in enumerate(result["entities"] or [])
        ]
    if "transcript" in result:
        result["transcript"] = [
            {**item, "text": walk(item["text"], f"transcript[{i}].text")}
            if "text" in item
            else item
            for i, item in enumerate(result["transcript"] or [])
        ]
    if "intent_history" in result:
        result["intent_history"] = [
            _history_item(item, f"intent_history[{i}]", walk, entity)
            for i, item in enumerate(result["intent_history"] or [])
        ]
    for section in ("customer", "summary"):
        if isinstance(result.get(section), Mapping):
            result[section] = walk(result[section], section)
    trigger = result.get("trigger")
    if isinstance(trigger, Mapping) and "evidence" in trigger:
        result["trigger"] = {
            **trigger,
            "evidence": walk(trigger["evidence"], "trigger.evidence"),
        }
    return result


def _history_item(
    item: Mapping[str, Any],
    where: str,
    walk: Callable[[Any, str], Any],
    entity: Callable[[Mapping[str, Any], str], Dict[str, Any]],
) -> Dict[str, Any]:
    redacted = dict(item)
    if "text" in redacted:
        redacted["text"] = walk(redacted["text"], f"{where}.text")
    if redacted.get("entities"):
        redacted["entities"] = [
            entity(e, f"{where}.entities[{i}]")
            for i, e in enumerate(redacted["entities"])
        ]
    return redacted


def _reason(error: BaseException) -> str:
    """A short, PII-free reason: the error's type (its message may quote text)."""
    return f"redaction failed ({type(error).__name__})"


def _values_named(
    slots: Mapping[str, Any],
    entities: Iterable[Mapping[str, Any]],
    slot_names: FrozenSet[str],
    entity_names: FrozenSet[str],
) -> Tuple[str, ...]:
    """The texts of the slots and entities with the given names."""
    texts = [
        text
        for name, value in slots.items()
        if name in slot_names
        for text in _scalar_texts(value)
    ]
    texts.extend(
        text
        for item in entities
        if item.get("entity") in entity_names
        for text in _scalar_texts(item.get("value"))
    )
    return tuple(dict.fromkeys(texts))
