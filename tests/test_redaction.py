"""PII redaction: what an agent (and an LLM) must never see, and what they must."""

import copy

import pytest

from rasa_handover.redaction import (
    MASK_PLACEHOLDER,
    RedactionConfig,
    iban_is_valid,
    luhn_is_valid,
    redact_payload,
    redact_text,
)

DEFAULT = RedactionConfig()
EVERYTHING = RedactionConfig(emails=True, phones=True)
# A 16-digit order number that happens to pass the Luhn check.
LUHN_VALID_ORDER = "2023118200000007"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "my card is 4242 4242 4242 4242 thanks",
            "my card is **** **** **** 4242 thanks",
            id="visa-test-number-masked-keeps-last-4",
        ),
        pytest.param(
            "card 4242-4242-4242-4242",
            "card ****-****-****-4242",
            id="dash-grouped-card-masked",
        ),
        pytest.param(
            "4242424242424242",
            "************4242",
            id="ungrouped-card-masked",
        ),
        pytest.param(
            "amex 378282246310005",
            "amex ***********0005",
            id="15-digit-amex-masked",
        ),
        pytest.param(
            "cards 4242 4242 4242 4242 5555 5555 5555 4444",
            "cards **** **** **** 4242 **** **** **** 4444",
            id="two-cards-in-a-row-both-masked",
        ),
        pytest.param(
            "order 12 4242 4242 4242 4242",
            "order 12 **** **** **** 4242",
            id="card-after-unrelated-number",
        ),
        pytest.param(
            "refund for order 1182 please",
            "refund for order 1182 please",
            id="short-order-number-not-masked",
        ),
        pytest.param(
            "order ORD-20231182 arrived broken",
            "order ORD-20231182 arrived broken",
            id="order-code-not-masked",
        ),
        pytest.param(
            "tracking 4242424242424241",
            "tracking 4242424242424241",
            id="16-digit-non-luhn-not-masked",
        ),
        pytest.param(
            "IBAN DE89 3704 0044 0532 0130 00 please",
            "IBAN DE** **** **** **** **30 00 please",
            id="de-iban-masked-keeps-country-and-last-4",
        ),
        pytest.param(
            "DE89370400440532013000",
            "DE****************3000",
            id="compact-iban-masked",
        ),
        pytest.param(
            "gb29 nwbk 6016 1331 9268 19",
            "gb** **** **** **** **68 19",
            id="lowercase-gb-iban-masked",
        ),
        pytest.param(
            "DE89 3704 0044 0532 0130 02",
            "DE89 3704 0044 0532 0130 02",
            id="iban-with-bad-checksum-not-masked",
        ),
        pytest.param(
            "pay to DE89 3704 0044 0532 0130 00 or NL91 ABNA 0417 1643 00",
            "pay to DE** **** **** **** **30 00 or NL** **** **** **43 00",
            id="two-ibans-both-masked",
        ),
        pytest.param("SSN 123-45-6789", "SSN ***-**-6789", id="ssn-masked"),
        pytest.param(
            "ref 000-12-3456",
            "ref 000-12-3456",
            id="never-issued-ssn-area-not-masked",
        ),
        pytest.param("NI AB 12 34 56 C", "NI ** ** ** ** *", id="uk-nino-masked"),
        pytest.param("nino ab123456c", "nino *********", id="compact-nino-masked"),
        pytest.param(
            "mail dana@example.com or call 0151 23456789",
            "mail dana@example.com or call 0151 23456789",
            id="email-and-phone-kept-by-default",
        ),
    ],
)
def test_redact_text_default(text: str, expected: str) -> None:
    assert redact_text(text, DEFAULT) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "mail dana@example.com",
            "mail d***@example.com",
            id="email-keeps-first-letter-and-domain",
        ),
        pytest.param(
            "call +49 30 1234567", "call +** ** *****67", id="international-phone"
        ),
        pytest.param("call 0151 23456789", "call **** ******89", id="national-phone"),
        pytest.param(
            "delivered on 2024-05-01 at 10:30",
            "delivered on 2024-05-01 at 10:30",
            id="date-is-not-a-phone",
        ),
        pytest.param(
            "order ORD-20231182",
            "order ORD-20231182",
            id="order-code-is-not-a-phone",
        ),
        pytest.param(
            "card 4242 4242 4242 4242",
            "card **** **** **** 4242",
            id="card-masked-as-card-not-phone",
        ),
    ],
)
def test_redact_text_with_emails_and_phones(text: str, expected: str) -> None:
    assert redact_text(text, EVERYTHING) == expected


def test_redaction_can_be_switched_off() -> None:
    text = "card 4242 4242 4242 4242, SSN 123-45-6789"
    assert redact_text(text, RedactionConfig(enabled=False)) == text
    assert redact_text(text, RedactionConfig(cards=False)) == (
        "card 4242 4242 4242 4242, SSN ***-**-6789"
    )


def test_kept_value_is_never_masked() -> None:
    text = f"my order {LUHN_VALID_ORDER} and card 4242 4242 4242 4242"
    assert redact_text(text, DEFAULT, keep_values=[LUHN_VALID_ORDER]) == (
        f"my order {LUHN_VALID_ORDER} and card **** **** **** 4242"
    )


