"""The state every part of the API shares, and the agent behind a request.

`_ApiBase` holds the service, the configuration, the limit on unknown tokens,
the stream tickets, the channel's signature verifier and the change feed. Its
constructor wraps every endpoint handler with `_guarded` (`responses`), so that
no request can make one raise into Sanic. `_agent` finds the agent a bearer
token names, and answers 429 to an address that sent too many unknown ones.
"""

import asyncio
import math
from typing import Optional

from sanic import Request

from rasa_handover.inbox.api.responses import (
    HTTP_TOO_MANY_REQUESTS,
    HTTP_UNAUTHORIZED,
    ApiError,
    _guarded,
)
from rasa_handover.inbox.change_feed import ChangeFeed
from rasa_handover.inbox.config import InboxConfig
from rasa_handover.inbox.limits import FailureLimiter
from rasa_handover.inbox.models import Agent
from rasa_handover.inbox.service import InboxService
from rasa_handover.inbox.signing import Verifier
from rasa_handover.inbox.stream_tickets import StreamTickets


class _ApiBase:
    """The endpoint handlers' shared state, bound to one service and configuration.

    The parts (`_AgentRoutes`, `_EventStream`, `_ChannelRoutes`, `_Lifecycle`)
    inherit from it; `_InboxApi` in the package's `__init__` combines them.
    """

    def __init__(self, service: InboxService, config: InboxConfig) -> None:
        self.service = service
        self.config = config
        self.failed_logins = FailureLimiter()
        self.stream_tickets = StreamTickets()
        keys = config.signing_keys
        # A nonce cache per process for the channel's signed calls (the
        # first check); `store.use_once` then refuses replays to any replica.
        self.verifier = Verifier(keys.channel_to_inbox) if keys else None
        self._housekeeping: Optional[asyncio.Task[None]] = None
        self._presence: Optional[asyncio.Task[None]] = None
        # PostgreSQL: other replicas' events wake this one's streams at once.
        self.change_feed = ChangeFeed(service.store, service.changed_elsewhere)
        for attribute in (
            "health",
            "openapi",
            "me",
            "report",
            "availability",
            "heartbeat",
            "queue",
            "callbacks",
            "ticket",
            "claim",
            "reply",
            "resolve",
            "transfer",
            "events",
            "stream_ticket",
            "channel_ticket",
            "channel_message",
            "channel_pending",
            "channel_callback",
            "channel_left_message",
            "channel_csat",
        ):
            setattr(self, attribute, _guarded(getattr(self, attribute)))

    # --- The agent behind a request. ----------------------------------------------

    @staticmethod
    def _client(request: Request) -> str:
        return str(request.remote_addr or request.ip or "")

    def _check_failures(self, client: str) -> None:
        wait = self.failed_logins.retry_after(client)
        if wait > 0:
            raise ApiError(
                HTTP_TOO_MANY_REQUESTS,
                "too many unknown tokens from this address; "
                f"retry in {math.ceil(wait)} s",
                "Authorization",
            )

    async def _agent(self, request: Request) -> Agent:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(
                HTTP_UNAUTHORIZED,
                "send 'Authorization: Bearer <agent token>'",
                "Authorization",
            )
        client = self._client(request)
        self._check_failures(client)
        agent = await self.service.store.agent_by_token(token.strip())
        if agent is None:
            self.failed_logins.failed(client)
            raise ApiError(HTTP_UNAUTHORIZED, "unknown agent token", "Authorization")
        return agent
