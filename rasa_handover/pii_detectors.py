"""The PII detectors of `redaction`: what each kind of personal data looks like.

Each finder yields the replacements (start, end, masked text) for one kind of
PII in a text; `finders` picks those that are on, `mask_detected` applies them.
The rules (and why they are strict) are described in `redaction`'s docstring and
docs/security.md.

This module is pure: it imports nothing from Rasa.
"""

import re
from typing import (
    Callable,
    FrozenSet,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

from rasa_handover.card_numbers import card_spans

# --- Masking. -----------------------------------------------------------------

# The character that replaces a masked digit or letter. Separators (spaces,
# dashes) are kept, so "**** **** **** 4242" still reads as a card number.
MASK_CHAR = "*"
# PCI DSS allows the last four digits of a card number to be shown, and they are
# what agents and customers use to tell cards apart.
CARD_KEEP_LAST = 4
# The same courtesy for bank accounts ("the account ending in 3000").
IBAN_KEEP_LAST = 4
# US practice: the last four digits of an SSN identify without exposing it.
SSN_KEEP_LAST = 4
# Enough to confirm "the number ending in 42" without giving the number away.
PHONE_KEEP_LAST = 2

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


def compact(text: str) -> str:
    """Letters and digits only, upper case: how values are compared."""
    return _NON_ALNUM_RE.sub("", text).upper()


def _cards(text: str, keep: FrozenSet[str]) -> Iterator[_Replacement]:
    for start, end in card_spans(text):
        number = text[start:end]
        if compact(number) not in keep:
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
        if compact(iban) not in keep:
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
        if iban_is_valid(compact(text[match.start() : end])):
            return end
    return None


def _ssns(text: str, keep: FrozenSet[str]) -> Iterator[_Replacement]:
    spans = [m.span() for m in _SSN_RE.finditer(text)]
    spans.extend(m.span(1) for m in _SSN_UNDASHED_RE.finditer(text))
    for start, end in spans:
        if compact(text[start:end]) not in keep:
            yield start, end, _mask_keep_last(text[start:end], SSN_KEEP_LAST)


def _ninos(text: str, keep: FrozenSet[str]) -> Iterator[_Replacement]:
    for match in _NINO_RE.finditer(text):
        if compact(match.group()) not in keep:
            # No partial display convention exists for NI numbers: mask it all.
            yield match.start(), match.end(), _mask_keep_last(match.group(), 0)


def _emails(text: str, keep: FrozenSet[str]) -> Iterator[_Replacement]:
    for match in _EMAIL_RE.finditer(text):
        if compact(match.group()) in keep:
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


Finder = Callable[[str, FrozenSet[str]], Iterator[_Replacement]]


def finders(
    *, cards: bool, ibans: bool, national_ids: bool, emails: bool, phones: bool
) -> List[Finder]:
    """The detectors that are on, in the order they must run."""
    # Order matters: cards and IBANs first so that the phone detector never sees
    # their digits (they are stars by then).
    found: List[Finder] = []
    if cards:
        found.extend((_cards, _card_codes))
    if ibans:
        found.append(_ibans)
    if national_ids:
        found.extend((_ssns, _ninos))
    if emails:
        found.append(_emails)
    if phones:
        found.append(_phones)
    return found


def mask_detected(text: str, detectors: Sequence[Finder], keep: FrozenSet[str]) -> str:
    """`text` with what `detectors` find masked, but the values in `keep`.

    Args:
        text: Any free text.
        detectors: From `finders`.
        keep: Values never masked, compacted (`compact`).

    """
    # Every detector but the e-mail one needs a digit: most messages have none.
    has_digits = _DIGIT_RE.search(text) is not None
    for finder in detectors:
        if has_digits or finder is _emails:
            replacements = list(finder(text, keep))
            if replacements:
                text = _apply(text, replacements)
    return text


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
