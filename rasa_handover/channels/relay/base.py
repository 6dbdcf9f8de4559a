"""What every part of the relay shares: its state, the replicas' copy, the notices.

`RelayBase` holds the relay's settings and its state per conversation (the
response templates, the agent last announced, the waiting room, the replies
kept for a customer who was away, what the inbox offers), and shares that state
with the other replicas (`SharedMemory`: `_recall`, `_share`). It sends what
every part needs to say (`_tell`: the delayed or failed notice; `_send_all`).
`message_key` makes a customer message's idempotency key.
"""

import asyncio
import uuid
from typing import (
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    Dict,
    Iterable,
    List,
    Optional,
    Protocol,
    Set,
)

from rasa.core.channels.channel import OutputChannel, UserMessage

from rasa_handover.bounded import LruDict
from rasa_handover.channels import customer_messages
from rasa_handover.channels.inbox_client import InboxClient
from rasa_handover.channels.outbox import Outbox
from rasa_handover.channels.waiting_room import (
    OFFER_ALTERNATIVES_SECONDS,
    WAITING_ACK_SECONDS,
    WaitingRoom,
)
from rasa_handover.constants import INTENT_HANDOVER_RESOLVED
from rasa_handover.inbox.contract import CLIENT_MESSAGE_ID
from rasa_handover.inbox.models import STATUS_WAITING
from rasa_handover.limits import MAX_TRACKED_CONVERSATIONS as MAX_TRACKED
from rasa_handover.limits import LimitError, client_message_id

if TYPE_CHECKING:
    from rasa.core.agent import Agent

# How often the outbox is retried (its items have their own backoff).
RETRY_INTERVAL_SECONDS = 1.0
# Tell the customer about the trouble after this many failed deliveries.
NOTIFY_AFTER_FAILURES = 3
# What the channel sends to Rasa when an agent resolves the ticket.
HANDBACK_TEXT = f"/{INTENT_HANDOVER_RESOLVED}"

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
# The Rasa agent of `rasa run` (None: the channel's blueprint runs alone).
RasaAgent = Callable[[], Optional["Agent"]]


class SharedMemory(Protocol):
    """What a conversation's relay state is on other replicas (`redis_url`).

    The response templates and the agent last announced, so that whichever
    replica applies an inbox event or answers a waiting customer says what the
    replica that took the handover request would.
    """

    async def load(self, conversation_id: str) -> Optional[Dict[str, Any]]:
        """The state another replica shared, or None."""
        ...

    async def save(self, conversation_id: str, state: Dict[str, Any]) -> None:
        """Shares the state (a failure is logged, never raised)."""
        ...


