"""The inbox's business operations, shared by the HTTP API and the embedded channel.

`InboxService` turns a handover request into a routed ticket with an honest wait
estimate, relays messages both ways, and lets agents claim, answer, transfer and
resolve tickets. The embedded channel calls it directly (no HTTP); the standalone
app exposes it through `rasa_handover.inbox.api`.

Subscribers (`subscribe()`) learn about what the customer must hear: an agent's
message, an assignment or acceptance, a transfer, a resolution, a grown wait, a
ticket back in the queue because its agent left.

Presence (`presence.Presence`): with a grace period, an online agent counts as
there only while their page reports in (`heartbeat()`, called by the event
stream); `expire_absent()` marks the silent ones offline and gives their
unaccepted tickets to others.

Where to look: `InboxService` is made of these parts (this module adds
`from_config`, `start`, `close` and the subscriptions):

* `base`: the constructor and the state every part shares; routing waiting
  tickets to agents (`_dispatch`), wait estimates, the customer's `view`.
* `customer_requests`: handover requests, customer messages, ratings.
* `alternatives`: callback requests and messages left for a reply by e-mail.
* `agent_access`: an agent's queue, their event stream's teams, `authorise`.
* `agent_actions`: claim, reply, resolve, transfer.
* `agent_presence`: availability, heartbeats, absent agents' tickets.
* `housekeeping`: grown waits, idle tickets, the periodic round.
"""

from typing import Any, Callable, List, Mapping, Optional, Sequence

from rasa_handover.inbox.config import InboxConfig
from rasa_handover.inbox.contract import REQUEUE_AGENT_OFFLINE
from rasa_handover.inbox.publisher import EventListener
from rasa_handover.inbox.service.agent_actions import AgentActions
from rasa_handover.inbox.service.alternatives import AlternativesToWaiting
from rasa_handover.inbox.service.customer_requests import (
    CustomerRequests,
    RelayedMessage,
)
from rasa_handover.inbox.service.housekeeping import Housekeeping
from rasa_handover.inbox.store import InboxStore
from rasa_handover.inbox.views import HandoverRequestFields


class InboxService(
    CustomerRequests,
    AlternativesToWaiting,
    AgentActions,
    Housekeeping,
):
    """Tickets, routing and messages on top of an `InboxStore`."""

    @classmethod
    def from_config(
        cls,
        config: InboxConfig,
        db_url: Optional[str] = None,
        schema: Optional[str] = None,
    ) -> "InboxService":
        """The service an inbox configuration describes (embedded or standalone).

        Args:
            config: Business hours, continuity window, alternatives, database.
            db_url: Database URL instead of `config.db_url`.
            schema: PostgreSQL schema for the tables.

        Returns:
            The service (call `start()` before use).

        """
        return cls(
            InboxStore(db_url or config.db_url, schema=schema),
            hours=config.hours,
            continuity_window=config.continuity_window,
            alternatives=config.alternatives,
            routing=config.routing,
            presence_grace=config.presence_grace,
            supervisors=config.supervisor_ids,
            expire_idle_after=config.expire_idle_after,
            email=config.email,
        )

    # --- Lifecycle and subscriptions. -------------------------------------------

    async def start(
        self, agents: Sequence[Mapping[str, Any]] = (), retire_unlisted: bool = False
    ) -> None:
        """Creates the tables and seeds agents; safe to call more than once.

        Args:
            agents: Agent profiles as keyword arguments of
                `InboxStore.upsert_agent` (id, name, token, teams, ...).
            retire_unlisted: `agents` is the whole configuration: every other
                agent in the database is retired (their token stops working,
                their unaccepted tickets go back to the queue).

        """
        if not self._started:
            await self.store.create_all()
            self._started = True
        retired: List[str] = []
        if retire_unlisted:
            # First: a renamed agent's token is then free for their new id.
            retired = await self.store.retire_agents(
                {str(profile["agent_id"]) for profile in agents}
            )
        for profile in agents:
            await self.store.upsert_agent(**profile)
        for agent_id in retired:
            await self._return_tickets(agent_id, REQUEUE_AGENT_OFFLINE)
        # Online before a restart is not online now: only a page that reports
        # in within the grace period keeps its agent.
        await self.expire_absent()

    async def close(self) -> None:
        """Releases the database connections."""
        await self.store.close()

    def subscribe(self, listener: EventListener) -> Callable[[], None]:
        """Registers `async def listener(event, ticket)` (see `EventPublisher`).

        Returns:
            A function that unsubscribes the listener.

        """
        return self._events.subscribe(listener)

    async def wait_for_change(self, timeout: float) -> bool:
        """Waits until this process records any change, or `timeout` seconds.

        Returns:
            True if something changed.

        """
        return await self._events.wait_for_change(timeout)

    def changed_elsewhere(self) -> None:
        """Wakes the waiting event streams: another replica wrote an event."""
        self._events.signal_change()


__all__ = ["HandoverRequestFields", "InboxService", "RelayedMessage"]
