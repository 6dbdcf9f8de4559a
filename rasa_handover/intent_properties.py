"""Per-intent declarations that bot authors make in `domain.yml`.

```yaml
intents:
  - request_refund:
      regulated: true               # a human must handle it ...
      regulated_when:               # ... but only above the policy limit
        slot: refund_amount         # or `entity: amount`
        above: 100                  # above | at_least | below | at_most | equals | in
      handover_team: billing        # routing skill for the inbox
      handover_confidence_floor: 0.7
      handover_ambiguity_threshold: 0.2
      handover_display_name: Get a refund   # the button when the bot asks
```

`parse_declarations` validates them once, at training time, so that a typo is a
clear error from `rasa train` and never a traceback in production.
"""

from dataclasses import dataclass, field
from typing import Any, Collection, Dict, Mapping, Optional, Tuple

from rasa_handover.constants import (
    PROPERTY_AMBIGUITY_THRESHOLD,
    PROPERTY_CONFIDENCE_FLOOR,
    PROPERTY_DISPLAY_NAME,
    PROPERTY_REGULATED,
    PROPERTY_REGULATED_WHEN,
    PROPERTY_TEAM,
)
from rasa_handover.validation import (
    DOCS_URL,
    HandoverConfigError,
    IntentOverride,
    parse_intent_override,
)

CONDITION_SOURCES: Tuple[str, ...] = ("slot", "entity")
NUMERIC_OPERATORS: Tuple[str, ...] = ("above", "at_least", "below", "at_most")
CONDITION_OPERATORS: Tuple[str, ...] = (*NUMERIC_OPERATORS, "equals", "in")

# Intent properties that Rasa itself understands; everything else is ours or the
# bot author's own business, and is left alone.
_PLUGIN_PROPERTIES = (
    PROPERTY_REGULATED,
    PROPERTY_REGULATED_WHEN,
    PROPERTY_TEAM,
    PROPERTY_CONFIDENCE_FLOOR,
    PROPERTY_AMBIGUITY_THRESHOLD,
    PROPERTY_DISPLAY_NAME,
)


@dataclass(frozen=True)
class RegulatedCondition:
    """When a regulated intent must go to a human, e.g. `refund_amount > 100`.

    Attributes:
        source: `slot` or `entity`: where the value is read from.
        name: The slot or entity name.
        operator: One of `CONDITION_OPERATORS`.
        operand: The number (numeric operators), value (`equals`) or list of
            values (`in`) to compare with.

    """

    source: str
    name: str
    operator: str
    operand: Any

    def holds(self, value: Any) -> bool:
        """Whether `value` meets the condition; an unknown value never does."""
        if value is None:
            return False
        if self.operator in NUMERIC_OPERATORS:
            number = to_number(value)
            if number is None:
                return False
            limit = float(self.operand)
            return {
                "above": number > limit,
                "at_least": number >= limit,
                "below": number < limit,
                "at_most": number <= limit,
            }[self.operator]
        if self.operator == "equals":
            return _normalised(value) == _normalised(self.operand)
        return _normalised(value) in {_normalised(v) for v in self.operand}

    def describe(self) -> str:
        """A human-readable form for evidence, e.g. `slot refund_amount above 100`."""
        return f"{self.source} {self.name} {self.operator} {self.operand}"


@dataclass(frozen=True)
class IntentDeclaration:
    """What the domain declares about one intent for the plugin."""

    intent: str
    regulated: bool = False
    condition: Optional[RegulatedCondition] = None
    team: Optional[str] = None
    override: IntentOverride = field(default_factory=IntentOverride)
    # The button title when the bot asks whether the customer meant this intent.
    display_name: Optional[str] = None


