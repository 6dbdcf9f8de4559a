"""What the bot did, as an agent reads it: answered, asked, said, ran.

The rule-based summariser's `tried` items come from here. Each action the bot
ran is read together with what it said (`BotResponse`: the response's text and
the intent of the customer's messages before it), so that the summary says what
happened rather than what a name suggests: in the example bot `utter_ask_invoice`
*answers* the `ask_invoice` intent, it does not ask for an invoice.

How a response is read, first rule that applies:

1. housekeeping (`utter_greet`, `action_listen`, `validate_*`, ...) is left out;
2. Rasa's and the plugin's own actions have fixed phrases ("said it did not
   understand", "offered to connect them with a person");
3. a form: "ran the form x" (the plugin's own: "took the details for a
   callback", "took a message for the team");
4. a response named after an intent the customer expressed (`utter_<intent>`)
   answered it: "answered how to get an invoice";
5. `utter_ask_<slot>` (Rasa's convention for a form's question) asked for the
   slot: "asked for the order number";
6. a response whose text ends with "?" asked that question: 'asked "Which
   device are you watching on?"';
7. any other response answered the latest intent that says what the customer
   wants ("answered how to get a refund"), or, without one, is quoted
   ('said "Refunds above $100 are reviewed by billing."');
8. a custom action: "ran action_check_order".
"""

import re
from typing import Callable, Iterable, List, Mapping, Optional, Sequence

from rasa_handover.constants import (
    ACTION_CLARIFY,
    ACTION_HANDBACK,
    ACTION_HANDOVER,
    ACTION_LEAVE_MESSAGE,
    ACTION_OFFER_HANDOVER,
    ACTION_SCHEDULE_CALLBACK,
    FORM_CALLBACK,
    FORM_MESSAGE,
)
from rasa_handover.summary.facts import BotResponse

# What Rasa's and the plugin's own actions mean to an agent.
KNOWN_ACTIONS: Mapping[str, str] = {
    "action_default_fallback": "said it did not understand",
    "utter_default": "said it did not understand",
    "action_two_stage_fallback": "asked the customer to confirm what they meant",
    "utter_ask_rephrase": "asked the customer to rephrase",
    "utter_out_of_scope": "said it cannot help with that",
    ACTION_CLARIFY: "asked which topic they meant",
    ACTION_OFFER_HANDOVER: "offered to connect them with a person",
    ACTION_HANDOVER: "handed the conversation to a person before",
    ACTION_HANDBACK: "took the conversation back from a person",
    ACTION_SCHEDULE_CALLBACK: "booked a callback",
    ACTION_LEAVE_MESSAGE: "passed their message on to the team",
    FORM_CALLBACK: "took the details for a callback",
    FORM_MESSAGE: "took a message for the team",
}
ASK_PREFIX = "utter_ask_"
UTTER_PREFIX = "utter_"
VALIDATE_PREFIX = "validate_"
# A quoted question or answer is cut to this many characters.
QUOTE_MAX_CHARS = 90
# Goal phrases that read badly after "answered how to", and what they become.
_TOPIC_PREFIXES: Mapping[str, str] = {
    "ask about ": "answered their question about ",
    "find out about ": "answered their question about ",
    "get help with ": "helped with ",
}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def quote(text: str, last: bool = False) -> str:
    """One sentence of `text` (the first, or the last), cut to a quotable size."""
    sentences = [s for s in _SENTENCE_END.split(" ".join(text.split())) if s]
    if not sentences:
        return ""
    sentence = sentences[-1] if last else sentences[0]
    if len(sentence) > QUOTE_MAX_CHARS:
        sentence = sentence[: QUOTE_MAX_CHARS - 1].rstrip() + "…"
    return f'"{sentence}"'


def answered(goal_phrase: str) -> str:
    """The answer to a goal: `get an invoice` -> "answered how to get an invoice"."""
    for prefix, replacement in _TOPIC_PREFIXES.items():
        if goal_phrase.startswith(prefix):
            return replacement + goal_phrase[len(prefix) :]
    return f"answered how to {goal_phrase}"


class BotTurnReader:
    """Turns the bot's actions into the summary's `tried` items.

    Args:
        label: How a slot name reads ("order_id" -> "order number").
        goal_phrase: The intent's goal without values ("get an invoice").
        generic_intents: Intents that say nothing about what the customer wants.
        ignored_actions: Housekeeping left out.

    """

    def __init__(
        self,
        label: Callable[[str], str],
        goal_phrase: Callable[[str], str],
        generic_intents: Iterable[str],
        ignored_actions: Iterable[str],
    ) -> None:
        self.label = label
        self.goal_phrase = goal_phrase
        self.generic_intents = frozenset(generic_intents)
        self.ignored_actions = frozenset(ignored_actions)

    def read(
        self,
        actions: Sequence[str],
        responses: Sequence[BotResponse],
        forms: Iterable[str],
        expressed_intents: Iterable[str],
    ) -> List[str]:
        """The `tried` items, in order, each once."""
        said = {response.action: response for response in responses}
        forms = frozenset(forms)
        expressed = frozenset(expressed_intents)
        items: List[str] = []
        for action in actions:
            item = self._item(action, said.get(action), forms, expressed)
            if item and item not in items:
                items.append(item)
        return items

    def _item(
        self,
        action: str,
        response: Optional[BotResponse],
        forms: frozenset,
        expressed: frozenset,
    ) -> Optional[str]:
        if action in self.ignored_actions or action.startswith(VALIDATE_PREFIX):
            return None
        if action in KNOWN_ACTIONS:
            return KNOWN_ACTIONS[action]
        if action in forms:
            return f"ran the form {action}"
        if not action.startswith(UTTER_PREFIX):
            return f"ran {action}"
        named_after = action[len(UTTER_PREFIX) :]
        if named_after in expressed:
            return answered(self.goal_phrase(named_after))
        if action.startswith(ASK_PREFIX):
            return f"asked for the {self.label(action[len(ASK_PREFIX) :])}"
        text = response.text.strip() if response else ""
        if text.endswith("?"):
            return f"asked {quote(text, last=True)}"
        topic = self._topic(response)
        if topic:
            return answered(self.goal_phrase(topic))
        if text:
            return f"said {quote(text)}"
        return f"answered with {action}"

    def _topic(self, response: Optional[BotResponse]) -> Optional[str]:
        """The latest intent before the response that says what the customer wants."""
        if response is None:
            return None
        for intent in reversed(response.intents_before):
            if intent and intent not in self.generic_intents:
                return intent
        return None
