"""What a summariser receives (`SummaryFacts`) and returns (`Summary`)."""

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Mapping, Optional, Protocol, Tuple, runtime_checkable

RULE_BASED_NAME = "rule_based"
OPENAI_COMPATIBLE_NAME = "openai_compatible"


@dataclass(frozen=True)
class FactTurn:
    """One user message as the summariser sees it.

    Attributes:
        turn: 1-based user turn within its session.
        text: The (redacted) message.
        intent: NLU's intent.
        confidence: Its confidence.
        entities: `(entity, value)` pairs extracted from the message.

    """

    turn: int
    text: str
    intent: Optional[str] = None
    confidence: Optional[float] = None
    entities: Tuple[Tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class BotResponse:
    """Something the bot said, as the summariser sees it.

    Attributes:
        action: The response (`utter_*`, from the message's `utter_action`) or
            the action that sent it.
        text: What it said (redacted); the latest text when it said it twice.
        intents_before: The intents of the customer's messages before it,
            oldest first (which question it answered).

    """

    action: str
    text: str = ""
    intents_before: Tuple[str, ...] = ()


@dataclass(frozen=True)
class SummaryFacts:
    """Everything a summariser may use, already redacted.

    Attributes:
        user_turns: The user's messages, oldest first.
        bot_actions: The bot's actions and responses in order (utter_* names and
            custom action names; `action_listen` excluded).
        bot_responses: What the bot said, with the intents before it, so that
            an answer is told from a question (see `summary.bot_turns`).
        slots: Current slot values (without the plugin's internal slots).
        customer_slots: The slots the customer filled (from their messages or a
            form), as opposed to slots set by the bot's backend lookups.
        forms: Names of the forms (active loops) the bot ran.
        trigger_reason: The handover reason code, if any.
        trigger_evidence: The trigger's evidence.
        frustration_signals: Frustration signal names seen in recent turns.
        customer_name: The customer's name, if known.

    """

    user_turns: Tuple[FactTurn, ...] = ()
    bot_actions: Tuple[str, ...] = ()
    bot_responses: Tuple[BotResponse, ...] = ()
    slots: Mapping[str, Any] = field(default_factory=dict)
    customer_slots: Tuple[str, ...] = ()
    forms: Tuple[str, ...] = ()
    trigger_reason: Optional[str] = None
    trigger_evidence: Mapping[str, Any] = field(default_factory=dict)
    frustration_signals: Tuple[str, ...] = ()
    customer_name: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-serialisable form (what the LLM summariser sends)."""
        return json.loads(json.dumps(asdict(self), default=str))


@dataclass(frozen=True)
class Summary:
    """What the agent reads first.

    Attributes:
        goal: One sentence: what the customer wants.
        tried: What the bot already did ("asked for the order number").
        provided: What the customer already gave ("order number 1182").
        text: A short paragraph combining them with the handover reason.
        summariser: Who wrote it, when that differs from the summariser's
            `name` (e.g. "rule_based (llm_failed: timeout)").

    """

    goal: str
    tried: Tuple[str, ...] = ()
    provided: Tuple[str, ...] = ()
    text: str = ""
    summariser: Optional[str] = None


@runtime_checkable
class Summariser(Protocol):
    """Turns the facts of a conversation into a `Summary`.

    Implementations must not raise for ordinary bad input; `build_payload`
    still guards against it and falls back to the rules.
    """

    name: str

    def summarise(self, facts: SummaryFacts) -> Summary:
        """Summarises the conversation for the agent."""
        ...
