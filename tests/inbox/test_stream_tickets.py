"""Stream tickets: short-lived, single-use, bound to the agent's current token.

Pure tests of `inbox.stream_tickets` with a fake clock (the HTTP side is in
tests/browser/test_inbox_page.py and the browser test of signing in).
"""

import pytest

from rasa_handover.inbox.store.agents import hash_token
from rasa_handover.inbox.stream_tickets import (
    STREAM_TICKET_SECONDS,
    StreamTicketError,
    StreamTickets,
    UnknownStreamTicketError,
)

KEY = hash_token("maya-token-0123456789abcdef0123456789ab")


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_ticket_names_its_agent_and_opens_one_stream() -> None:
    tickets = StreamTickets(clock=Clock())
    ticket = tickets.issue("maya.lee", KEY)  # dots in an id are fine

    assert tickets.agent_id(ticket) == "maya.lee"
    assert tickets.redeem(ticket, KEY) == "maya.lee"
    with pytest.raises(StreamTicketError, match="used already"):
        tickets.redeem(ticket, KEY)


def test_what_every_replica_records_is_the_tickets_nonce_until_it_expires() -> None:
    clock = Clock()
    tickets = StreamTickets(clock=clock)
    first, second = tickets.issue("maya", KEY), tickets.issue("maya", KEY)

    nonce, expires = StreamTickets.once_key(first)
    assert expires == int(clock.now + STREAM_TICKET_SECONDS)
    assert nonce in first and nonce != StreamTickets.once_key(second)[0]


def test_a_ticket_expires_after_a_minute() -> None:
    clock = Clock()
    tickets = StreamTickets(clock=clock)
    late = tickets.issue("maya", KEY)
    in_time = tickets.issue("maya", KEY)

    clock.now += STREAM_TICKET_SECONDS
    assert tickets.redeem(in_time, KEY) == "maya"
    clock.now += 1
    with pytest.raises(StreamTicketError, match="expired"):
        tickets.redeem(late, KEY)


def test_a_new_token_voids_the_old_tickets() -> None:
    tickets = StreamTickets(clock=Clock())
    ticket = tickets.issue("maya", KEY)

    with pytest.raises(UnknownStreamTicketError):
        tickets.redeem(ticket, hash_token("the-new-token-0123456789abcdef0123"))
    with pytest.raises(UnknownStreamTicketError):
        tickets.redeem(ticket, None)  # the agent is gone


def test_a_ticket_for_one_agent_cannot_be_turned_into_another_agents() -> None:
    tickets = StreamTickets(clock=Clock())
    expires, nonce, signature, _ = tickets.issue("maya", KEY).split(".", 3)
    other_key = hash_token("sams-token-0123456789abcdef01234567")

    with pytest.raises(UnknownStreamTicketError):
        tickets.redeem(f"{expires}.{nonce}.{signature}.sam", other_key)
    with pytest.raises(UnknownStreamTicketError):
        tickets.redeem(f"{int(expires) + 3600}.{nonce}.{signature}.maya", KEY)


@pytest.mark.parametrize(
    "ticket",
    [
        pytest.param("", id="empty"),
        pytest.param("maya", id="no-parts"),
        pytest.param("...", id="empty-parts"),
        pytest.param("x.n.s.maya", id="no-number"),
        pytest.param("\u00b2.n.s.maya", id="unicode-digit"),
        pytest.param("9" * 400 + ".n.s.maya", id="huge-number"),
        pytest.param("\ud800.n.s.maya", id="lone-surrogate"),
    ],
)
def test_malformed_tickets_are_unknown_not_errors(ticket: str) -> None:
    with pytest.raises(UnknownStreamTicketError):
        StreamTickets(clock=Clock()).redeem(ticket, KEY)


def test_redeemed_tickets_are_forgotten_once_expired() -> None:
    clock = Clock()
    tickets = StreamTickets(clock=clock)
    for _ in range(5):
        tickets.redeem(tickets.issue("maya", KEY), KEY)
    clock.now += STREAM_TICKET_SECONDS + 1

    tickets.redeem(tickets.issue("maya", KEY), KEY)

    assert len(tickets._redeemed) == 1
