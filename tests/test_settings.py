"""Configuration defaults, validation messages and domain declarations."""

from typing import Any, Dict, Optional

import pytest

from rasa_handover.constants import REASON_CODES
from rasa_handover.intent_properties import (
    declarations_as_dict,
    parse_declarations,
    to_number,
)
from rasa_handover.settings import (
    HandoverConfigError,
    default_config,
    parse_settings,
)
from rasa_handover.thresholds import Thresholds


def test_defaults_match_the_design_table() -> None:
    settings = parse_settings({})
    assert settings.triggers == REASON_CODES
    assert settings.explicit_request_intents == {"human_handoff"}
    assert settings.confidence_floor == 0.55
    assert settings.ambiguity_threshold == 0.1
    assert settings.frustration_signals == 2
    assert settings.frustration_window == 3
    assert settings.repeat_limit == 2
    assert settings.high_value.slot == "account_tier"
    assert settings.high_value.values == {"enterprise", "vip"}
    assert settings.high_value.frustration_signals == 1


def test_every_default_key_is_commented_in_the_source() -> None:
    import inspect

    source = inspect.getsource(default_config)
    for key in default_config():
        line_index = next(
            i for i, line in enumerate(source.splitlines()) if f'"{key}":' in line
        )
        previous = source.splitlines()[line_index - 1].strip()
        assert previous.startswith("#"), f"'{key}' has no comment above it"


def test_nested_high_value_config_keeps_the_other_defaults() -> None:
    settings = parse_settings({"high_value": {"values": ["Gold"]}})
    assert settings.high_value.values == {"gold"}
    assert settings.high_value.confidence_floor == 0.7
    assert settings.high_value.slot == "account_tier"


@pytest.mark.parametrize(
    "config, message",
    [
        pytest.param(
            {"confidence_flor": 0.5}, "unknown settings ['confidence_flor']", id="typo"
        ),
        pytest.param(
            {"confidence_floor": 55}, "'confidence_floor' is 55, outside", id="percent"
        ),
        pytest.param(
            {"confidence_floor": "high"}, "must be a number between 0 and 1", id="text"
        ),
        pytest.param(
            {"frustration_signals": 0}, "'frustration_signals' is 0", id="zero-signals"
        ),
        pytest.param(
            {"frustration_signal_types": ["yelling"]},
            "unknown entries ['yelling']",
            id="unknown-signal",
        ),
        pytest.param(
            {"triggers": ["explicit_request", "vibes"]},
            "unknown entries ['vibes']",
            id="unknown-trigger",
        ),
        pytest.param(
            {"repeat_limit": 1}, "a loop needs at least 2 asks", id="repeat-limit-1"
        ),
        pytest.param(
            {"repeat_window": 1},
            "smaller than repeat_limit",
            id="window-smaller-than-limit",
        ),
        pytest.param(
            {"explicit_request_intents": "human_handoff"},
            "must be a list of names",
            id="string-not-list",
        ),
        pytest.param(
            {"high_value": {"tiers": ["vip"]}},
            "'high_value' has unknown keys ['tiers']",
            id="high-value-typo",
        ),
        pytest.param(
            {"intent_overrides": {"cancel": {"floor": 0.7}}},
            "unknown keys ['floor']",
            id="override-typo",
        ),
        pytest.param(
            {"negative_sentiment_threshold": -2},
            "between -1 and 1",
            id="sentiment-range",
        ),
    ],
)
def test_bad_config_says_what_is_wrong(config: Dict[str, Any], message: str) -> None:
    with pytest.raises(HandoverConfigError) as error:
        parse_settings(config)
    assert message in str(error.value)
    assert "docs/policy.md" in str(error.value)


