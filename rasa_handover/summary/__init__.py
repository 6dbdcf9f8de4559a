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

Where to look: `facts` (what a summariser gets and gives), `rule_based`, `llm`
(the OpenAI-compatible one) and `config` (`summariser_from_config`). The package
is pure: it imports nothing from Rasa.
"""

from rasa_handover.summary.config import summariser_from_config
from rasa_handover.summary.facts import (
    RULE_BASED_NAME,
    BotResponse,
    FactTurn,
    Summariser,
    Summary,
    SummaryFacts,
)
from rasa_handover.summary.llm import OpenAICompatibleSummariser
from rasa_handover.summary.rule_based import (
    DEFAULT_INTENT_GOALS,
    DEFAULT_LABELS,
    GENERIC_INTENTS,
    RuleBasedSummariser,
)

__all__ = [
    "DEFAULT_INTENT_GOALS",
    "DEFAULT_LABELS",
    "GENERIC_INTENTS",
    "RULE_BASED_NAME",
    "BotResponse",
    "FactTurn",
    "OpenAICompatibleSummariser",
    "RuleBasedSummariser",
    "Summariser",
    "Summary",
    "SummaryFacts",
    "summariser_from_config",
]
