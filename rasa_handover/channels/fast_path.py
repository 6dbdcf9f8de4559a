"""A customer message's turn in Rasa, and the fast path of handed-over conversations.

While a human owns a conversation (`handover_active`), `HandoverPolicy` answers
nearly every customer message with `action_listen` (the bot stays silent) and
outranks every other policy. Running the whole ensemble (memoization, rules,
TED, ...) only to learn that costs most of a relayed message's CPU time. So the
channel gives each customer message one `ConversationTurn`:

1. it takes Rasa's lock for the conversation (the agent's lock store, the one
   `rasa run` itself takes: two messages of one conversation are handled in
   order, also by replicas that share a `RedisLockStore`) and reads the tracker
   once, to learn whether a human owns the conversation;
2. the relay sends the message to the ticket under the same lock, so the
   agent's transcript and the tracker hold the messages in the same order;
3. `hand_to_rasa` parses the message with the bot's NLU (a customer who asks
   for a callback or to leave a message needs the intent) and, when the
   policy's answer is certain to be silence (`stays_silent`), records what Rasa
   would record: `UserUttered` with NLU's parse, the slots the domain's mappings
   fill (`action_extract_slots`), the ensemble's `user_featurization` mark and
   `action_listen` predicted by `HandoverPolicy`, then saves the tracker (the
   tracker store streams the events to the event broker as usual). Anything
   else goes through Rasa's processor as usual, with the parse already made.

The policies' predictions are what the fast path skips; NLU, slot mappings, the
tracker store and Rasa's anonymization hook still run. Without a Rasa agent
(the channel's blueprint run alone, in tests) nothing is locked or read, and the
message goes to the channel's `on_new_message` as before.
"""