@pytest.mark.parametrize(
    "properties, message",
    [
        pytest.param(
            {"regulated": "yes"}, "has `regulated: 'yes'`", id="regulated-not-bool"
        ),
        pytest.param(
            {"regulated": True, "regulated_when": {"slot": "refund_amount"}},
            "needs exactly one of ['above'",
            id="no-operator",
        ),
        pytest.param(
            {"regulated": True, "regulated_when": {"above": 100}},
            "needs exactly one of ['slot', 'entity']",
            id="no-source",
        ),
        pytest.param(
            {"regulated": True, "regulated_when": {"slot": "amount_x", "above": 1}},
            "the slot 'amount_x', which the domain does not declare",
            id="unknown-slot",
        ),
        pytest.param(
            {
                "regulated": True,
                "regulated_when": {"slot": "refund_amount", "above": "lots"},
            },
            "compares with `above: 'lots'`, which is not a number",
            id="operand-not-number",
        ),
        pytest.param(
            {"regulated_when": {"slot": "refund_amount", "above": 100}},
            "is not `regulated: true`",
            id="condition-without-regulated",
        ),
        pytest.param(
            {"regulated": True, "regulated_when": {"entity": "amount", "in": "x"}},
            "is not a list",
            id="in-not-list",
        ),
        pytest.param(
            {"handover_confidence_floor": 7}, "outside the range 0 to 1", id="floor"
        ),
        pytest.param({"handover_team": ""}, "handover_team", id="empty-team"),
    ],
)
def test_bad_domain_declaration_names_the_intent(
    properties: Dict[str, Any], message: str
) -> None:
    with pytest.raises(HandoverConfigError) as error:
        parse_declarations(
            {"request_refund": properties}, ["refund_amount"], ["amount"]
        )
    assert "'request_refund'" in str(error.value) or "request_refund" in str(
        error.value
    )
    assert message in str(error.value)


def test_declarations_round_trip_through_their_persisted_form() -> None:
    properties = {
        "request_refund": {
            "regulated": True,
            "regulated_when": {"slot": "refund_amount", "above": 100},
            "handover_team": "billing",
            "handover_confidence_floor": 0.7,
        },
        "greet": {"used_entities": []},
    }
    declarations = parse_declarations(properties, ["refund_amount"], [])
    assert set(declarations) == {"request_refund"}
    again = parse_declarations(declarations_as_dict(declarations), None, None)
    assert again == declarations


@pytest.mark.parametrize(
    "value, number",
    [
        pytest.param(250, 250.0, id="int"),
        pytest.param("$1,250.50", 1250.5, id="currency-text"),
        pytest.param("40 euros", 40.0, id="with-unit"),
        pytest.param("lots", None, id="no-digits"),
        pytest.param(True, None, id="bool-is-not-a-number"),
    ],
)
def test_to_number(value: object, number: object) -> None:
    assert to_number(value) == number


def test_example_bot_uses_the_packaged_domain_fragment_verbatim() -> None:
    from pathlib import Path

    root = Path(__file__).parent.parent
    packaged = (root / "rasa_handover" / "domain.yml").read_text()
    assert (root / "example_bot" / "domain" / "handover.yml").read_text() == packaged


# --- thresholds: one table, one precedence rule ----------------------------------


def _table(tuning: Optional[Dict[str, Any]] = None, **config: Any) -> Thresholds:
    declarations = parse_declarations(
        {
            "cancel_subscription": {
                "handover_confidence_floor": 0.65,
                "handover_ambiguity_threshold": 0.2,
            },
            "ask_plans": {"handover_confidence_floor": 0.4},
        },
        [],
        [],
    )
    return Thresholds.build(parse_settings(config), declarations, tuning)


@pytest.mark.parametrize(
    "config, tuning, intent, key, value, source",
    [
        pytest.param(
            {}, None, "greet", "confidence_floor", 0.55, "default", id="default"
        ),
        pytest.param(
            {"confidence_floor": 0.5},
            None,
            "greet",
            "confidence_floor",
            0.5,
            "config.yml",
            id="config-global",
        ),
        pytest.param(
            {"confidence_floor": 0.55},
            None,
            "greet",
            "confidence_floor",
            0.55,
            "default",
            id="config-equal-to-default",
        ),
        pytest.param(
            {},
            {"greet": {"confidence_floor": 0.3}},
            "greet",
            "confidence_floor",
            0.3,
            "tuning file",
            id="tuning-over-global",
        ),
        pytest.param(
            {},
            {"ask_plans": {"confidence_floor": 0.3}},
            "ask_plans",
            "confidence_floor",
            0.4,
            "domain.yml",
            id="domain-over-tuning",
        ),
        pytest.param(
            {"intent_overrides": {"ask_plans": {"confidence_floor": 0.45}}},
            {"ask_plans": {"confidence_floor": 0.3}},
            "ask_plans",
            "confidence_floor",
            0.45,
            "config.yml",
            id="config-override-over-domain",
        ),
        pytest.param(
            {"intent_overrides": {"cancel_subscription": {"confidence_floor": 0.6}}},
            None,
            "cancel_subscription",
            "ambiguity_threshold",
            0.2,
            "domain.yml",
            id="key-by-key",
        ),
        pytest.param(
            {"frustration_window": 5},
            None,
            None,
            "frustration_window",
            5,
            "config.yml",
            id="frustration-window",
        ),
        pytest.param({}, None, None, "repeat_limit", 2, "default", id="repeat-limit"),
    ],
)
def test_thresholds_precedence(
    config: Dict[str, Any],
    tuning: Optional[Dict[str, Any]],
    intent: Optional[str],
    key: str,
    value: object,
    source: str,
) -> None:
    limits = _table(tuning, **config).for_intent(intent, high_value=False)
    assert getattr(limits, key) == value
    assert limits.sources[key] == source


