"""Building a summariser from configuration (`summariser_from_config`)."""

from typing import Any, Mapping, Optional, Sequence

from rasa_handover.config_keys import checked_section
from rasa_handover.summary.facts import (
    OPENAI_COMPATIBLE_NAME,
    RULE_BASED_NAME,
    Summariser,
)
from rasa_handover.summary.llm import OpenAICompatibleSummariser
from rasa_handover.summary.rule_based import RuleBasedSummariser

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
    checked_section(config, allowed, f"summariser ({kind})")
