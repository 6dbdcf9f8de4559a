"""Building the payload: `build_payload` and `build_payload_async`."""

import asyncio
import functools
import time
from datetime import datetime, timezone
from typing import Any, Dict, Mapping, Optional, Sequence

from rasa_handover.conversation import Transcript, read_transcript
from rasa_handover.payload.bound import bound
from rasa_handover.payload.config import PayloadConfig
from rasa_handover.payload.language import language_section
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
        docs/payload.md); `validate_payload` accepts it.

    Raises:
        ValueError: if `attempt` is not a positive integer.

    """
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        raise ValueError(f"attempt must be a positive integer, got {attempt!r}.")
    slots = dict(slots or {})
    transcript = read_transcript(events)
    created = datetime.fromtimestamp(time.time() if now is None else now, timezone.utc)
    raw: Dict[str, Any] = {
        "version": PAYLOAD_VERSION,
        "conversation_id": str(conversation_id),
        "attempt": attempt,
        "created_at": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "channel": channel or transcript.input_channel,
        **_sections(transcript, slots, team, config),
    }
    payload = redact_payload(raw, config.redaction)
    summary = summary_section(
        summariser or RuleBasedSummariser(), summary_facts(payload, transcript)
    )
    # The summary is written from redacted facts; redacting it once more, with the
    # original values to look for, catches anything a summariser added back.
    payload["summary"] = redact_payload(
        {"slots": raw["slots"], "entities": raw["entities"], "summary": summary},
        config.redaction,
    )["summary"]
    return bound(payload, config)


def _sections(
    transcript: Transcript,
    slots: Mapping[str, Any],
    team: Optional[str],
    config: PayloadConfig,
) -> Dict[str, Any]:
    """Everything but the envelope and the summary, in the payload's key order."""
    intent_history = intent_history_section(transcript)
    trigger = trigger_section(slots, team, config)
    language, language_detection = language_section(slots, transcript, config)
    latest = intent_history[-1] if intent_history else None
    redaction = config.redaction
    return {
        "customer": customer_section(slots, transcript, config),
        "language": language,
        "language_detection": language_detection,
        "trigger": trigger,
        "intent": (
            {"name": latest["intent"], "confidence": latest["confidence"]}
            if latest
            else None
        ),
        "intent_history": intent_history,
        "entities": entities_section(intent_history),
        "slots": slots_section(slots, config),
        "account": account_section(slots, trigger["evidence"]),
        "sentiment": sentiment_section(transcript, config),
        "transcript": transcript_section(transcript),
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
