"""The relay: what the channel does with each message, whichever transport brought it.

* A plugin message from `action_handover` / `action_schedule_callback` becomes
  an inbox ticket, and the customer hears the acknowledgement (agent, wait,
  alternatives).
* A customer message while a human owns the conversation is relayed to the
  ticket, and still goes to Rasa, under Rasa's lock for the conversation: the
  tracker records it, on the fast path without running the policies
  (`fast_path.ConversationTurn`). While nobody has answered yet, the waiting room
  (`waiting_room.WaitingRoom`) acknowledges it, tells a grown wait and offers
  the alternatives again after a while.
* An inbox event reaches the customer: an agent's reply, an assignment after
  queueing, a grown wait; a resolution hands the conversation back to Rasa
  (`/handover_resolved`).
* What the inbox cannot take right now waits in the durable outbox; the worker
  retries it and tells the customer honestly when it keeps failing.

The transport (`handover_input.HandoverInput`: REST and socket.io routes)
creates one `HandoverRelay` and hands it every message.

Where to look: `HandoverRelay` is made of these parts (this module adds the
worker that runs the outbox's retries, `start_worker` and `stop`):

* `base`: the constructor and the state every part shares; that state shared
  with other replicas (`SharedMemory`); the delayed and failed notices;
  `message_key`.
* `from_actions`: the actions' handover, callback, message-left and CSAT
  requests; delivery to the inbox, or to the outbox; the acknowledgement.
* `from_customer`: a customer message to the ticket and to Rasa; the waiting
  room's answer.
* `from_inbox`: inbox events: agent replies, assignments, grown waits,
  handbacks; replies kept for a customer who is away; the alternatives offered
  again.
* `outbox_worker`: the outbox's retries, and giving up on a dead letter.
"""

import asyncio
import logging

from rasa_handover.channels.relay.base import (
    HANDBACK_TEXT,
    NOTIFY_AFTER_FAILURES,
    RETRY_INTERVAL_SECONDS,
    OnNewMessage,
    RasaAgent,
    SharedMemory,
    message_key,
)
from rasa_handover.channels.relay.from_actions import KIND_ASYNC
from rasa_handover.channels.relay.from_inbox import RelayFromInbox
from rasa_handover.channels.relay.outbox_worker import OutboxWorker

logger = logging.getLogger(__name__)


class HandoverRelay(RelayFromInbox, OutboxWorker):
    """Moves messages between the customer, Rasa and the inbox."""

    # --- The worker: the outbox's retries, the alternatives offered again. -----------

    def start_worker(self) -> None:
        """Starts retrying the outbox every `retry_interval` seconds."""
        self._worker = asyncio.ensure_future(self._run_worker())

    def stop(self) -> None:
        """Stops the worker and closes the outbox."""
        if self._worker is not None:
            self._worker.cancel()
        if self.outbox is not None:
            self.outbox.close()

    async def _run_worker(self) -> None:
        while True:
            try:
                await self.retry_outbox()
            except Exception:  # keep retrying whatever one round ran into
                logger.exception("rasa-handover: outbox retry round failed.")
            try:
                await self.offer_alternatives_again()
            except Exception:  # a customer gone away must not stop the others
                logger.exception("rasa-handover: offering alternatives failed.")
            await asyncio.sleep(self.retry_interval)


__all__ = [
    "HANDBACK_TEXT",
    "KIND_ASYNC",
    "NOTIFY_AFTER_FAILURES",
    "RETRY_INTERVAL_SECONDS",
    "HandoverRelay",
    "OnNewMessage",
    "RasaAgent",
    "SharedMemory",
    "message_key",
]
