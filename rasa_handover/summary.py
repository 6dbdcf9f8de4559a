"""The summary at the top of the agent's screen: goal, what was tried, what was given.

The agent reads this first, so it must be right and short: "Dana wants to get a
refund for order 1182. They already gave: order number 1182, amount 250. The bot
already asked for the order number and answered with utter_refund_policy. The
customer asked for a person."

Summarisers are pluggable (`Summariser`): the default `RuleBasedSummariser` is
offline and deterministic; `OpenAICompatibleSummariser` asks any server that speaks
OpenAI's chat-completions API (OpenAI, Azure, vLLM, llama.cpp, Ollama, LiteLLM) and
falls back to the rules on any error, so a slow or broken model never blocks a
handover. Both receive `SummaryFacts` built from the *redacted* payload, so no PII
that redaction removes is ever sent to a model server.

This module is pure: it imports nothing from Rasa.
"""

import json
import logging
import os
import re
import socket
import string
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import (
    Any,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Protocol,
    Sequence,
    Tuple,
    Union,
    runtime_checkable,
)

from rasa_handover.constants import (
    ACTION_HANDBACK,
    ACTION_HANDOVER,
    ACTION_LISTEN,
    ACTION_OFFER_HANDOVER,
    ACTION_RESTART,
    ACTION_SCHEDULE_CALLBACK,
    ACTION_SESSION_START,
    INTENT_AFFIRM,
    INTENT_DENY,
    INTENT_HANDOVER_RESOLVED,
    INTENT_HUMAN_HANDOFF,
    INTENT_NLU_FALLBACK,
    REASON_EXPLICIT_REQUEST,
    REASON_FRUSTRATION,
    REASON_LOW_CONFIDENCE,
    REASON_REGULATED_TOPIC,
    REASON_REPEAT_LOOP,
)

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_INTENT_GOALS",
    "DEFAULT_LABELS",
    "GENERIC_INTENTS",
    "RULE_BASED_NAME",
    "FactTurn",
    "OpenAICompatibleSummariser",
    "RuleBasedSummariser",
    "Summariser",
    "Summary",
    "SummaryFacts",
    "summariser_from_config",
]

RULE_BASED_NAME = "rule_based"
OPENAI_COMPATIBLE_NAME = "openai_compatible"

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
# What Rasa's and the plugin's own actions mean to an agent.
_KNOWN_ACTIONS: Mapping[str, str] = {
    "action_default_fallback": "said it did not understand",
    "utter_default": "said it did not understand",
    "action_two_stage_fallback": "asked the customer to confirm what they meant",
    "utter_ask_rephrase": "asked the customer to rephrase",
    ACTION_OFFER_HANDOVER: "offered to connect them with a person",
    ACTION_HANDOVER: "handed the conversation to a person before",
    ACTION_HANDBACK: "took the conversation back from a person",
    ACTION_SCHEDULE_CALLBACK: "offered a callback",
}
_ASK_PREFIX = "utter_ask_"
_UTTER_PREFIX = "utter_"
_VALIDATE_PREFIX = "validate_"

