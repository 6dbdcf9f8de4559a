"""The endpoints a standalone channel calls (`/api/channel/...`), HMAC-signed.

Each request carries a signature of method, path, query, timestamp, nonce and
body, made with the channel-to-inbox key (`signing`); `_check_signature` checks
it and refuses a nonce already used on any replica sharing the database.
Without a configured secret these endpoints answer 403.

The channel asks for a handover (`tickets`), relays the customer's messages and
fetches the agent's (`messages`), schedules a callback (`callbacks`), leaves a
message for a reply by e-mail (`left-messages`) and records a rating (`csat`).
"""

from datetime import datetime, timezone

from sanic import Request
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from rasa_handover.inbox.api.base import _ApiBase
from rasa_handover.inbox.api.request_parsing import (
    _body,
    _channel_url,
    _client_message_id,
    _field,
    _text,
)
from rasa_handover.inbox.api.responses import (
    HTTP_BAD_REQUEST,
    HTTP_CREATED,
    HTTP_FORBIDDEN,
    HTTP_NOT_FOUND,
    HTTP_OK,
    HTTP_UNAUTHORIZED,
    ApiError,
)
from rasa_handover.inbox.contract import (
    RELAYED,
    RELAYED_MESSAGE,
    RELAYED_TICKET,
    csat_answer,
)
from rasa_handover.inbox.limits import MAX_CONVERSATION_ID_CHARS, MAX_ID, message_id
from rasa_handover.inbox.signing import (
    NONCE_HEADER,
    SIGNATURE_HEADER,
    SignatureError,
    request_target,
)
from rasa_handover.inbox.store.replay import USED_SIGNATURE_NONCE
from rasa_handover.limits import clean_text


class _ChannelRoutes(_ApiBase):
    """The channel's endpoints and the check of their signatures."""

    # --- Channel endpoints (HMAC-signed). ------------------------------------------

    async def channel_ticket(self, request: Request) -> HTTPResponse:
        await self._check_signature(request)
        body = _body(request)
        conversation_id = _text(body, "conversation_id", MAX_CONVERSATION_ID_CHARS)
        attempt = _field(body, "attempt", int)
        payload = _field(body, "payload", dict)
        channel_url = _channel_url(payload)
        if channel_url is not None:
            # Before the ticket's first event: the channel gets all of them.
            await self.service.store.ensure_channel(channel_url)
        view = await self.service.request_handover(conversation_id, attempt, payload)
        return json_response(
            view.to_dict(), status=HTTP_CREATED if view.created else HTTP_OK
        )

    async def channel_message(self, request: Request) -> HTTPResponse:
        await self._check_signature(request)
        body = _body(request)
        conversation_id = _text(body, "conversation_id", MAX_CONVERSATION_ID_CHARS)
        text = _text(body, "text")
        relayed = await self.service.relay_and_view(
            conversation_id, text, _client_message_id(body)
        )
        if relayed is None:
            raise ApiError(
                HTTP_NOT_FOUND,
                f"conversation '{conversation_id}' has no open handover",
                "conversation_id",
            )
        # The ticket's view: the channel's waiting room reads status and wait.
        # A repeat (the same client message id) is 200, with the first message.
        return json_response(
            {
                RELAYED: True,
                RELAYED_TICKET: relayed.view.to_dict(),
                RELAYED_MESSAGE: relayed.message.to_dict(),
            },
            status=HTTP_OK if relayed.repeated else HTTP_CREATED,
        )

    async def channel_pending(self, request: Request) -> HTTPResponse:
        await self._check_signature(request)
        conversation_id = clean_text(request.args.get("conversation_id") or "")
        if not conversation_id:
            raise ApiError(
                HTTP_BAD_REQUEST, "missing query parameter", "conversation_id"
            )
        raw_after = request.args.get("after_id")
        after_id = message_id("after_id", raw_after, MAX_ID)
        messages = await self.service.store.pending_agent_messages(
            conversation_id, after_id
        )
        ticket = await self.service.store.active_ticket_for_conversation(
            conversation_id
        )
        return json_response(
            {
                "messages": [message.to_dict() for message in messages],
                "handover_active": ticket is not None,
            }
        )

    async def channel_callback(self, request: Request) -> HTTPResponse:
        await self._check_signature(request)
        body = _body(request)
        conversation_id = _text(body, "conversation_id", MAX_CONVERSATION_ID_CHARS)
        contact = _text(body, "contact")
        when = _field(body, "when", str, required=False) or ""
        due_at = _field(body, "due_at", str, required=False)
        payload = _field(body, "payload", dict, required=False) or {}
        view = await self.service.schedule_callback(
            conversation_id, when, contact, payload, due_at
        )
        return json_response(
            view.to_dict(), status=HTTP_CREATED if view.created else HTTP_OK
        )

    async def channel_left_message(self, request: Request) -> HTTPResponse:
        await self._check_signature(request)
        body = _body(request)
        view = await self.service.leave_message(
            _text(body, "conversation_id"),
            _text(body, "email"),
            _field(body, "message", str, required=False),
            _field(body, "payload", dict, required=False) or {},
            _client_message_id(body),
        )
        return json_response(view.to_dict(), status=HTTP_OK)

    async def channel_csat(self, request: Request) -> HTTPResponse:
        await self._check_signature(request)
        body = _body(request)
        conversation_id = _text(body, "conversation_id", MAX_CONVERSATION_ID_CHARS)
        ticket = await self.service.record_csat(
            conversation_id, _field(body, "score", int)
        )
        if ticket is None:
            raise ApiError(
                HTTP_NOT_FOUND,
                f"conversation '{conversation_id}' has no resolved ticket to rate",
                "conversation_id",
            )
        return json_response(csat_answer(ticket))

    # --- The signature. -----------------------------------------------------------

    async def _check_signature(self, request: Request) -> None:
        if self.verifier is None:
            raise ApiError(
                HTTP_FORBIDDEN,
                "channel endpoints are off: set shared_secret in the inbox config",
            )
        try:
            signed = self.verifier.verify(
                request.method,
                request_target(request.path, request.query_string),
                request.body or b"",
                request.headers,
            )
        except SignatureError as error:
            raise ApiError(HTTP_UNAUTHORIZED, str(error), SIGNATURE_HEADER) from error
        # This process's cache refused a replay to it; the database refuses a
        # replay to any replica sharing it.
        expires = datetime.fromtimestamp(signed.expires, timezone.utc)
        if not await self.service.store.use_once(
            USED_SIGNATURE_NONCE, signed.nonce, expires
        ):
            raise ApiError(
                HTTP_UNAUTHORIZED,
                f"{NONCE_HEADER} was already used (on this or another inbox "
                "replica): a replayed request is refused",
                SIGNATURE_HEADER,
            )