class RelayBase:
    """The state every part of `HandoverRelay` shares, and what they all say.

    Holds the settings, the transport's hooks (`client`, `outbox`,
    `on_new_message`, `rasa_agent`, `customer_present`) and the state per
    conversation; recalls and shares that state with other replicas; tells the
    customer the delayed and failed notices.
    """

    def __init__(
        self,
        channel_name: str,
        customer_output: Callable[[], OutputChannel],
        handover_active: Callable[[str], Awaitable[bool]],
        support_email: str,
        callback_url: Optional[str] = None,
        retry_interval: float = RETRY_INTERVAL_SECONDS,
        notify_after_failures: int = NOTIFY_AFTER_FAILURES,
        waiting_ack_seconds: float = WAITING_ACK_SECONDS,
        offer_alternatives_seconds: float = OFFER_ALTERNATIVES_SECONDS,
        fast_path: bool = True,
    ) -> None:
        """Creates the relay; the transport sets its client, outbox and Rasa.

        The transport sets `client`, `outbox`, `on_new_message` and `rasa_agent`.

        Args:
            channel_name: The input channel Rasa records for the messages.
            customer_output: Reaches a customer outside of a request.
            handover_active: Whether a human owns a conversation, asked only
                without a Rasa agent (else the turn's tracker says).
            support_email: Offered as an alternative to waiting.
            callback_url: The channel's event webhook, for a standalone inbox.
            retry_interval: Seconds between outbox rounds.
            notify_after_failures: Failed deliveries before the customer is told.
            waiting_ack_seconds: A waiting customer's messages are acknowledged
                at most this often.
            offer_alternatives_seconds: A waiting customer is offered the
                alternatives again this often (0: only once).
            fast_path: Whether a handed-over conversation's messages that the
                policy would ignore are recorded without running the policies.

        """
        self.channel_name = channel_name
        self.customer_output = customer_output
        self.handover_active = handover_active
        self.support_email = support_email
        self.callback_url = callback_url
        self.retry_interval = float(retry_interval)
        self.notify_after_failures = int(notify_after_failures)
        self.client: Optional[InboxClient] = None
        self.outbox: Optional[Outbox] = None
        self.on_new_message: Optional[OnNewMessage] = None
        self.rasa_agent: RasaAgent = lambda: None
        self.fast_path = fast_path
        # Customer messages of handed-over conversations since start: recorded
        # on the fast path, or run through the policies (the channel's health).
        self.handed_over_messages = {"fast_path": 0, "policies": 0}
        self._worker: Optional[asyncio.Task[None]] = None
        # Response templates per conversation, for messages sent later (an
        # agent assigned after queueing, delivery trouble). Bounded: abandoned
        # conversations are never resolved.
        self._templates: LruDict[str, Dict[str, Any]] = LruDict(MAX_TRACKED)
        # The agent the customer was last told about, per conversation, so that
        # an assignment is announced once (the acknowledgement may already have).
        self._announced_agent: LruDict[str, Optional[str]] = LruDict(MAX_TRACKED)
        self._requesting: Set[str] = set()
        self.waiting_room = WaitingRoom(waiting_ack_seconds, offer_alternatives_seconds)
        # Agents' e-mailed replies the customer was not in the chat to see,
        # shown when they come back (`customer_returned`).
        self._replied_while_away: LruDict[str, List[Dict[str, Any]]] = LruDict(
            MAX_TRACKED
        )
        # Whether the customer has the chat open (the transport knows).
        self.customer_present: Callable[[str], bool] = lambda _conversation: True
        # What the inbox offers customers without an agent (`alternatives`), as
        # it last said; None: not known yet, so nothing is promised. The
        # embedded inbox sets it at start, a standalone one with its answers.
        self.inbox_alternatives: Optional[List[str]] = None
        # Several replicas: the state above, per conversation, shared.
        self.shared: Optional[SharedMemory] = None

    # --- State shared with other replicas. ------------------------------------------

    async def _recall(self, conversation_id: str) -> None:
        """Takes the conversation's state as the replicas last shared it.

        The shared templates add to this replica's own, never replace them: a
        replica that applied an event before the handover request's answer
        came back shares none, and this one, still waiting for that answer,
        must keep the sentences it acknowledges the customer with.
        """
        if self.shared is None:
            return
        state = await self.shared.load(conversation_id)
        if state is None:
            return
        self._templates[conversation_id] = {
            **self._templates.get(conversation_id, {}),
            **(state.get("templates") or {}),
        }
        if "announced_agent" in state:
            self._announced_agent[conversation_id] = state["announced_agent"]
        else:
            self._announced_agent.pop(conversation_id, None)

    async def _share(self, conversation_id: str) -> None:
        """Shares the conversation's state with the other replicas."""
        if self.shared is None:
            return
        state: Dict[str, Any] = {"templates": self._templates.get(conversation_id, {})}
        if conversation_id in self._announced_agent:
            state["announced_agent"] = self._announced_agent.get(conversation_id)
        await self.shared.save(conversation_id, state)

    # --- Telling the customer. -------------------------------------------------------

    def _extra_values(self) -> Dict[str, Any]:
        return {"support_email": self.support_email}

    async def _tell(
        self,
        output: OutputChannel,
        conversation_id: str,
        messages: Callable[..., Iterable[Dict[str, Any]]],
    ) -> None:
        """Sends `messages(templates, extra)`: the delayed or failed notice.

        The failed and expired notices also offer what the inbox offers.
        """
        templates = self._templates.get(conversation_id, {})
        extra = self._extra_values()
        if messages in (customer_messages.failed, customer_messages.expired):
            said = list(messages(templates, extra, self.inbox_alternatives or ()))
        else:
            said = list(messages(templates, extra))
        await _send_all(output, conversation_id, said)

    def _learn_alternatives(self, view: Dict[str, Any]) -> None:
        """Remembers what the inbox offers, from a waiting ticket's view."""
        if view.get("status") == STATUS_WAITING and "alternatives" in view:
            self.inbox_alternatives = list(view.get("alternatives") or [])


def message_key(message_id: Optional[str]) -> str:
    """A customer message's idempotency key (`contract.CLIENT_MESSAGE_ID`).

    Rasa's `message_id` (a UUID's 32 hex digits unless the input channel set
    its own) when the inbox accepts it as a key, else a new UUID.
    """
    try:
        key = client_message_id(CLIENT_MESSAGE_ID, message_id)
    except LimitError:
        key = None
    return key or uuid.uuid4().hex


async def _send_all(
    output: OutputChannel, recipient_id: str, messages: Iterable[Dict[str, Any]]
) -> None:
    for message in messages:
        if message.get("buttons"):
            await output.send_text_with_buttons(
                recipient_id, message["text"], message["buttons"]
            )
        else:
            await output.send_text_message(recipient_id, message["text"])