import logging
import time
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, AsyncIterator, Dict, Optional

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import (
    ActionExecuted,
    DefinePrevUserUtteredFeaturization,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_handover.constants import (
    ACTION_LISTEN,
    SLOT_HANDOVER_ACTIVE,
    WAITING_CONTROL_INTENTS,
)
from rasa_handover.conversation import INTENT_PAYLOAD_PREFIX
from rasa_handover.policy import HandoverPolicy

if TYPE_CHECKING:
    from rasa.core.agent import Agent
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.domain import Domain

logger = logging.getLogger(__name__)

# The policy whose prediction the fast path records (`ActionExecuted.policy`),
# as Rasa names a policy's predictions: its class name.
POLICY_NAME = HandoverPolicy.__name__
# How often a message waiting for the conversation's lock looks again. Rasa's
# own default is a second; the order is the lock store's tickets, whatever the
# interval, and a customer's burst should not wait a second per message.
LOCK_POLL_SECONDS = 0.01


class ConversationTurn:
    """One customer message, under Rasa's lock for its conversation."""

    def __init__(
        self,
        processor: "MessageProcessor",
        tracker: Optional[DialogueStateTracker],
        fast_path: bool,
    ) -> None:
        """Creates the turn (see `conversation_turn`)."""
        self.processor = processor
        self.tracker = tracker
        self.fast_path = fast_path

    @property
    def handover_active(self) -> bool:
        """Whether a human owns the conversation (its tracker says so)."""
        return bool(
            self.tracker is not None and self.tracker.get_slot(SLOT_HANDOVER_ACTIVE)
        )

    async def hand_to_rasa(self, message: UserMessage) -> bool:
        """Records the message without the policies if it may, else runs Rasa.

        Returns:
            True if the fast path recorded it, False if Rasa's processor ran.

        """
        processor = self.processor
        tracker = self.tracker
        if (
            not self.fast_path
            or tracker is None
            or not self.handover_active
            or message.text is None
            or message.text.lstrip().startswith(INTENT_PAYLOAD_PREFIX)
            or not waits_silently(tracker, processor.domain)
            or not has_handover_policy(processor)
        ):
            await processor.handle_message(message)
            return False
        parse_data = await processor.parse_message(message, tracker)
        if not stays_silent(parse_data):
            # Rasa runs as usual, without parsing the message again.
            message.parse_data = parse_data
            await processor.handle_message(message)
            return False
        await _record_silently(processor, tracker, message, parse_data)
        return True


@asynccontextmanager
async def conversation_turn(
    agent: "Agent", conversation_id: str, fast_path: bool = True
) -> AsyncIterator[ConversationTurn]:
    """Holds Rasa's lock for the conversation and reads its tracker once.

    Args:
        agent: The Rasa agent of `rasa run` (its lock store, processor).
        conversation_id: The customer's conversation (the sender id).
        fast_path: Whether handed-over messages may skip the policies.

    """
    processor = agent.processor
    assert processor is not None, "the agent has no model loaded"
    async with agent.lock_store.lock(
        conversation_id, wait_time_in_seconds=LOCK_POLL_SECONDS
    ):
        tracker = await processor.tracker_store.retrieve(conversation_id)
        if tracker is not None:
            # What `MessageProcessor.get_tracker` sets on a tracker it reads.
            tracker.model_id = processor.model_metadata.model_id
            if tracker.assistant_id is None:
                tracker.assistant_id = processor.model_metadata.assistant_id
        yield ConversationTurn(processor, tracker, fast_path)


def waits_silently(tracker: DialogueStateTracker, domain: "Domain") -> bool:
    """Whether the conversation is in the state where the policy keeps silent.

    A human owns it, the bot was listening (no form, no follow-up action, not
    paused), and the session goes on (an expired one starts afresh first).
    """
    return bool(
        tracker.get_slot(SLOT_HANDOVER_ACTIVE)
        and tracker.latest_action_name == ACTION_LISTEN
        and tracker.active_loop_name is None
        and tracker.followup_action is None
        and not tracker.is_paused()
        and not _session_expired(tracker, domain)
    )


def stays_silent(parse_data: Dict[str, Any]) -> bool:
    """Whether `HandoverPolicy` answers this parsed message with silence.

    In a conversation that `waits_silently`, the policy stays silent for every
    intent but `WAITING_CONTROL_INTENTS` (a callback, a message left for the
    team, the handback, Rasa's restart / session start / back), whatever their
    confidence: those always take Rasa's whole way.
    """
    intent = (parse_data.get("intent") or {}).get("name")
    return intent not in WAITING_CONTROL_INTENTS


def has_handover_policy(processor: "MessageProcessor") -> bool:
    """Whether the loaded model predicts with `HandoverPolicy` (else no fast path).

    Checked once per loaded model: a model replaced at run time is checked anew.
    """
    metadata = processor.model_metadata
    known = _POLICY_IN_MODEL.get(metadata.model_id)
    if known is None:
        known = any(
            getattr(node.uses, "__name__", "") == POLICY_NAME
            for node in metadata.predict_schema.nodes.values()
        )
        _POLICY_IN_MODEL[metadata.model_id] = known
        if not known:
            logger.info(
                "rasa-handover: the model has no HandoverPolicy; handed-over "
                "messages go through Rasa's policies (no fast path)."
            )
    return known


# model id -> whether its prediction graph has HandoverPolicy.
_POLICY_IN_MODEL: Dict[str, bool] = {}


def _session_expired(tracker: DialogueStateTracker, domain: "Domain") -> bool:
    """Whether Rasa would start a new session with this message."""
    config = domain.session_config
    if not config.are_sessions_enabled():
        return False
    latest = tracker.get_last_event_for(UserUttered)
    if latest is None:
        return False
    return (time.time() - latest.timestamp) / 60 > config.session_expiration_time


async def _record_silently(
    processor: "MessageProcessor",
    tracker: DialogueStateTracker,
    message: UserMessage,
    parse_data: Dict[str, Any],
) -> None:
    """The events Rasa's processor would add for a message the bot ignores."""
    tracker.update(
        UserUttered(
            message.text,
            parse_data["intent"],
            parse_data["entities"],
            parse_data,
            input_channel=message.input_channel,
            message_id=message.message_id,
            metadata=message.metadata,
        ),
        processor.domain,
    )
    tracker = await processor.run_action_extract_slots(message.output_channel, tracker)
    # What Rasa's policy ensemble adds to a prediction made on the intent.
    tracker.update_with_events(
        [DefinePrevUserUtteredFeaturization(False)], processor.domain
    )
    tracker.update(
        ActionExecuted(ACTION_LISTEN, policy=POLICY_NAME, confidence=1.0),
        processor.domain,
    )
    await processor.run_anonymization_pipeline(tracker)
    await processor.save_tracker(tracker)
