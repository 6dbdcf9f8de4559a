"""`regulated_topic`: a topic that, by policy, a human must handle.

Bot authors declare regulated intents in domain.yml (`regulated: true`),
optionally with a condition on a slot or entity (`regulated_when`). A regulated
intent without a condition fires at once. With a condition, the intent stays
open for `regulated_window` user turns, so that a value given on a later turn
("how much?" - "250") still fires. An intent predicted below its confidence floor
does not count: NLU is not sure the topic was raised.
"""

from typing import Any, Optional

from rasa_handover.constants import REASON_REGULATED_TOPIC
from rasa_handover.conversation import ConversationView, UserTurn
from rasa_handover.intent_properties import IntentDeclaration
from rasa_handover.message_kinds import has_no_words, is_content_free
from rasa_handover.settings import HandoverSettings
from rasa_handover.thresholds import Thresholds, table_for
from rasa_handover.triggers.decision import Decision


def check_regulated_topic(
    view: ConversationView,
    settings: HandoverSettings,
    thresholds: Optional[Thresholds] = None,
    high_value: bool = False,
) -> Optional[Decision]:
    """Checks the recent user turns for a regulated intent whose condition holds.

    Args:
        view: The conversation.
        settings: `regulated_window` and the handover action.
        thresholds: The domain's declarations and each intent's confidence
            floor (default: none declared).
        high_value: Whether the account is high value (stricter floors).

    Returns:
        A decision whose evidence names the intent, its turn, the team, and the
        condition with the value that met it; or `None`.

    """
    table = table_for(settings, thresholds)
    latest = view.latest_turn
    if latest is None or not table.declarations:
        return None
    recent = view.recent_turns(settings.regulated_window)
    for position in range(len(recent) - 1, -1, -1):
        turn = recent[position]
        declaration = table.declarations.get(turn.intent or "")
        if declaration is None or not declaration.regulated:
            continue
        if is_content_free(turn.text or "") or has_no_words(turn.text or ""):
            # "thanks, have a lovely evening" or "???" read as medical advice:
            # a turn without content raises no topic, regulated or not.
            continue
        floor = table.for_intent(turn.intent, high_value).confidence_floor
        if turn.confidence is not None and turn.confidence < floor:
            # NLU is unsure it is the regulated topic at all: `low_confidence`
            # hands over instead, without sending it to the topic's team.
            continue
        evidence = {
            "intent": turn.intent,
            "turn": turn.index,
            "team": declaration.team,
            "text": turn.text,
        }
        if declaration.condition is None:
            # Unconditional topics fire on the message that raised them; an
            # older one already fired (or was handled by a human) back then.
            if turn is not latest:
                continue
            return Decision(
                REASON_REGULATED_TOPIC, settings.handover_action, evidence, latest.index
            )
        value = _condition_value(declaration, recent[position:], view)
        if declaration.condition.holds(value):
            return Decision(
                REASON_REGULATED_TOPIC,
                settings.handover_action,
                {
                    **evidence,
                    "condition": declaration.condition.describe(),
                    "value": _json_safe(value),
                },
                latest.index,
            )
    return None


def _condition_value(
    declaration: IntentDeclaration,
    turns_since: "tuple[UserTurn, ...]",
    view: ConversationView,
) -> Any:
    condition = declaration.condition
    assert condition is not None
    if condition.source == "slot":
        return view.slot(condition.name)
    # The most recent value of the entity since the intent was raised.
    for turn in reversed(turns_since):
        values = turn.entity_values(condition.name)
        if values:
            return values[-1]
    return None


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