# The goal is taken from an intent NLU was reasonably sure of; below this the
# summary says the goal is uncertain.
GOAL_MIN_CONFIDENCE = 0.5
# More than this many "tried" items is a wall of text; the rest are counted.
MAX_TRIED = 8
MAX_PROVIDED = 10
# The customer's words quoted when no goal is known.
QUOTE_MAX_CHARS = 120


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
class SummaryFacts:
    """Everything a summariser may use, already redacted.

    Attributes:
        user_turns: The user's messages, oldest first.
        bot_actions: The bot's actions and responses in order (utter_* names and
            custom action names; `action_listen` excluded).
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


# --- Rule-based summariser. ---------------------------------------------------


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
            if t.intent and t.intent not in self.generic_intents
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
        forms = set(facts.forms)
        items: List[str] = []
        for action in facts.bot_actions:
            if action in self.ignored_actions or action.startswith(_VALIDATE_PREFIX):
                continue
            if action in _KNOWN_ACTIONS:
                item = _KNOWN_ACTIONS[action]
            elif action in forms:
                item = f"ran the form {action}"
            elif action.startswith(_ASK_PREFIX):
                item = f"asked for the {self.label(action[len(_ASK_PREFIX) :])}"
            elif action.startswith(_UTTER_PREFIX):
                item = f"answered with {action}"
            else:
                item = f"ran {action}"
            if item not in items:
                items.append(item)
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


# --- LLM summariser. ----------------------------------------------------------

_SYSTEM_PROMPT = (
    "You summarise a customer-support conversation for the human agent who takes "
    "it over from a chatbot, so that the customer never has to repeat anything. "
    "Reply with one JSON object and nothing else, with these keys: "
    '"goal" (one sentence: what the customer wants, with their name if known), '
    '"tried" (a list of short phrases: what the bot already did), '
    '"provided" (a list of short phrases: what the customer already gave, '
    'e.g. "order number 1182"), '
    '"text" (a short paragraph of at most three sentences that also says why the '
    "conversation is handed over). Use only the facts given; invent nothing."
)
# Replies can wrap the JSON in a Markdown fence or a sentence; the object is the
# text between the first "{" and the last "}".
_JSON_OBJECT_RE = re.compile(r"\{.*\}", re.DOTALL)
_CHAT_COMPLETIONS_PATH = "/chat/completions"
# A summary is a paragraph; this bounds the model's reply (and its cost).
DEFAULT_MAX_TOKENS = 400
# Caps on what is accepted from the model, so that a rambling reply cannot
# bloat the payload.
MAX_LLM_ITEMS = 10
MAX_LLM_TEXT_CHARS = 1200


class _InvalidReplyError(ValueError):
    """The server answered, but not with a usable summary."""


class OpenAICompatibleSummariser:
    """Asks an OpenAI-compatible chat-completions endpoint for the summary.

    Any failure (timeout, connection refused, HTTP error, a reply that is not the
    expected JSON) falls back to `fallback` (the rule-based summariser by
    default) and says so in `Summary.summariser`, e.g.
    "rule_based (llm_failed: timeout)". The call is synchronous: run
    `build_payload` in a thread from async code (see `build_payload_async`).

    Args:
        url: The endpoint, e.g. "https://api.openai.com/v1/chat/completions";
            a base URL ending in "/v1" gets "/chat/completions" appended.
        model: The model name sent in the request.
        api_key_env: The environment variable holding the API key (sent as a
            bearer token); when it is unset no key is sent (local servers).
        timeout: Seconds to wait for the connection and for each read.
        fallback: The summariser used when the model fails.
        max_tokens: Upper bound on the reply's length.

    """

    def __init__(
        self,
        url: str,
        model: str,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 5.0,
        fallback: Optional[Summariser] = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(f"url: expected an http(s) URL, got {url!r}.")
        if not isinstance(model, str) or not model:
            raise ValueError(f"model: expected a model name, got {model!r}.")
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or (timeout <= 0)
        ):
            raise ValueError(f"timeout: expected a positive number, got {timeout!r}.")
        stripped = url.rstrip("/")
        self.url = (
            stripped
            if stripped.endswith(_CHAT_COMPLETIONS_PATH)
            else stripped + _CHAT_COMPLETIONS_PATH
        )
        self.model = model
        self.api_key_env = api_key_env
        self.timeout = float(timeout)
        self.fallback: Summariser = fallback or RuleBasedSummariser()
        self.max_tokens = max_tokens
        self.name = f"{OPENAI_COMPATIBLE_NAME}:{model}"

    def summarise(self, facts: SummaryFacts) -> Summary:
        """Asks the model; falls back to the rules on any failure."""
        try:
            return self._ask(facts)
        except Exception as error:  # any failure means: fall back
            reason = _failure_reason(error)
            logger.warning(
                "rasa_handover: the LLM summariser at %s failed (%s); using %s.",
                self.url,
                reason,
                self.fallback.name,
            )
            summary = self.fallback.summarise(facts)
            return Summary(
                goal=summary.goal,
                tried=summary.tried,
                provided=summary.provided,
                text=summary.text,
                summariser=f"{self.fallback.name} (llm_failed: {reason})",
            )

    def request_body(self, facts: SummaryFacts) -> Dict[str, Any]:
        """The chat-completions request for `facts`."""
        return {
            "model": self.model,
            "messages": [
                {"role": "system", "content": _SYSTEM_PROMPT},
                {
                    "role": "user",
                    "content": json.dumps(facts.to_dict(), ensure_ascii=False),
                },
            ],
            # The same facts should give the same summary.
            "temperature": 0,
            "max_tokens": self.max_tokens,
        }

    def _ask(self, facts: SummaryFacts) -> Summary:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        api_key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        request = urllib.request.Request(
            self.url,
            data=json.dumps(self.request_body(facts)).encode("utf-8"),
            headers=headers,
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            body = response.read()
        return self._parse(body)

    def _parse(self, body: bytes) -> Summary:
        try:
            reply = json.loads(body)
            content = reply["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise _InvalidReplyError("not a chat-completions response") from error
        if not isinstance(content, str):
            raise _InvalidReplyError("no text content")
        match = _JSON_OBJECT_RE.search(content)
        if match is None:
            raise _InvalidReplyError("no JSON object in the reply")
        try:
            data = json.loads(match.group())
        except ValueError as error:
            raise _InvalidReplyError("malformed JSON in the reply") from error
        if not isinstance(data, Mapping):
            raise _InvalidReplyError("the reply is not a JSON object")
        goal = _reply_text(data, "goal")
        text = _reply_text(data, "text")
        return Summary(
            goal=goal,
            tried=_reply_list(data, "tried"),
            provided=_reply_list(data, "provided"),
            text=text,
            summariser=self.name,
        )


def _reply_text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _InvalidReplyError(f"missing {key}")
    return value.strip()[:MAX_LLM_TEXT_CHARS]


def _reply_list(data: Mapping[str, Any], key: str) -> Tuple[str, ...]:
    value = data.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _InvalidReplyError(f"{key} is not a list of strings")
    return tuple(v.strip()[:MAX_LLM_TEXT_CHARS] for v in value if v.strip())[
        :MAX_LLM_ITEMS
    ]


def _failure_reason(error: BaseException) -> str:
    """A short, log-friendly reason: timeout, http 503, unreachable, ..."""
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(error, urllib.error.HTTPError):
        return f"http {error.code}"
    if isinstance(error, urllib.error.URLError):
        if isinstance(error.reason, (socket.timeout, TimeoutError)):
            return "timeout"
        return "unreachable"
    if isinstance(error, _InvalidReplyError):
        return f"invalid reply: {error}"
    if isinstance(error, OSError):
        return "unreachable"
    return type(error).__name__


# --- Configuration. -----------------------------------------------------------

_RULE_BASED_KEYS = (
    "type",
    "intent_goals",
    "labels",
    "generic_intents",
    "ignored_actions",
)
_OPENAI_KEYS = (
    "type",
    "url",
    "model",
    "api_key_env",
    "timeout",
    "max_tokens",
    "fallback",
)


def summariser_from_config(config: Optional[Mapping[str, Any]]) -> Summariser:
    """Builds a summariser from configuration.

    ```yaml
    summariser:
      type: openai_compatible          # or rule_based (the default)
      url: http://localhost:11434/v1   # Ollama, vLLM, llama.cpp, OpenAI, ...
      model: llama3.1:8b
      api_key_env: OPENAI_API_KEY      # optional
      timeout: 5
      fallback: {intent_goals: {request_refund: "get a refund for order {order_id}"}}
    ```

    Args:
        config: `{"type": "rule_based", ...}` or `{"type": "openai_compatible",
            "url": ..., "model": ...}`; `None` or `{}` gives the rule-based one.

    Returns:
        The summariser.

    Raises:
        ValueError: naming the bad type, the unknown key or the missing one.

    """
    config = dict(config or {})
    kind = config.get("type", RULE_BASED_NAME)
    if kind == RULE_BASED_NAME:
        _check_keys(config, _RULE_BASED_KEYS, kind)
        options = {k: v for k, v in config.items() if k != "type"}
        return RuleBasedSummariser(**options)
    if kind == OPENAI_COMPATIBLE_NAME:
        _check_keys(config, _OPENAI_KEYS, kind)
        missing = [key for key in ("url", "model") if not config.get(key)]
        if missing:
            raise ValueError(
                f"summariser: type {OPENAI_COMPATIBLE_NAME} needs {missing}, e.g. "
                "{type: openai_compatible, url: http://localhost:11434/v1, "
                "model: llama3.1:8b}."
            )
        fallback_config = config.pop("fallback", None)
        fallback = summariser_from_config(
            {"type": RULE_BASED_NAME, **(fallback_config or {})}
        )
        options = {k: v for k, v in config.items() if k != "type"}
        return OpenAICompatibleSummariser(fallback=fallback, **options)
    raise ValueError(
        f"summariser: unknown type {kind!r}; use {RULE_BASED_NAME!r} or "
        f"{OPENAI_COMPATIBLE_NAME!r}."
    )


def _check_keys(config: Mapping[str, Any], allowed: Sequence[str], kind: str) -> None:
    unknown = sorted(set(config) - set(allowed))
    if unknown:
        raise ValueError(
            f"summariser ({kind}): unknown key(s) {unknown}; valid keys are "
            f"{sorted(allowed)}."
        )
