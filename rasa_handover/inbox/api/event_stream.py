"""The agent page's live updates: server-sent events from `GET /api/events`.

A browser's `EventSource` cannot send an `Authorization` header, so the page
first trades its token for a short-lived stream ticket
(`POST /api/events/ticket`) and opens `api/events?ticket=<ticket>`; a ticket
opens one stream, on whichever replica. Other clients may send the header
instead.

The stream sends the events the agent may see after `Last-Event-ID`, wakes when
this process records a change (or, on PostgreSQL, another replica does), keeps
the agent present while it is open, and ends after `max_seconds` so that the
browser reconnects.
"""

import asyncio
import json
import logging
from datetime import datetime, timezone

from sanic import Request
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from rasa_handover.inbox.api.base import _ApiBase
from rasa_handover.inbox.api.request_parsing import _last_event_id, _query_number
from rasa_handover.inbox.api.responses import (
    HTTP_CREATED,
    HTTP_UNAUTHORIZED,
    ApiError,
)
from rasa_handover.inbox.models import Agent, LifecycleEvent
from rasa_handover.inbox.store.replay import USED_STREAM_TICKET
from rasa_handover.inbox.stream_tickets import (
    StreamTicketError,
    UnknownStreamTicketError,
)

logger = logging.getLogger(__name__)


# Server-sent events: how often the stream looks for events written by other
# replicas (local changes wake it at once, and on PostgreSQL other replicas'
# too: `change_feed`; the poll is the fallback), how long one stream lives before the
# browser reconnects with Last-Event-ID (bounded, so no stream outlives its
# client). The stream also sends a keep-alive comment every
# `Presence.heartbeat_seconds` (through proxies) and, once it went out,
# records the agent as present: an open page is what keeps an agent online.
SSE_POLL_SECONDS = 1.0
SSE_MAX_STREAM_SECONDS = 300.0
SSE_RETRY_MILLISECONDS = 3000


class _EventStream(_ApiBase):
    """The event stream, and the stream tickets that open it from a browser."""

    # --- Endpoints. ---------------------------------------------------------------

    async def stream_ticket(self, request: Request) -> HTTPResponse:
        # Browsers' EventSource cannot send headers: the page trades its token
        # (in the header) for a ticket that opens one stream within a minute.
        agent = await self._agent(request)
        key = await self.service.store.token_hash(agent.id)
        assert key is not None  # The agent was just found by their token.
        return json_response(
            {
                "ticket": self.stream_tickets.issue(agent.id, key),
                "expires_seconds": self.stream_tickets.lifetime_seconds,
            },
            status=HTTP_CREATED,
        )

    async def events(self, request: Request) -> None:
        agent = await self._stream_agent(request)
        after_id = _last_event_id(request)
        if after_id is None:
            after_id = await self.service.store.latest_event_id()
        max_seconds = _query_number(
            request, "max_seconds", SSE_MAX_STREAM_SECONDS, SSE_MAX_STREAM_SECONDS
        )
        teams = await self.service.event_teams(agent)
        response = await request.respond(
            content_type="text/event-stream; charset=utf-8",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        assert response is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_seconds
        beat_every = self.service.presence.heartbeat_seconds
        next_beat = loop.time()
        try:
            await response.send(f"retry: {SSE_RETRY_MILLISECONDS}\n\n")
            while True:
                if loop.time() >= next_beat:
                    # Sent first: a closed connection cancels this handler
                    # before the agent is recorded as present.
                    await response.send(": keep-alive\n\n")
                    await self.service.heartbeat(agent)
                    next_beat = loop.time() + beat_every
                batch = await self.service.store.events(
                    after_id=after_id, teams=teams, agent_id=agent.id
                )
                for event in batch:
                    await response.send(_sse(event))
                    after_id = event.id
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                if batch:
                    continue  # There may be more than one page to catch up on.
                wait = min(SSE_POLL_SECONDS, remaining, next_beat - loop.time())
                await self.service.wait_for_change(max(wait, 0.0))
        except asyncio.CancelledError:
            raise  # The client went away.
        except Exception:
            # Headers are gone already: end the stream; the client reconnects.
            logger.exception("Inbox event stream failed")
        await response.eof()

    # --- The agent behind a stream. -----------------------------------------------

    async def _stream_agent(self, request: Request) -> Agent:
        """The agent of an event stream: `Authorization`, or `?ticket=`."""
        ticket = request.args.get("ticket")
        if request.headers.get("Authorization") or ticket is None:
            if request.args.get("token") is not None:
                raise ApiError(
                    HTTP_UNAUTHORIZED,
                    "agent tokens are not accepted in URLs; POST "
                    "api/events/ticket with 'Authorization: Bearer <agent token>' "
                    "and open api/events?ticket=<ticket>",
                    "token",
                )
            return await self._agent(request)
        client = self._client(request)
        self._check_failures(client)
        try:
            agent_id = self.stream_tickets.agent_id(ticket)
            key = await self.service.store.token_hash(agent_id)
            self.stream_tickets.redeem(ticket, key)
            await self._redeem_everywhere(ticket)
        except StreamTicketError as error:
            if isinstance(error, UnknownStreamTicketError):
                self.failed_logins.failed(client)
            raise ApiError(HTTP_UNAUTHORIZED, str(error), "ticket") from error
        agent = await self.service.store.get_agent(agent_id)
        if agent is None:
            raise ApiError(HTTP_UNAUTHORIZED, "unknown stream ticket", "ticket")
        return agent

    async def _redeem_everywhere(self, ticket: str) -> None:
        """Uses a stream ticket up for every replica sharing the database."""
        nonce, expires = self.stream_tickets.once_key(ticket)
        until = datetime.fromtimestamp(expires, timezone.utc)
        if not await self.service.store.use_once(USED_STREAM_TICKET, nonce, until):
            raise StreamTicketError(
                "the stream ticket was used already (on this or another inbox "
                "replica); ask for a new one"
            )


def _sse(event: LifecycleEvent) -> str:
    # One JSON line per event: `data:` lines must not contain raw newlines.
    payload = json.dumps(event.to_dict(), default=str)
    return f"id: {event.id}\nevent: {event.type}\ndata: {payload}\n\n"
