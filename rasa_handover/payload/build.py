"""Building the payload: `build_payload` and `build_payload_async`."""

import asyncio
import copy
import functools
import logging
import time
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from rasa_handover.conversation import Transcript, read_transcript
from rasa_handover.payload.bound import bound, cap_before_redaction
from rasa_handover.payload.config import PayloadConfig
from rasa_handover.payload.language import language_section, preload_language_detector
from rasa_handover.payload.schema import PAYLOAD_VERSION
from rasa_handover.payload.sections import (
    account_section,
    customer_section,
    entities_section,
    intent_history_section,
    sentiment_section,
    slots_section,
    summary_facts,
    summary_section,
    transcript_section,
    trigger_section,
)
from rasa_handover.redaction import redact_payload
from rasa_handover.summary import RuleBasedSummariser, Summariser

logger = logging.getLogger(__name__)

# Frozen, so one instance serves as every call's default.
DEFAULT_CONFIG = PayloadConfig()


def build_payload(
    conversation_id: str,
    events: Sequence[Mapping[str, Any]],
    slots: Mapping[str, Any],
    *,
    channel: Optional[str],
    attempt: int,
    config: PayloadConfig = DEFAULT_CONFIG,
    summariser: Optional[Summariser] = None,
    now: Optional[float] = None,
    team: Optional[str] = None,
) -> Dict[str, Any]:
    """Builds the context payload the agent receives.

    Args:
        conversation_id: The conversation (sender) id.
        events: Rasa's serialised events, oldest first (rasa_sdk's
            `tracker.events`).
        slots: Current slot values (rasa_sdk's `tracker.slots`).
        channel: The input channel's name; None takes it from the latest user
            message (`input_channel`).
        attempt: The handover attempt number, from 1; with `conversation_id`
            it makes ticket creation idempotent.
        config: How to build it.
        summariser: Writes the summary; the rule-based one by default.
        now: Unix time of `created_at`; the current time by default.
        team: The team to route to when the trigger's evidence names none
            (e.g. the latest intent's `handover_team` from the domain).

    Returns:
        The payload, redacted and within `config.max_bytes` (see
        docs/payload.md); `validate_payload` accepts it. A section that could
        not be built, or a value that could not be redacted, is replaced by
        its empty form and named in `dropped`: the payload is always sent.

    Raises:
        ValueError: if `attempt` is not a positive integer.

    """
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        raise ValueError(f"attempt must be a positive integer, got {attempt!r}.")
    slots = dict(slots or {})
    dropped: List[Dict[str, str]] = []
    guard = _Guard(dropped)
    transcript = guard("transcript", _EMPTY_TRANSCRIPT, read_transcript, events)
    created = datetime.fromtimestamp(time.time() if now is None else now, timezone.utc)
    raw: Dict[str, Any] = {
        "version": PAYLOAD_VERSION,
        "conversation_id": str(conversation_id),
        "attempt": attempt,
        "created_at": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "channel": channel or transcript.input_channel,
        **_sections(transcript, slots, team, config, guard),
    }
    # Redaction reads every string once: cap them first, so that its cost does
    # not grow with whatever a client sent (the bound cuts far more anyway).
    raw = cap_before_redaction(raw, config)
    payload = redact_payload(raw, config.redaction, dropped)
    summary = guard(
        "summary",
        None,
        lambda: summary_section(
            summariser or RuleBasedSummariser(), summary_facts(payload, transcript)
        ),
    )
    # The summary is written from redacted facts; redacting it once more, with the
    # original values to look for, catches anything a summariser added back.
    payload["summary"] = redact_payload(
        {"slots": raw["slots"], "entities": raw["entities"], "summary": summary},
        config.redaction,
        dropped,
    )["summary"] or dict(_FALLBACKS["summary"])
    payload["dropped"] = dropped
    return bound(payload, config)


class _Guard:
    """Builds one section; if that fails, its fallback, with the reason recorded.

    A payload that names what it lost still reaches a person; an exception
    here would leave the customer with nobody.
    """

    def __init__(self, dropped: List[Dict[str, str]]) -> None:
        self.dropped = dropped

    def __call__(
        self, name: str, fallback: Any, build: Callable[..., Any], *args: Any
    ) -> Any:
        try:
            return build(*args)
        except Exception as error:  # one section must not stop the handover
            logger.exception("rasa_handover: the payload's %s section failed.", name)
            self.dropped.append(
                {"field": name, "reason": f"section failed ({type(error).__name__})"}
            )
            return copy.deepcopy(fallback)


