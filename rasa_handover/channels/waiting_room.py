"""The waiting room: what a customer hears while no agent has answered yet (pure).

The playbook: never leave a waiting customer talking to silence, but do not
answer every line either. Every message a waiting customer writes is added to
the ticket (the relay does that); then, if the bot said nothing:

* one short acknowledgement (`utter_handover_waiting_ack`), at most once every
  `waiting_ack_seconds` (a burst of "hello?" "anyone??" gets one answer), and
  again at once when the estimate has grown since the customer last heard it
  (`utter_handover_wait_update` with it);
* the alternatives (callback, message answered by email), again every
  `offer_alternatives_seconds` while the customer still waits, also when they
  write nothing (the relay's worker asks `due_offers()` every second).

State is per conversation and in memory: after a restart a waiting customer is
acknowledged afresh on their next message. `HandoverRelay` owns one instance.
"""

import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from rasa_handover.inbox.wait_estimate import should_update_customer
from rasa_handover.responses import UTTER_WAIT_UPDATE, UTTER_WAITING_ACK

# Acknowledge a waiting customer's messages at most this often.
WAITING_ACK_SECONDS = 30.0
# Offer the alternatives again after this long without an agent.
OFFER_ALTERNATIVES_SECONDS = 120.0

# The statuses in which nobody has answered yet (the inbox's `waiting` and
# `assigned`: routed to an agent who has not picked it up).
WAITING_STATUSES: Tuple[str, ...] = ("waiting", "assigned")
# What the offer of alternatives is made of (the inbox's `alternatives`).
OFFER = "alternatives"


@dataclass
class _Waiting:
    status: str = "waiting"
    entered_at: Optional[float] = None
    acked_at: Optional[float] = None
    offered_at: Optional[float] = None
    told_wait: Optional[int] = None
    alternatives: List[str] = field(default_factory=list)


class WaitingRoom:
    """Decides when a waiting customer is acknowledged and offered alternatives."""

    def __init__(
        self,
        ack_seconds: float = WAITING_ACK_SECONDS,
        offer_seconds: float = OFFER_ALTERNATIVES_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Creates an empty waiting room.

        Args:
            ack_seconds: Minimum seconds between two acknowledgements.
            offer_seconds: Seconds between two offers of the alternatives
                (0 switches the repeated offer off).
            clock: Seconds, monotonic (tests pass their own).

        """
        self.ack_seconds = float(ack_seconds)
        self.offer_seconds = float(offer_seconds)
        self.clock = clock
        self._waiting: Dict[str, _Waiting] = {}

    def entered(
        self,
        conversation_id: str,
        status: str,
        wait_seconds: Optional[int],
        alternatives: Sequence[str],
        offered: bool,
    ) -> None:
        """The customer was just told they wait (the handover's acknowledgement).

        Args:
            conversation_id: Rasa's sender id.
            status: The ticket's status (`waiting`, `assigned`).
            wait_seconds: The estimate they heard.
            alternatives: What the inbox offers instead of waiting.
            offered: Whether the alternatives were part of it.

        """
        if status not in WAITING_STATUSES:
            self.forget(conversation_id)
            return
        now = self.clock()
        self._waiting[conversation_id] = _Waiting(
            status=status,
            entered_at=now,
            # Not an acknowledgement of anything the customer writes next: their
            # first message is answered at once.
            acked_at=None,
            offered_at=now if offered else None,
            told_wait=wait_seconds,
            alternatives=list(alternatives),
        )

    def status_changed(self, conversation_id: str, status: str) -> None:
        """The ticket moved (assigned, back in the queue); others leave the room."""
        state = self._waiting.get(conversation_id)
        if status not in WAITING_STATUSES:
            self.forget(conversation_id)
        elif state is not None:
            state.status = status

    def heard_wait(self, conversation_id: str, wait_seconds: Optional[int]) -> None:
        """The customer heard a new estimate (the inbox's wait update)."""
        state = self._waiting.get(conversation_id)
        if state is not None:
            state.told_wait = wait_seconds

    def answer(
        self,
        conversation_id: str,
        status: str,
        wait_seconds: Optional[int],
        alternatives: Sequence[str],
    ) -> List[str]:
        """What to say after a message of a waiting customer the bot left unanswered.

        Args:
            conversation_id: Rasa's sender id.
            status: The ticket's status after the message was added.
            wait_seconds: The ticket's current estimate.
            alternatives: What the inbox offers instead of waiting.

        Returns:
            Response names (`utter_handover_waiting_ack`,
            `utter_handover_wait_update`) and/or `OFFER`, in order; empty when
            the customer heard enough a moment ago or is no longer waiting.

        """
        if status not in WAITING_STATUSES:
            self.forget(conversation_id)
            return []
        now = self.clock()
        state = self._waiting.setdefault(conversation_id, _Waiting(entered_at=now))
        state.status = status
        state.alternatives = list(alternatives)
        said: List[str] = []
        grew = wait_seconds is not None and should_update_customer(
            state.told_wait, wait_seconds
        )
        if grew or state.acked_at is None or now - state.acked_at >= self.ack_seconds:
            said.append(UTTER_WAITING_ACK)
            state.acked_at = now
            if grew and state.told_wait is not None:
                said.append(UTTER_WAIT_UPDATE)
            if wait_seconds is not None:
                state.told_wait = wait_seconds
        if self._offer_due(state, now):
            said.append(OFFER)
            state.offered_at = now
        return said

    def due_offers(self) -> List[Tuple[str, List[str]]]:
        """Conversations whose alternatives are due again, with the alternatives.

        Marks them offered: the caller says it now.
        """
        now = self.clock()
        due = []
        for conversation_id, state in self._waiting.items():
            if self._offer_due(state, now):
                state.offered_at = now
                due.append((conversation_id, list(state.alternatives)))
        return due

    def forget(self, conversation_id: str) -> None:
        """The customer no longer waits (an agent, a callback, a message, the end)."""
        self._waiting.pop(conversation_id, None)

    def is_waiting(self, conversation_id: str) -> bool:
        """Whether the conversation is in the waiting room."""
        return conversation_id in self._waiting

    def _offer_due(self, state: _Waiting, now: float) -> bool:
        if self.offer_seconds <= 0 or not state.alternatives:
            return False
        if state.status != "waiting":
            return False  # an agent is about to answer
        since = state.offered_at if state.offered_at is not None else state.entered_at
        return since is not None and now - since >= self.offer_seconds
