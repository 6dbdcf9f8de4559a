"""The outbox's retries: what the inbox could not take, delivered later or given up.

`OutboxWorker.retry_outbox` tries every due item once (after one of a
conversation's items fails, its later ones wait for the next round, so that
they keep their order), acknowledges what got through, tells the customer
after `notify_after_failures` failed deliveries, and gives up on an item the
inbox rejects or that keeps failing: a dead letter, logged, and the customer
offered the alternatives once. `HandoverRelay.start_worker` runs it every
`retry_interval` seconds.
"""

import logging

from rasa_handover.channels import customer_messages
from rasa_handover.channels.inbox_client import (
    InboxRejectedError,
    InboxUnavailableError,
)
from rasa_handover.channels.outbox import KIND_CSAT, QUIET_KINDS, OutboxItem
from rasa_handover.channels.relay.from_actions import RelayFromActions

logger = logging.getLogger(__name__)


class OutboxWorker(RelayFromActions):
    """Retries the outbox; tells the customer when delivery keeps failing."""

    # --- The outbox worker. ----------------------------------------------------------

    async def retry_outbox(self) -> int:
        """Tries every due outbox item once; returns how many were delivered."""
        assert self.outbox is not None
        delivered = 0
        failed_conversations = set()
        for item in self.outbox.due():
            if item.conversation_id in failed_conversations:
                continue
            try:
                answer = await self._deliver(item.kind, item.conversation_id, item.body)
            except InboxUnavailableError as error:
                failed_conversations.add(item.conversation_id)
                attempts = self.outbox.failed(item.id, str(error))
                if self.outbox.is_dead(item.id):
                    await self._gave_up(item, f"still failing after {attempts} tries")
                else:
                    await self._maybe_tell_customer(item, attempts)
                continue
            except InboxRejectedError as error:
                self.outbox.dead_letter(item.id, f"rejected by the inbox: {error}")
                await self._gave_up(item, f"rejected by the inbox: {error}")
                continue
            self.outbox.delivered(item.id)
            delivered += 1
            await self._acknowledge(
                item.kind,
                item.conversation_id,
                item.body,
                answer,
                self.customer_output(),
            )
            await self._share(item.conversation_id)
        return delivered

    async def _gave_up(self, item: OutboxItem, why: str) -> None:
        """An outbox item became a dead letter: log it, tell the customer once."""
        logger.error(
            f"rasa-handover: gave up on the {item.kind} of conversation "
            f"'{item.conversation_id}' (outbox item {item.id}, kept as a dead "
            f"letter): {why}. The customer is offered the alternatives."
        )
        if not item.customer_notified and item.kind != KIND_CSAT:
            await self._tell(
                self.customer_output(), item.conversation_id, customer_messages.failed
            )

    async def _maybe_tell_customer(self, item: OutboxItem, attempts: int) -> None:
        assert self.outbox is not None
        if (
            item.kind in QUIET_KINDS
            or item.customer_notified
            or attempts < self.notify_after_failures
        ):
            return
        self.outbox.mark_customer_notified(item.id)
        await self._tell(
            self.customer_output(), item.conversation_id, customer_messages.failed
        )
