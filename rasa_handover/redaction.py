"""PII redaction: what must not leave the bot, masked before the payload does.

The context payload travels to the inbox, is stored there and is shown to agents;
an optional LLM summariser sends facts to a model server. Payment card numbers,
IBANs and national ID numbers have no business in any of those places, so they
are masked in every free-text field before the payload is built into its final
form. E-mail addresses and phone numbers are usually exactly what an agent needs
to help, so masking them is opt-in.

Detectors are deliberately strict, because masking an order number would break
the cardinal rule (the agent would have to ask for it again):

* cards: 13-19 digits that pass the Luhn check, in one piece or grouped (one
  separator throughout: spaces, dashes, dots, slashes, tabs, newlines),
  found in linear time (`card_numbers`). Most order, ticket and tracking
  numbers fail the check or are too short. The CVV and expiry date count as
  card data after the word that names them ("cvv 123", "exp 12/27").
* IBANs: a country code, two check digits and the account part (spaces, dashes
  or dots), with the country's registered length where known, that pass the
  ISO 7064 mod-97 check.
* national IDs: US social security numbers (``123-45-6789``, ``123 45 6789``,
  or nine digits after "SSN" / "social security"; the ranges the SSA never
  issues excluded) and UK National Insurance numbers (spaces or dashes).
* e-mail addresses and phone numbers (off by default).

The detectors themselves are in `pii_detectors`.

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
    List,
    Mapping,
    Optional,
    Pattern,
    Sequence,
    Tuple,
)

from rasa_handover.config_keys import checked_section
from rasa_handover.limits import clean_text
from rasa_handover.pii_detectors import (
    CARD_KEEP_LAST,
    IBAN_KEEP_LAST,
    IBAN_LENGTHS,
    MASK_CHAR,
    PHONE_KEEP_LAST,
    SSN_KEEP_LAST,
    Finder,
    compact,
    finders,
    iban_is_valid,
    luhn_is_valid,
    mask_detected,
)

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

# --- Masking by name. ----------------------------------------------------------

# What a value masked by name (``slots_to_mask``) becomes. A run of stars would
# reveal the value's length, which for a PIN or a password is already a hint.
MASK_PLACEHOLDER = "[redacted]"
# What a value that could not be redacted becomes: it is never sent as it was.
DROPPED_TEXT = "[dropped: could not be redacted]"
# Values masked by name are also searched for in free text; shorter values ("no",
# "1") would mask unrelated words and digits all over the transcript.
MIN_SCRUB_CHARS = 3


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
    def detectors(self) -> List[Finder]:
        """The finders that are on (`pii_detectors.finders`)."""
        if not self.enabled:
            return []
        return finders(
            cards=self.cards,
            ibans=self.ibans,
            national_ids=self.national_ids,
            emails=self.emails,
            phones=self.phones,
        )

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
    keep = frozenset(compact(value) for value in keep_values if value)
    pattern = _scrub_pattern(mask_values)
    if pattern is not None:
        text = pattern.sub(MASK_PLACEHOLDER, text)
    return mask_detected(text, config.detectors, keep)


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
