"""The LLM summariser: any OpenAI-compatible chat-completions server.

It falls back to the rules on any error, so a slow or broken model never blocks
a handover.
"""

import json
import logging
import os
import re
import socket
import urllib.error
import urllib.request
from typing import Any, Dict, Mapping, Optional, Tuple

from rasa_handover.summary.facts import (
    OPENAI_COMPATIBLE_NAME,
    Summariser,
    Summary,
    SummaryFacts,
)
from rasa_handover.summary.rule_based import RuleBasedSummariser

logger = logging.getLogger(__name__)

_SYSTEM_PROMPT = (
    "You summarise a customer-support conversation for the human agent who takes "
    "it over from a chatbot, so that the customer never has to repeat anything. "
    "Reply with one JSON object and nothing else, with these keys: "
    '"goal" (one sentence: what the customer wants, with their name if known), '
    '"tried" (a list of short phrases: what the bot already did; read what it '
    "said in bot_responses to tell an answer from a question, e.g. "
    '"answered how to get an invoice", "asked for the order number"), '
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