def test_mask_values_are_found_in_free_text() -> None:
    text = "I was born on 1990-04-12, is that a problem?"
    assert redact_text(text, DEFAULT, mask_values=["1990-04-12"]) == (
        f"I was born on {MASK_PLACEHOLDER}, is that a problem?"
    )


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        pytest.param("4242424242424242", True, id="visa"),
        pytest.param("5555555555554444", True, id="mastercard"),
        pytest.param("4242424242424241", False, id="last-digit-off"),
        pytest.param("42a2", False, id="not-digits"),
    ],
)
def test_luhn(number: str, valid: bool) -> None:
    assert luhn_is_valid(number) is valid


@pytest.mark.parametrize(
    ("iban", "valid"),
    [
        pytest.param("DE89370400440532013000", True, id="de"),
        pytest.param("FR1420041010050500013M02606", True, id="fr-with-letter"),
        pytest.param("DE89370400440532013001", False, id="bad-checksum"),
        pytest.param("DE8937040044053201300", False, id="wrong-length-for-country"),
    ],
)
def test_iban_check(iban: str, valid: bool) -> None:
    assert iban_is_valid(iban) is valid


def _payload() -> dict:
    return {
        "conversation_id": "+4915123456789",
        "customer": {"name": "Dana", "id": "C-1", "email": "dana@example.com"},
        "trigger": {
            "reason": "frustration",
            "evidence": {
                "text": "I told you my card 4242 4242 4242 4242 TWICE",
                "signals": [{"signal": "shouting", "text": "4242 4242 4242 4242"}],
            },
        },
        "intent_history": [
            {
                "turn": 1,
                "intent": "inform",
                "text": "born 1990-04-12, card 4242 4242 4242 4242",
                "entities": [{"entity": "dob", "value": "1990-04-12"}],
            }
        ],
        "entities": [
            {"entity": "dob", "value": "1990-04-12", "turn": 1},
            {"entity": "order_id", "value": LUHN_VALID_ORDER, "turn": 2},
        ],
        "slots": {
            "order_id": LUHN_VALID_ORDER,
            "card_number": 4242424242424242,
            "date_of_birth": "1990-04-12",
            "note": "IBAN DE89 3704 0044 0532 0130 00",
            "refund_amount": 250.0,
        },
        "transcript": [
            {"role": "user", "text": f"order {LUHN_VALID_ORDER}", "intent": "inform"},
            {"role": "user", "text": "born 1990-04-12, card 4242 4242 4242 4242"},
            {"role": "system", "text": "[... 3 messages omitted ...]", "omitted": 3},
        ],
        "summary": {
            "goal": "Dana wants a refund.",
            "provided": ["card number 4242 4242 4242 4242", "date of birth 1990-04-12"],
            "tried": [],
            "text": "Dana gave card 4242 4242 4242 4242.",
        },
    }


CONFIG = RedactionConfig(
    slots_to_mask=("date_of_birth",),
    slots_to_keep=("order_id",),
    entities_to_mask=("dob",),
    phones=True,
)


def test_redact_payload_masks_every_text_field() -> None:
    redacted = redact_payload(_payload(), CONFIG)
    dumped = repr(redacted)
    assert "4242 4242 4242 4242" not in dumped
    assert "1990-04-12" not in dumped
    assert redacted["transcript"][1]["text"] == (
        f"born {MASK_PLACEHOLDER}, card **** **** **** 4242"
    )
    assert redacted["intent_history"][0]["text"] == (
        f"born {MASK_PLACEHOLDER}, card **** **** **** 4242"
    )
    assert redacted["trigger"]["evidence"]["signals"][0]["text"] == (
        "**** **** **** 4242"
    )
    assert redacted["summary"]["provided"] == [
        "card number **** **** **** 4242",
        f"date of birth {MASK_PLACEHOLDER}",
    ]


def test_slot_masking_replaces_the_whole_value() -> None:
    redacted = redact_payload(_payload(), CONFIG)
    assert redacted["slots"]["date_of_birth"] == MASK_PLACEHOLDER
    assert redacted["slots"]["note"] == "IBAN DE** **** **** **** **30 00"
    # A card number stored as a number still gets masked.
    assert redacted["slots"]["card_number"] == "************4242"
    assert redacted["slots"]["refund_amount"] == 250.0


def test_entity_masking() -> None:
    redacted = redact_payload(_payload(), CONFIG)
    assert redacted["entities"][0]["value"] == MASK_PLACEHOLDER
    assert redacted["intent_history"][0]["entities"][0]["value"] == MASK_PLACEHOLDER


def test_keep_list_protects_value_everywhere() -> None:
    redacted = redact_payload(_payload(), CONFIG)
    assert redacted["slots"]["order_id"] == LUHN_VALID_ORDER
    assert redacted["entities"][1]["value"] == LUHN_VALID_ORDER
    assert redacted["transcript"][0]["text"] == f"order {LUHN_VALID_ORDER}"