def to_number(value: Any) -> Optional[float]:
    """Reads numbers such as `250`, `"250"`, `"$1,250.50"` or `"40 euros"`."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        digits = "".join(ch for ch in value if ch.isdigit() or ch in ".-")
        try:
            return float(digits) if digits else None
        except ValueError:
            return None
    return None


def _normalised(value: Any) -> str:
    return str(value).strip().lower()


def _domain_error(intent: str, problem: str, fix: str) -> HandoverConfigError:
    return HandoverConfigError(
        f"domain.yml: the intent '{intent}' {problem}. {fix} "
        f"See {DOCS_URL}#domain-declarations."
    )


def _parse_condition(
    intent: str,
    raw: Any,
    slot_names: Optional[Collection[str]],
    entity_names: Optional[Collection[str]],
) -> RegulatedCondition:
    example = "e.g. `regulated_when: {slot: refund_amount, above: 100}`"
    if not isinstance(raw, Mapping):
        raise _domain_error(
            intent,
            f"has `{PROPERTY_REGULATED_WHEN}: {raw!r}`, which is not a mapping",
            f"Write the condition as a mapping, {example}.",
        )
    sources = [key for key in CONDITION_SOURCES if key in raw]
    operators = [key for key in CONDITION_OPERATORS if key in raw]
    unknown = sorted(set(raw) - set(CONDITION_SOURCES) - set(CONDITION_OPERATORS))
    if unknown:
        raise _domain_error(
            intent,
            f"has unknown keys {unknown} in `{PROPERTY_REGULATED_WHEN}`",
            f"Use one of {list(CONDITION_SOURCES)} and one of "
            f"{list(CONDITION_OPERATORS)}, {example}.",
        )
    if len(sources) != 1:
        raise _domain_error(
            intent,
            f"needs exactly one of {list(CONDITION_SOURCES)} in "
            f"`{PROPERTY_REGULATED_WHEN}`, found {sources or 'none'}",
            f"Say where the value comes from, {example}.",
        )
    if len(operators) != 1:
        raise _domain_error(
            intent,
            f"needs exactly one of {list(CONDITION_OPERATORS)} in "
            f"`{PROPERTY_REGULATED_WHEN}`, found {operators or 'none'}",
            f"Say how to compare the value, {example}.",
        )
    source, operator = sources[0], operators[0]
    name = raw[source]
    known = slot_names if source == "slot" else entity_names
    if not isinstance(name, str) or (known is not None and name not in known):
        raise _domain_error(
            intent,
            f"has a condition on the {source} {name!r}, which the domain does not "
            "declare",
            f"Declare it under `{source}s:` in domain.yml or fix the name "
            f"(declared: {sorted(known or ())}).",
        )
    operand = raw[operator]
    if operator in NUMERIC_OPERATORS and (
        isinstance(operand, bool) or not isinstance(operand, (int, float))
    ):
        raise _domain_error(
            intent,
            f"compares with `{operator}: {operand!r}`, which is not a number",
            f"Write a number, e.g. `{operator}: 100`.",
        )
    if operator == "in" and (
        isinstance(operand, (str, bytes)) or not isinstance(operand, (list, tuple))
    ):
        raise _domain_error(
            intent,
            f"has `in: {operand!r}`, which is not a list",
            "Write a list of values, e.g. `in: [medical, legal]`.",
        )
    return RegulatedCondition(source, name, operator, operand)


def parse_declarations(
    intent_properties: Mapping[str, Mapping[str, Any]],
    slot_names: Optional[Collection[str]],
    entity_names: Optional[Collection[str]],
) -> Dict[str, IntentDeclaration]:
    """Validates the plugin's intent properties of a domain.

    Args:
        intent_properties: `Domain.intent_properties`.
        slot_names: The domain's slot names (conditions may refer to them);
            `None` skips that check (declarations validated before).
        entity_names: The domain's entity names; `None` skips that check.

    Returns:
        A declaration for every intent that declares something for the plugin.

    Raises:
        HandoverConfigError: naming the intent, the property, and the fix.

    """
    declarations: Dict[str, IntentDeclaration] = {}
    for intent, properties in intent_properties.items():
        if not isinstance(properties, Mapping) or not any(
            key in properties for key in _PLUGIN_PROPERTIES
        ):
            continue
        regulated = properties.get(PROPERTY_REGULATED, False)
        if not isinstance(regulated, bool):
            raise _domain_error(
                intent,
                f"has `{PROPERTY_REGULATED}: {regulated!r}`",
                f"Write `{PROPERTY_REGULATED}: true` or `false`.",
            )
        condition = None
        if PROPERTY_REGULATED_WHEN in properties:
            if not regulated:
                raise _domain_error(
                    intent,
                    f"has `{PROPERTY_REGULATED_WHEN}` but is not `regulated: true`",
                    f"Add `{PROPERTY_REGULATED}: true`, or remove the condition.",
                )
            condition = _parse_condition(
                intent,
                properties[PROPERTY_REGULATED_WHEN],
                slot_names,
                entity_names,
            )
        team = properties.get(PROPERTY_TEAM)
        if team is not None and (not isinstance(team, str) or not team.strip()):
            raise _domain_error(
                intent,
                f"has `{PROPERTY_TEAM}: {team!r}`",
                "Name the team as text, e.g. `handover_team: billing`.",
            )
        override_raw = {
            key: properties[prop]
            for key, prop in (
                ("confidence_floor", PROPERTY_CONFIDENCE_FLOOR),
                ("ambiguity_threshold", PROPERTY_AMBIGUITY_THRESHOLD),
            )
            if prop in properties
        }
        display_name = _display_name(intent, properties)
        override = parse_intent_override(
            intent, override_raw, where="domain.yml intent"
        )
        declarations[intent] = IntentDeclaration(
            intent=intent,
            regulated=regulated,
            condition=condition,
            team=team,
            override=override,
            display_name=display_name,
        )
    return declarations


def _display_name(intent: str, properties: Mapping[str, Any]) -> Optional[str]:
    """The button title of `intent` in the clarifying question, if declared."""
    display_name = properties.get(PROPERTY_DISPLAY_NAME)
    if display_name is not None and (
        not isinstance(display_name, str) or not display_name.strip()
    ):
        raise _domain_error(
            intent,
            f"has `{PROPERTY_DISPLAY_NAME}: {display_name!r}`",
            f"Write the button title as text, e.g. "
            f"`{PROPERTY_DISPLAY_NAME}: Check my balance`.",
        )
    return display_name


def declarations_as_dict(
    declarations: Mapping[str, IntentDeclaration],
) -> Dict[str, Dict[str, Any]]:
    """Serialises declarations back into domain-style properties (for persisting)."""
    result: Dict[str, Dict[str, Any]] = {}
    for intent, declaration in declarations.items():
        properties: Dict[str, Any] = {PROPERTY_REGULATED: declaration.regulated}
        if declaration.condition:
            properties[PROPERTY_REGULATED_WHEN] = {
                declaration.condition.source: declaration.condition.name,
                declaration.condition.operator: declaration.condition.operand,
            }
        if declaration.team:
            properties[PROPERTY_TEAM] = declaration.team
        if declaration.display_name:
            properties[PROPERTY_DISPLAY_NAME] = declaration.display_name
        if declaration.override.confidence_floor is not None:
            properties[PROPERTY_CONFIDENCE_FLOOR] = (
                declaration.override.confidence_floor
            )
        if declaration.override.ambiguity_threshold is not None:
            properties[PROPERTY_AMBIGUITY_THRESHOLD] = (
                declaration.override.ambiguity_threshold
            )
        result[intent] = properties
    return result


def intent_properties_of(domain: Mapping[str, Any]) -> Dict[str, Mapping[str, Any]]:
    """`Domain.intent_properties` of a domain dictionary (what rasa_sdk's actions get).

    `intents:` lists names (`- greet`) and names with properties
    (`- request_refund: {handover_team: billing}`); give the result to
    `parse_declarations`.
    """
    properties: Dict[str, Mapping[str, Any]] = {}
    for intent in domain.get("intents") or []:
        if isinstance(intent, Mapping):
            for name, props in intent.items():
                properties[str(name)] = props if isinstance(props, Mapping) else {}
    return properties
