"""Short-lived, single-purpose tickets that open an agent's event stream.

A browser's `EventSource` cannot send an `Authorization` header, so the agent
page first asks for a ticket (`POST api/events/ticket` with the header) and
opens `api/events?ticket=<ticket>`: the long-lived agent token never appears in
a URL, an access log or the browser's history.

A ticket is `<expires>.<nonce>.<signature>.<agent id>`; the signature is an
HMAC-SHA256 of what it grants, keyed with the stored hash of the agent's token
(`InboxStore.token_hash`). So every replica sharing the database can check a
ticket another one issued, and a changed or retired token voids its tickets.
A ticket

* opens the event stream only (every other endpoint wants the token),
* expires `STREAM_TICKET_SECONDS` after it was issued, and
* opens one stream: this process remembers the tickets it redeemed until they
  expire, and the inbox records each redeemed ticket in its database
  (`store.replay`, keyed by `once_key`), so no other replica accepts it again.

Pure: imports nothing from Sanic or SQLAlchemy.
"""

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

# How long a ticket can open a stream (the page opens it at once).
STREAM_TICKET_SECONDS = 60
# Redeemed tickets remembered at most (each for its last minute).
MAX_REDEEMED = 100_000
_PURPOSE = "rasa-handover event stream"


class StreamTicketError(ValueError):
    """The ticket is malformed, forged, expired or used already."""


class UnknownStreamTicketError(StreamTicketError):
    """Not a ticket this inbox issued (malformed or forged): a guess."""


@dataclass(frozen=True)
class _Parsed:
    expires: int
    nonce: str
    signature: str
    agent_id: str


class StreamTickets:
    """Issues and redeems stream tickets (one instance per inbox process)."""

    def __init__(
        self,
        lifetime_seconds: float = STREAM_TICKET_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Creates the issuer.

        Args:
            lifetime_seconds: How long a ticket stays valid.
            clock: Unix seconds (tests pass a fake one).

        """
        self.lifetime_seconds = lifetime_seconds
        self.clock = clock
        self._redeemed: Dict[str, float] = {}

    def issue(self, agent_id: str, key: str) -> str:
        """A new ticket for `agent_id`, signed with `key` (their token's hash)."""
        expires = int(self.clock() + self.lifetime_seconds)
        nonce = secrets.token_urlsafe(16)
        signature = _sign(key, agent_id, expires, nonce)
        return f"{expires}.{nonce}.{signature}.{agent_id}"

    @staticmethod
    def agent_id(ticket: str) -> str:
        """The agent a ticket claims to be for (not yet checked).

        Raises:
            UnknownStreamTicketError: not a ticket at all.

        """
        return _parse(ticket).agent_id

    @staticmethod
    def once_key(ticket: str) -> Tuple[str, int]:
        """The ticket's nonce and its expiry (unix seconds), for `store.replay`.

        Raises:
            UnknownStreamTicketError: not a ticket at all.

        """
        parsed = _parse(ticket)
        return parsed.nonce, parsed.expires

    def redeem(self, ticket: str, key: Optional[str]) -> str:
        """Checks a ticket and uses it up; returns its agent's id.

        Args:
            ticket: As sent by the client.
            key: The stored hash of the claimed agent's token (None: no such agent).

        Raises:
            StreamTicketError: saying what is wrong.

        """
        parsed = _parse(ticket)
        expected = _sign(key or "", parsed.agent_id, parsed.expires, parsed.nonce)
        # compare_digest: the time taken must not reveal how much matched.
        if key is None or not hmac.compare_digest(
            parsed.signature.encode(), expected.encode()
        ):
            raise UnknownStreamTicketError("unknown stream ticket")
        now = self.clock()
        if parsed.expires < now:
            raise StreamTicketError("the stream ticket has expired; ask for a new one")
        self._forget_expired(now)
        if parsed.nonce in self._redeemed:
            raise StreamTicketError(
                "the stream ticket was used already; ask for a new one"
            )
        self._redeemed[parsed.nonce] = parsed.expires
        while len(self._redeemed) > MAX_REDEEMED:
            self._redeemed.pop(next(iter(self._redeemed)))
        return parsed.agent_id

    def _forget_expired(self, now: float) -> None:
        # Tickets are redeemed in about the order they expire: oldest first.
        while self._redeemed:
            nonce, expires = next(iter(self._redeemed.items()))
            if expires >= now:
                return
            del self._redeemed[nonce]


def _sign(key: str, agent_id: str, expires: int, nonce: str) -> str:
    message = f"{_PURPOSE}\n{agent_id}\n{expires}\n{nonce}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def _parse(ticket: str) -> _Parsed:
    parts = ticket.split(".", 3)
    digits = parts[0].isascii() and parts[0].isdigit()
    if len(parts) != 4 or not digits or not all(parts):
        raise UnknownStreamTicketError("not a stream ticket")
    # The expiry has at most as many digits as a 64-bit time; an agent id is
    # printable text (a NUL made PostgreSQL fail the query: found by fuzzing).
    if len(parts[0]) > 19 or not parts[3].isprintable():
        raise UnknownStreamTicketError("not a stream ticket")
    return _Parsed(int(parts[0]), parts[1], parts[2], parts[3])
