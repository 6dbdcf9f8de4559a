"""The default summariser: offline, deterministic and cheap (`RuleBasedSummariser`)."""

import string
from typing import (
    Any,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from rasa_handover.constants import (
    ACTION_LISTEN,
    ACTION_RESTART,
    ACTION_SESSION_START,
    INTENT_AFFIRM,
    INTENT_CALLBACK,
    INTENT_DENY,
    INTENT_HANDOVER_RESOLVED,
    INTENT_HUMAN_HANDOFF,
    INTENT_LEAVE_MESSAGE,
    INTENT_NLU_FALLBACK,
    REASON_EXPLICIT_REQUEST,
    REASON_FRUSTRATION,
    REASON_LOW_CONFIDENCE,
    REASON_REGULATED_TOPIC,
    REASON_REPEAT_LOOP,
    SLOT_CALLBACK_CONTACT,
    SLOT_CALLBACK_DUE,
    SLOT_CALLBACK_TIME,
    SLOT_HANDOVER_EMAIL,
    SLOT_HANDOVER_MESSAGE,
)
from rasa_handover.summary.bot_turns import BotTurnReader
from rasa_handover.summary.facts import RULE_BASED_NAME, Summary, SummaryFacts

# Intents that say nothing about what the customer wants: small talk, answers to
# the bot's questions, the request for a person itself. The goal comes from the
# latest intent that is not one of these.
GENERIC_INTENTS: Tuple[str, ...] = (
    "greet",
    "goodbye",
    "bye",
    INTENT_AFFIRM,
    INTENT_DENY,
    "thanks",
    "thankyou",
    "thank_you",
    INTENT_NLU_FALLBACK,
    INTENT_HUMAN_HANDOFF,
    INTENT_HANDOVER_RESOLVED,
    "inform",
    "chitchat",
    "out_of_scope",
    "bot_challenge",
    "mood_great",
    "mood_unhappy",
    "restart",
    "session_start",
    "back",
    "stop",
)

# The alternatives to waiting: the goal only when the customer said nothing
# else they want (otherwise that is the goal, and the callback is how).
ALTERNATIVE_GOALS: Mapping[str, str] = {
    INTENT_CALLBACK: "be called back",
    INTENT_LEAVE_MESSAGE: "leave a message for the team",
}
# Facts that repeat another one: `callback_due` is `callback_time` as a timestamp.
REPEATED_FACTS: Tuple[str, ...] = (SLOT_CALLBACK_DUE,)

# Readable goals for common support intents, phrased to follow "wants to".
# Each entry is one template or several, tried in order: the first whose
# placeholders can all be filled from slots or entities is used, so
# "for order {order_id}" only appears when the order number is known.
DEFAULT_INTENT_GOALS: Mapping[str, Union[str, Sequence[str]]] = {
    "request_refund": (
        "get a refund of {amount} for order {order_id}",
        "get a refund for order {order_id}",
        "get a refund of {amount}",
        "get a refund",
    ),
    "cancel_order": ("cancel order {order_id}", "cancel an order"),
    "track_order": ("track order {order_id}", "find out where their order is"),
    "order_status": ("check the status of order {order_id}", "check an order"),
    "return_item": ("return order {order_id}", "return an item"),
    "ask_invoice": ("get the invoice for order {order_id}", "get an invoice"),
    "update_payment_method": "update their payment method",
    "cancel_subscription": "cancel their subscription",
    "report_playback_issue": "fix a playback problem",
    "reset_password": "reset their password",
    "app_crash": "stop the app from crashing",
    "ask_plans": "find out about the plans",
    "upgrade_plan": "upgrade their plan",
    "check_account_status": "check their account status",
    "change_email": "change their e-mail address",
    "ask_medical_advice": "get medical advice",
    "ask_legal_advice": "get legal advice",
    "complain": "make a complaint",
}

# How slot and entity names read in a sentence ("order number 1182").
DEFAULT_LABELS: Mapping[str, str] = {
    SLOT_CALLBACK_CONTACT: "number or address to call",
    SLOT_CALLBACK_TIME: "callback time",
    SLOT_HANDOVER_EMAIL: "reply address",
    SLOT_HANDOVER_MESSAGE: "message",
    "order_id": "order number",
    "order_number": "order number",
    "order": "order number",
    "amount": "amount",
    "refund_amount": "refund amount",
    "email": "email",
    "customer_email": "email",
    "user_email": "email",
    "phone": "phone number",
    "phone_number": "phone number",
    "account_id": "account number",
    "account_number": "account number",
    "customer_id": "customer number",
    "name": "name",
    "first_name": "first name",
    "last_name": "last name",
    "customer_name": "name",
    "address": "address",
    "zip_code": "postcode",
    "postcode": "postcode",
    "product": "product",
    "plan": "plan",
    "date": "date",
    "card_number": "card number",
    "iban": "IBAN",
}

# Template placeholders and the slot/entity names that can fill them, in order
# of preference; a placeholder's own name is always tried first.
DEFAULT_VALUE_ALIASES: Mapping[str, Tuple[str, ...]] = {
    "order_id": ("order_number", "order"),
    "amount": ("refund_amount", "money"),
    "email": ("customer_email", "user_email"),
    "product": ("product_name", "item"),
}

# Verbs that can start an intent name; "track_order" reads "track the order".
# Anything else becomes "get help with ..." rather than a wrong sentence.
_INTENT_VERBS: Tuple[str, ...] = (
    "activate", "add", "apply", "book", "buy", "cancel", "change", "check",
    "close", "confirm", "deactivate", "delete", "download", "find", "fix", "get",
    "install", "open", "order", "pay", "redeem", "remove", "renew", "report",
    "reschedule", "reset", "return", "schedule", "transfer", "track", "unlock",
    "update", "upgrade", "downgrade", "verify",
)  # fmt: skip
# Intent prefixes that mean "get" or "ask about" rather than an action.
_INTENT_PREFIXES: Mapping[str, str] = {
    "ask": "ask about",
    "request": "get",
    "need": "get",
    "want": "get",
    "inquire": "ask about",
    "question": "ask about",
}

# Bot actions that are housekeeping, not something the bot tried for the user.
IGNORED_ACTIONS: Tuple[str, ...] = (
    ACTION_LISTEN,
    ACTION_SESSION_START,
    ACTION_RESTART,
    "action_extract_slots",
    "action_unlikely_intent",
    "action_back",
    "action_deactivate_loop",
    "utter_greet",
    "utter_goodbye",
    "utter_iamabot",
    "utter_you_are_welcome",
    "utter_anything_else",
    "utter_what_else",
)

# The goal is taken from an intent NLU was reasonably sure of; below this the
# summary says the goal is uncertain.
GOAL_MIN_CONFIDENCE = 0.5
# More than this many "tried" items is a wall of text; the rest are counted.
MAX_TRIED = 8
MAX_PROVIDED = 10
# The customer's words quoted when no goal is known.
QUOTE_MAX_CHARS = 120


def _format_value(value: Any) -> Optional[str]:
    """A slot or entity value as it reads in a sentence; None if it does not."""
    if value is None or isinstance(value, Mapping):
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        parts = [p for p in (_format_value(v) for v in value) if p]
        return ", ".join(parts) or None
    text = " ".join(str(value).split())
    return text or None


def _join(items: Sequence[str]) -> str:
    """Joins phrases: "a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


class RuleBasedSummariser:
    """The default summariser: offline, deterministic, and cheap.

    Args:
        intent_goals: Goals per intent, merged over `DEFAULT_INTENT_GOALS`. A
            value is one template or a list tried in order; placeholders are slot
            or entity names (`"get a refund of ${amount} for order {order_id}"`).
        labels: Readable names of slots/entities, merged over `DEFAULT_LABELS`.
        generic_intents: Intents that never give the goal.
        ignored_actions: Bot actions left out of `tried`.

    """

    name = RULE_BASED_NAME

    def __init__(
        self,
        intent_goals: Optional[Mapping[str, Union[str, Sequence[str]]]] = None,
        labels: Optional[Mapping[str, str]] = None,
        generic_intents: Iterable[str] = GENERIC_INTENTS,
        ignored_actions: Iterable[str] = IGNORED_ACTIONS,
    ) -> None:
        goals = {**DEFAULT_INTENT_GOALS, **(intent_goals or {})}
        self.intent_goals: Dict[str, Tuple[str, ...]] = {
            intent: (value,) if isinstance(value, str) else tuple(value)
            for intent, value in goals.items()
        }
        for intent, templates in self.intent_goals.items():
            if not templates or not all(isinstance(t, str) for t in templates):
                raise ValueError(
                    f"intent_goals.{intent}: expected a template or a list of "
                    f"templates, got {goals[intent]!r}."
                )
        self.labels: Dict[str, str] = {**DEFAULT_LABELS, **(labels or {})}
        self.generic_intents = frozenset(generic_intents)
        self.ignored_actions = frozenset(ignored_actions)
        self._bot_turns = BotTurnReader(
            self.label,
            lambda intent: self._goal_phrase(intent, {}),
            self.generic_intents,
            self.ignored_actions,
        )

    # -- public --------------------------------------------------------------------

    def summarise(self, facts: SummaryFacts) -> Summary:
        """Builds the summary from the facts (see the class docstring)."""
        values = self._values(facts)
        goal = self._goal(facts, values)
        tried = self._tried(facts)
        provided = self._provided(facts)
        sentences = [goal]
        if provided:
            sentences.append(f"They already gave: {_join(list(provided))}.")
        if tried:
            sentences.append(f"The bot already {_join(list(tried))}.")
        trigger = self._trigger_sentence(facts)
        if trigger:
            sentences.append(trigger)
        return Summary(
            goal=goal,
            tried=tried,
            provided=provided,
            text=" ".join(sentences),
            summariser=self.name,
        )

    def label(self, name: str) -> str:
        """How a slot or entity name reads: `order_id` -> "order number"."""
        return self.labels.get(name, name.replace("_", " ").strip())

    # -- goal ----------------------------------------------------------------------

    def _values(self, facts: SummaryFacts) -> Dict[str, str]:
        """Slot values, then the latest value of each entity, as text."""
        values: Dict[str, str] = {}
        for turn in facts.user_turns:
            for entity, value in turn.entities:
                text = _format_value(value)
                if text:
                    values[entity] = text
        for slot, value in facts.slots.items():
            text = _format_value(value)
            if text:
                values[slot] = text
        return values

    def _goal(self, facts: SummaryFacts, values: Mapping[str, str]) -> str:
        subject = facts.customer_name or "The customer"
        candidates = [
            t
            for t in facts.user_turns
            if t.intent
            and t.intent not in self.generic_intents
            and t.intent not in ALTERNATIVE_GOALS
        ]
        if candidates:
            sure = [
                t
                for t in candidates
                if t.confidence is None or t.confidence >= GOAL_MIN_CONFIDENCE
            ]
            chosen = (sure or candidates)[-1]
            phrase = self._goal_phrase(str(chosen.intent), values)
            if sure:
                return f"{subject} wants to {phrase}."
            return f"{subject} may want to {phrase} (the bot was not sure)."
        alternative = next(
            (
                ALTERNATIVE_GOALS[str(t.intent)]
                for t in reversed(facts.user_turns)
                if t.intent in ALTERNATIVE_GOALS
            ),
            None,
        )
        if alternative:
            return f"{subject} wants to {alternative}."
        if facts.user_turns:
            last = facts.user_turns[-1].text.strip()
            if len(last) > QUOTE_MAX_CHARS:
                last = last[: QUOTE_MAX_CHARS - 1].rstrip() + "…"
            possessive = (
                f"{facts.customer_name}'s"
                if facts.customer_name
                else ("The customer's")
            )
            return f'{possessive} goal is not clear yet; they last wrote: "{last}".'
        return f"{subject} has not said anything yet."

    def _goal_phrase(self, intent: str, values: Mapping[str, str]) -> str:
        for template in self.intent_goals.get(intent, ()):
            filled = self._fill(template, values)
            if filled is not None:
                return filled
        return self._phrase_from_name(intent)

    def _fill(self, template: str, values: Mapping[str, str]) -> Optional[str]:
        """Fills `template`, or None when a placeholder has no value."""
        arguments: Dict[str, str] = {}
        for _, name, _, _ in string.Formatter().parse(template):
            if name is None or name in arguments:
                continue
            candidates = (name, *DEFAULT_VALUE_ALIASES.get(name, ()))
            value = next((values[c] for c in candidates if c in values), None)
            if value is None:
                return None
            arguments[name] = value
        try:
            return template.format(**arguments)
        except (IndexError, KeyError, ValueError):
            # A malformed template ("{0}", "{x:>}") must not break a handover.
            return None

    def _phrase_from_name(self, intent: str) -> str:
        words = [w for w in intent.lower().split("_") if w]
        if not words:
            return "get help"
        head, rest = words[0], " ".join(words[1:])
        if head in _INTENT_PREFIXES and rest:
            verb = _INTENT_PREFIXES[head]
            if verb == "get":
                article = "an" if rest[0] in "aeiou" else "a"
                return f"get {article} {rest}"
            return f"{verb} {rest}"
        if head in _INTENT_VERBS and rest:
            return f"{head} the {rest}"
        return f"get help with {' '.join(words)}"

    # -- tried / provided ------------------------------------------------------------

    def _tried(self, facts: SummaryFacts) -> Tuple[str, ...]:
        items = self._bot_turns.read(
            facts.bot_actions,
            facts.bot_responses,
            facts.forms,
            (str(turn.intent) for turn in facts.user_turns if turn.intent),
        )
        if len(items) > MAX_TRIED:
            hidden = len(items) - (MAX_TRIED - 1)
            items = [*items[: MAX_TRIED - 1], f"did {hidden} more things"]
        return tuple(items)

    def _provided(self, facts: SummaryFacts) -> Tuple[str, ...]:
        items: List[str] = []
        seen_values: Dict[str, str] = {}
        latest: Dict[str, str] = {}
        # In the order the customer first gave them, with the latest value.
        for turn in facts.user_turns:
            for entity, value in turn.entities:
                text = _format_value(value)
                if text:
                    latest[entity] = text
        for slot in facts.customer_slots:
            text = _format_value(facts.slots.get(slot))
            if text:
                latest[slot] = text
        for name, text in latest.items():
            if name in REPEATED_FACTS:
                continue
            label = self.label(name)
            key = text.lower()
            # The entity `amount` and the slot `refund_amount` filled from it
            # are one fact, not two.
            if seen_values.get(key) is not None:
                continue
            seen_values[key] = label
            items.append(f"{label} {text}")
        return tuple(items[:MAX_PROVIDED])

    # -- trigger -------------------------------------------------------------------

    def _trigger_sentence(self, facts: SummaryFacts) -> str:
        evidence = facts.trigger_evidence or {}
        reason = facts.trigger_reason
        sentence = ""
        if reason == REASON_EXPLICIT_REQUEST:
            sentence = "The customer asked for a person."
        elif reason == REASON_FRUSTRATION:
            signals = [
                str(s.get("signal"))
                for s in evidence.get("signals") or []
                if isinstance(s, Mapping) and s.get("signal")
            ] or list(facts.frustration_signals)
            names = ", ".join(s.replace("_", " ") for s in signals)
            sentence = "The customer seems frustrated" + (
                f" ({names})." if names else "."
            )
        elif reason == REASON_REGULATED_TOPIC:
            topic = evidence.get("intent")
            sentence = "This topic must be handled by a person"
            if topic:
                sentence += f" ({topic}"
                if evidence.get("condition"):
                    sentence += f": {evidence['condition']}"
                sentence += ")"
            sentence += "."
        elif reason == REASON_LOW_CONFIDENCE:
            sentence = "The bot was not sure what the customer meant."
        elif reason == REASON_REPEAT_LOOP:
            count = evidence.get("count")
            sentence = (
                f"The customer asked for the same thing {count} times."
                if count
                else "The customer kept asking for the same thing."
            )
        elif reason:
            sentence = f"Handover reason: {reason.replace('_', ' ')}."
        if evidence.get("high_value"):
            tier = evidence.get("account_tier")
            sentence += " This is a high-value account" + (
                f" ({tier})." if tier else "."
            )
        return sentence.strip()