@pytest.mark.parametrize(
    "intent, key, value, source",
    [
        pytest.param("greet", "confidence_floor", 0.7, "high-value", id="floor"),
        pytest.param(
            "greet", "ambiguity_threshold", 0.15, "high-value", id="ambiguity"
        ),
        pytest.param(
            "cancel_subscription",
            "ambiguity_threshold",
            0.2,
            "domain.yml",
            id="already-stricter-stays",
        ),
        pytest.param(None, "frustration_signals", 1, "high-value", id="signals"),
        pytest.param(
            None, "hand_over_on_first_repeat", True, "high-value", id="first-repeat"
        ),
        pytest.param(None, "frustration_window", 3, "default", id="window-untouched"),
    ],
)
def test_high_value_only_ever_tightens(
    intent: Optional[str], key: str, value: object, source: str
) -> None:
    limits = _table().for_intent(intent, high_value=True)
    assert getattr(limits, key) == value
    assert limits.sources[key] == source


def test_ordinary_customers_never_hand_over_on_the_first_repeat() -> None:
    limits = _table().for_intent("reset_password", high_value=False)
    assert limits.hand_over_on_first_repeat is False


@pytest.mark.parametrize(
    "tuning, message",
    [
        pytest.param(
            {"greet": {"floor": 0.3}}, "'tuning file.greet' has unknown keys", id="key"
        ),
        pytest.param(
            {"greet": {"confidence_floor": 3}},
            "'tuning file.greet.confidence_floor' is 3, outside the range 0 to 1",
            id="range",
        ),
        pytest.param(["greet"], "'tuning file' is ['greet']", id="not-a-mapping"),
    ],
)
def test_a_bad_tuning_file_says_what_is_wrong(tuning: Any, message: str) -> None:
    with pytest.raises(HandoverConfigError) as error:
        Thresholds.build(parse_settings({}), {}, tuning)
    assert message in str(error.value)


def test_config_error_is_importable_from_where_it_always_was() -> None:
    import rasa_handover
    from rasa_handover import settings, validation

    assert settings.HandoverConfigError is validation.HandoverConfigError
    assert rasa_handover.HandoverConfigError is validation.HandoverConfigError


@pytest.mark.parametrize(
    "written, expected_added, expected_gone",
    [
        pytest.param(
            {"add": ["product_updates"]}, {"product_updates"}, set(), id="add"
        ),
        pytest.param({"remove": ["chitchat"]}, set(), {"chitchat"}, id="remove"),
        pytest.param(
            {"add": ["newsletter"], "remove": ["inform"]},
            {"newsletter"},
            {"inform"},
            id="both",
        ),
    ],
)
def test_a_default_list_can_be_extended_without_copying_it(
    written: dict, expected_added: set, expected_gone: set
) -> None:
    default = parse_settings({}).repeat_ignore_intents
    extended = parse_settings({"repeat_ignore_intents": written}).repeat_ignore_intents
    assert extended == (default | expected_added) - expected_gone


def test_a_list_still_replaces_the_default() -> None:
    settings = parse_settings({"repeat_ignore_intents": ["greet"]})
    assert settings.repeat_ignore_intents == frozenset({"greet"})


def test_an_unknown_key_in_a_list_change_names_both_forms() -> None:
    with pytest.raises(HandoverConfigError, match=r"\{add: \[\.\.\.\], remove"):
        parse_settings({"deny_intents": {"plus": ["nope"]}})