def test_without_keep_list_luhn_valid_order_is_masked() -> None:
    redacted = redact_payload(_payload(), RedactionConfig())
    assert redacted["slots"]["order_id"] == "************0007"


def test_identifiers_and_markers_are_left_alone() -> None:
    redacted = redact_payload(_payload(), CONFIG)
    # A WhatsApp sender id is a phone number; masking it would break routing.
    assert redacted["conversation_id"] == "+4915123456789"
    assert redacted["transcript"][2] == _payload()["transcript"][2]
    assert redacted["customer"]["email"] == "dana@example.com"


def test_redact_payload_does_not_modify_its_input() -> None:
    payload = _payload()
    before = copy.deepcopy(payload)
    redact_payload(payload, CONFIG)
    assert payload == before


def test_disabled_redaction_returns_an_equal_copy() -> None:
    assert redact_payload(_payload(), RedactionConfig(enabled=False)) == _payload()


def test_active_detectors() -> None:
    assert DEFAULT.active_detectors == ("card", "iban", "national_id")
    assert EVERYTHING.active_detectors[-2:] == ("email", "phone")
    assert RedactionConfig(enabled=False).active_detectors == ()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param({"credit_cards": True}, "credit_cards", id="unknown-key"),
        pytest.param({"emails": "yes"}, "redaction.emails", id="not-a-bool"),
        pytest.param(
            {"slots_to_mask": "dob"}, "redaction.slots_to_mask", id="not-a-list"
        ),
    ],
)
def test_config_errors_name_the_key(raw: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RedactionConfig.from_dict(raw)


def test_config_from_dict() -> None:
    config = RedactionConfig.from_dict({"emails": True, "slots_to_keep": ["order_id"]})
    assert config.emails is True
    assert config.slots_to_keep == ("order_id",)
    assert config.cards is True


# --- Formats found since issue 11 (each was missed before). ------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "card 4242.4242.4242.4242",
            "card ****.****.****.4242",
            id="card-dots",
        ),
        pytest.param("4242/4242/4242/4242", "****/****/****/4242", id="card-slashes"),
        pytest.param(
            "4242\t4242\t4242\t4242", "****\t****\t****\t4242", id="card-tabs"
        ),
        pytest.param(
            "4242\n4242\n4242\n4242", "****\n****\n****\n4242", id="card-newlines"
        ),
        pytest.param(
            "4242\u00a04242\u00a04242\u00a04242",
            "****\u00a0****\u00a0****\u00a04242",
            id="card-non-breaking-spaces",
        ),
        pytest.param(
            "4242  4242  4242  4242", "****  ****  ****  4242", id="card-double-spaces"
        ),
        pytest.param(
            "4242 - 4242 - 4242 - 4242",
            "**** - **** - **** - 4242",
            id="card-spaced-dashes",
        ),
        pytest.param(
            "IBAN DE89-3704-0044-0532-0130-00",
            "IBAN DE**-****-****-****-**30-00",
            id="iban-dashes",
        ),
        pytest.param(
            "IBAN DE89.3704.0044.0532.0130.00",
            "IBAN DE**.****.****.****.**30.00",
            id="iban-dots",
        ),
        pytest.param(
            "my ssn is 123456789", "my ssn is *****6789", id="ssn-undashed-with-word"
        ),
        pytest.param(
            "social security number: 123456789",
            "social security number: *****6789",
            id="ssn-undashed-social-security",
        ),
        pytest.param("SSN 123 45 6789", "SSN *** ** 6789", id="ssn-spaces"),
        pytest.param(
            "order 123456789 is late",
            "order 123456789 is late",
            id="nine-digit-order-number-kept",
        ),
        pytest.param(
            "ssn 666123456", "ssn 666123456", id="never-issued-undashed-ssn-kept"
        ),
        pytest.param("NI AB-12-34-56-C", "NI **-**-**-**-*", id="nino-dashes"),
        pytest.param("exp 12/27 cvv 123", "exp **/** cvv ***", id="expiry-and-cvv"),
        pytest.param(
            "CVC: 1234, expiry date 03-2029",
            "CVC: ****, expiry date **-****",
            id="cvc-and-long-expiry",
        ),
        pytest.param(
            "security code is 321, valid thru 1/28",
            "security code is ***, valid thru */**",
            id="security-code-valid-thru",
        ),
        pytest.param(
            "I paid 123 on 12/27", "I paid 123 on 12/27", id="amount-and-date-kept"
        ),
    ],
)
def test_formats_missed_before(text: str, expected: str) -> None:
    assert redact_text(text, DEFAULT) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("delivered 12/05/2024 20231182", id="date-then-order-number"),
        pytest.param("call 030.1234.5678 about 4711", id="dotted-phone-and-number"),
        pytest.param("on 12/05/2024 order 20231182", id="date-and-order-apart"),
    ],
)
def test_numbers_next_to_each_other_are_not_a_card(text: str) -> None:
    # "05 2024 20231182" passes the Luhn check: one card has one separator.
    assert redact_text(text, DEFAULT) == text
