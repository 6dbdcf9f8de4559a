"""Small builders that keep the trigger tests readable."""

from typing import Any, Dict, Iterable, Optional, Sequence, Tuple

from rasa_handover.conversation import (
    ConversationView,
    Entity,
    IntentScore,
    UserTurn,
    view_from_turns,
)
from rasa_handover.intent_properties import parse_declarations
from rasa_handover.settings import HandoverSettings, parse_settings
from rasa_handover.thresholds import Thresholds


def turn(
    text: str = "",
    intent: Optional[str] = "ask_invoice",
    confidence: Optional[float] = 0.95,
    ranking: Sequence[Tuple[str, float]] = (),
    entities: Iterable[Tuple[str, Any]] = (),
    previous_action: Optional[str] = None,
    retrieval_intent: Optional[str] = None,
) -> UserTurn:
    """A user turn; `index` is filled in by `view()`."""
    scores = tuple(IntentScore(n, c) for n, c in ranking)
    return UserTurn(
        index=0,
        text=text,
        intent=intent,
        confidence=confidence,
        ranking=scores,
        entities=tuple(Entity(name, value) for name, value in entities),
        previous_action=previous_action,
        retrieval_intent=retrieval_intent,
    )


def view(*turns: UserTurn, slots: Optional[Dict[str, Any]] = None) -> ConversationView:
    """A view of `turns`, numbered 1..n, right after the last one."""
    numbered = [
        UserTurn(
            index=i,
            text=t.text,
            intent=t.intent,
            confidence=t.confidence,
            ranking=t.ranking,
            entities=t.entities,
            previous_action=t.previous_action,
            unanswered_before=t.unanswered_before,
            answers_form_slot=t.answers_form_slot,
            retrieval_intent=t.retrieval_intent,
        )
        for i, t in enumerate(turns, start=1)
    ]
    return view_from_turns(numbered, slots=slots)


def settings(**config: Any) -> HandoverSettings:
    """Validated settings: defaults + `config` (as in config.yml)."""
    return parse_settings(config)


def configured(
    intent_properties: Optional[Dict[str, Dict[str, Any]]] = None,
    slots: Sequence[str] = ("refund_amount", "account_tier"),
    entities: Sequence[str] = ("amount", "topic"),
    tuning: Optional[Dict[str, Dict[str, float]]] = None,
    **config: Any,
) -> Tuple[HandoverSettings, Thresholds]:
    """Settings and the policy's thresholds table: defaults + `config` + domain
    `intent_properties` (+ a tuning file), as `(settings, thresholds)`."""
    base = parse_settings(config)
    declarations = parse_declarations(intent_properties or {}, slots, entities)
    return base, Thresholds.build(base, declarations, tuning)