_EMPTY_TRANSCRIPT = read_transcript([])
# What a section is when building it failed (valid for the schema).
_FALLBACKS: Dict[str, Any] = {
    "customer": {"name": None, "id": None, "email": None},
    "language": (None, {"source": "unknown", "confidence": None, "detector": None}),
    "trigger": {
        "reason": None,
        "evidence": {},
        "turn": None,
        "team": None,
        "offered_before": False,
    },
    "intent_history": [],
    "slots": {},
    "account": {"tier": None, "high_value": False},
    "sentiment": {"score": None, "latest": None, "frustration_signals": []},
    "transcript": [],
    "summary": {
        "goal": "Not known: the summary could not be written.",
        "tried": [],
        "provided": [],
        "text": "The summary could not be written; see the transcript.",
        "summariser": "none",
    },
}


def _sections(
    transcript: Transcript,
    slots: Mapping[str, Any],
    team: Optional[str],
    config: PayloadConfig,
    guard: _Guard,
) -> Dict[str, Any]:
    """Everything but the envelope and the summary, in the payload's key order."""

    def section(name: str, build: Callable[..., Any], *args: Any) -> Any:
        return guard(name, _FALLBACKS[name], build, *args)

    intent_history = section("intent_history", intent_history_section, transcript)
    trigger = section("trigger", trigger_section, slots, team, config)
    if trigger["team"] is None:
        trigger["team"] = team or config.default_team
    language, language_detection = section(
        "language", language_section, slots, transcript, config
    )
    latest = intent_history[-1] if intent_history else None
    redaction = config.redaction
    return {
        "customer": section("customer", customer_section, slots, transcript, config),
        "language": language,
        "language_detection": language_detection,
        "trigger": trigger,
        "intent": (
            {"name": latest["intent"], "confidence": latest["confidence"]}
            if latest
            else None
        ),
        "intent_history": intent_history,
        "entities": guard("entities", [], entities_section, intent_history),
        "slots": section("slots", slots_section, slots, config, guard.dropped),
        "account": section("account", account_section, slots, trigger["evidence"]),
        "sentiment": section("sentiment", sentiment_section, transcript, config),
        "transcript": section("transcript", transcript_section, transcript),
        "transcript_truncated": False,
        "intent_history_truncated": False,
        "strings_truncated": False,
        "redaction": {
            "detectors": list(redaction.active_detectors),
            "masked_slots": list(redaction.slots_to_mask) if redaction.enabled else [],
            "masked_entities": list(redaction.entities_to_mask)
            if redaction.enabled
            else [],
        },
    }


async def build_payload_async(
    conversation_id: str,
    events: Sequence[Mapping[str, Any]],
    slots: Mapping[str, Any],
    **options: Any,
) -> Dict[str, Any]:
    """`build_payload` in a worker thread, for async code such as an action's run.

    Language models load and LLM summarisers answer in seconds; this keeps the
    action server's event loop free meanwhile. Takes the same arguments.
    """
    loop = asyncio.get_running_loop()
    call = functools.partial(build_payload, conversation_id, events, slots, **options)
    return await loop.run_in_executor(None, call)


def preload_payload_builder(config: PayloadConfig = DEFAULT_CONFIG) -> None:
    """Builds one throw-away payload, so that the first real one is fast.

    The first payload loads spaCy, the frustration signals' models and the
    language detector: about 3 s on a quiet machine, far more on a busy one.
    Call it when the action server starts (`ActionHandover` does), so that the
    first customer who is handed over does not wait for it.
    """
    preload_language_detector(config)
    build_payload(
        "preload",
        [
            {
                "event": "user",
                "text": "this is ridiculous, I want to talk to a human",
                "parse_data": {"intent": {"name": "human_handoff", "confidence": 1.0}},
            }
        ],
        {},
        channel="preload",
        attempt=1,
        config=config,
    )
