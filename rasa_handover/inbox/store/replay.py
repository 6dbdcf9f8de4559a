"""Values usable once across every replica: signature nonces, stream tickets.

A replica's own memory (`signing.NonceCache`, `stream_tickets.StreamTickets`)
refuses a value it has seen; a value first used on another replica sharing
the database is refused here. `use_once` is one `INSERT` into a table whose
primary key is the value: of two replicas using the same value at once the
database lets exactly one row in, and the other call finds it taken.

A row is kept until its value would be refused anyway (the signature's
timestamp or the ticket's expiry is out of its window), then pruned: the
table holds at most the values of the last few minutes.
"""

from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy.exc import IntegrityError

from rasa_handover.inbox.store.base import StoreBase
from rasa_handover.inbox.store.schema import used_once_table

# Kinds of values (one namespace each).
USED_SIGNATURE_NONCE = "signature-nonce"
USED_STREAM_TICKET = "stream-ticket"
# Expired rows are deleted at most this often per process.
PRUNE_EVERY = timedelta(seconds=60)


class ReplayStore(StoreBase):
    """The values used once: their part of `InboxStore`."""

    _pruned_at: Optional[datetime] = None

    async def use_once(self, kind: str, value: str, expires_at: datetime) -> bool:
        """Records `value` as used, unless any replica used it before.

        Args:
            kind: Its namespace (`USED_SIGNATURE_NONCE`, `USED_STREAM_TICKET`).
            value: The nonce (at most 128 characters).
            expires_at: When the value can no longer be accepted anyway (its
                row may be deleted from then on).

        Returns:
            True the first time; False when it was used already.

        """
        await self._prune_used_values()
        try:
            async with self._transaction() as conn:
                await conn.execute(
                    used_once_table.insert().values(
                        kind=kind, value=value, expires_at=expires_at
                    )
                )
        except IntegrityError:
            return False
        return True

    async def _prune_used_values(self) -> None:
        now = self.clock()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        async with self._transaction() as conn:
            await conn.execute(
                used_once_table.delete().where(used_once_table.c.expires_at < now)
            )
