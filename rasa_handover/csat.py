"""Customer satisfaction (CSAT) after a handback: asked once, stored on the ticket.

`action_handback` asks `utter_handover_csat` (1-5 buttons, wording in the
domain; a bot without the response asks nothing). A button sends
`/handover_csat{"handover_csat_score": "4"}`; `action_handover_csat` reads the
score, hands it to the handover channel as the plugin's custom message
(`MESSAGE_CSAT`), which stores it on the conversation's latest resolved ticket
through the channel -> inbox contract (`PATH_CHANNEL_CSAT`), and thanks the
customer (`utter_handover_csat_thanks`). Skippable: the "Skip" button (the
intent without a score) stores nothing and answers `utter_handover_csat_skipped`;
a customer who just writes something else is answered by the bot as usual.
"""

from typing import Any, Dict, Iterable, List, Mapping, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from rasa_handover.constants import (
    ACTION_CSAT,
    CSAT_SCORES,
    ENTITY_CSAT_SCORE,
    MESSAGE_CSAT,
    MESSAGE_KEY,
)
from rasa_handover.responses import UTTER_CSAT, UTTER_CSAT_SKIPPED, UTTER_CSAT_THANKS


def csat_score(entities: Iterable[Mapping[str, Any]]) -> Optional[int]:
    """The score among a message's entities (1-5), or None (skipped, or no score)."""
    for entity in entities:
        if entity.get("entity") != ENTITY_CSAT_SCORE:
            continue
        try:
            score = int(str(entity.get("value")).strip())
        except ValueError:
            return None
        return score if score in CSAT_SCORES else None
    return None


def has_response(domain: Mapping[str, Any], name: str) -> bool:
    """Whether the bot's domain has the response (the bot author's opt-in)."""
    return name in (domain.get("responses") or {})


def ask_csat(dispatcher: CollectingDispatcher, domain: Mapping[str, Any]) -> None:
    """Asks the CSAT question, if the domain has it (called on handback)."""
    if has_response(domain, UTTER_CSAT):
        dispatcher.utter_message(response=UTTER_CSAT)


class ActionHandoverCsat(Action):
    """The customer answered the CSAT question: store the score, say thanks."""

    def name(self) -> str:
        """The action's name in the domain."""
        return ACTION_CSAT

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> List[EventType]:
        """Hands the score to the channel (it stores it on the ticket).

        Returns:
            No events: the score lives on the ticket, not in a slot.

        """
        score = csat_score((tracker.latest_message or {}).get("entities") or [])
        if score is None:
            if has_response(domain, UTTER_CSAT_SKIPPED):
                dispatcher.utter_message(response=UTTER_CSAT_SKIPPED)
            return []
        dispatcher.utter_message(
            json_message={
                MESSAGE_KEY: {
                    "type": MESSAGE_CSAT,
                    "conversation_id": tracker.sender_id,
                    "score": score,
                }
            }
        )
        if has_response(domain, UTTER_CSAT_THANKS):
            dispatcher.utter_message(response=UTTER_CSAT_THANKS)
        return []
