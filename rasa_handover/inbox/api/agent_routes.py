"""The agent page's endpoints: who am I, presence, the queue, and tickets.

Every one needs `Authorization: Bearer <agent token>` (`_ApiBase._agent`). What
an agent may see and do is the service's decision (`InboxService.authorise`): a
ticket they may not see is a 404, as an unknown one is. `GET /api/report` is
for supervisors only (anyone else gets a 404 too).
"""

from typing import Any, Dict, Mapping

from sanic import Request
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from rasa_handover.inbox.access import ROLE_AGENT, ROLE_SUPERVISOR
from rasa_handover.inbox.api.base import _ApiBase
from rasa_handover.inbox.api.request_parsing import (
    _body,
    _client_message_id,
    _field,
    _text,
    _ticket_id,
)
from rasa_handover.inbox.api.responses import (
    HTTP_BAD_REQUEST,
    HTTP_CREATED,
    HTTP_NOT_FOUND,
    ApiError,
)
from rasa_handover.inbox.limits import MAX_NOTE_CHARS
from rasa_handover.inbox.models import Ticket
from rasa_handover.inbox.outcome_intents import check_outcome_intent, intent_choices


class _AgentRoutes(_ApiBase):
    """`/api/me`, `/api/report`, `/api/agents/me/...`, the queue and tickets."""

    # --- Agent endpoints. ---------------------------------------------------------

    async def me(self, request: Request) -> HTTPResponse:
        agent = await self._agent(request)
        role = ROLE_SUPERVISOR if self.service.is_supervisor(agent) else ROLE_AGENT
        return json_response({"agent": {**agent.to_dict(), "role": role}})

    async def report(self, request: Request) -> HTTPResponse:
        """Supervisors: `rasa-handover report` of this inbox, generated now.

        The figures (as the command's JSON) and the self-contained HTML page
        (the page opens it in a new tab). Anyone else: 404, as for a ticket
        they may not see.
        """
        agent = await self._agent(request)
        if not self.service.is_supervisor(agent):
            raise ApiError(HTTP_NOT_FOUND, "no such resource", "path")
        from datetime import datetime, timezone

        from rasa_handover.feedback.report import figures
        from rasa_handover.feedback.report_html import render

        records = await self.service.store.outcomes(
            labelled_only=False, resolved_only=False
        )
        document = figures(records, now=datetime.now(timezone.utc))
        return json_response({"report": document, "html": render(document)})

    async def availability(self, request: Request) -> HTTPResponse:
        agent = await self._agent(request)
        online = _field(_body(request), "online", bool)
        updated = await self.service.set_availability(agent, online)
        return json_response({"agent": updated.to_dict()})

    async def heartbeat(self, request: Request) -> HTTPResponse:
        # For clients without the event stream; the agent page needs none.
        agent = await self._agent(request)
        online = await self.service.heartbeat(agent)
        return json_response(
            {"online": online, "next_seconds": self.service.presence.heartbeat_seconds}
        )

    async def queue(self, request: Request) -> HTTPResponse:
        agent = await self._agent(request)
        tickets, callbacks = await self.service.queue_for(agent)
        names = await self._agent_names()
        return json_response(
            {
                "tickets": [_ticket_json(ticket, names) for ticket in tickets],
                "callbacks": [_ticket_json(ticket, names) for ticket in callbacks],
            }
        )

    async def callbacks(self, request: Request) -> HTTPResponse:
        # The agent's teams' callback requests, the soonest due first; marking
        # one done is resolving it (POST /api/tickets/<id>/resolve, an outcome).
        agent = await self._agent(request)
        _, callbacks = await self.service.queue_for(agent)
        names = await self._agent_names()
        return json_response(
            {"callbacks": [_ticket_json(ticket, names) for ticket in callbacks]}
        )

    async def ticket(self, request: Request, ticket_id: str) -> HTTPResponse:
        agent = await self._agent(request)
        ticket, messages, events = await self.service.ticket_details(
            _ticket_id(ticket_id), agent
        )
        return json_response(
            {
                "ticket": _ticket_json(ticket, await self._agent_names()),
                "payload": ticket.payload,
                # What the resolve step offers as the customer's real intent.
                "intent_choices": intent_choices(ticket.payload, self.config.intents),
                "messages": [message.to_dict() for message in messages],
                "events": [event.to_dict() for event in events],
            }
        )

    async def claim(self, request: Request, ticket_id: str) -> HTTPResponse:
        agent = await self._agent(request)
        ticket = await self.service.claim(_ticket_id(ticket_id), agent)
        return json_response(
            {"ticket": _ticket_json(ticket, await self._agent_names())}
        )

    async def reply(self, request: Request, ticket_id: str) -> HTTPResponse:
        agent = await self._agent(request)
        number = _ticket_id(ticket_id)
        body = _body(request)
        message = await self.service.agent_reply(
            number, agent, _text(body, "text"), _client_message_id(body)
        )
        return json_response({"message": message.to_dict()}, status=HTTP_CREATED)

    async def resolve(self, request: Request, ticket_id: str) -> HTTPResponse:
        agent = await self._agent(request)
        number = _ticket_id(ticket_id)
        body = _body(request)
        # No outcome: resolved without a label (tuning ignores it).
        outcome = _field(body, "outcome", str, required=False)
        note = _field(body, "note", str, required=False)
        if note is not None and len(note) > MAX_NOTE_CHARS:
            raise ApiError(
                HTTP_BAD_REQUEST,
                f"field 'note' is longer than {MAX_NOTE_CHARS} characters",
                "note",
            )
        intent = _field(body, "intent", str, required=False)
        if intent is not None:
            ticket, _ = await self.service.authorise(number, agent)
            intent = check_outcome_intent(intent, ticket.payload, self.config.intents)
        ticket = await self.service.resolve(number, agent, outcome, note, intent)
        return json_response(
            {"ticket": _ticket_json(ticket, await self._agent_names())}
        )

    async def transfer(self, request: Request, ticket_id: str) -> HTTPResponse:
        agent = await self._agent(request)
        number = _ticket_id(ticket_id)
        team = _text(_body(request), "team")
        view = await self.service.transfer(number, team, agent)
        ticket = await self.service.store.require_ticket(number)
        return json_response(
            {
                "ticket": _ticket_json(ticket, await self._agent_names()),
                "routing": view.to_dict(),
            }
        )

    # --- Helpers. -----------------------------------------------------------------

    async def _agent_names(self) -> Dict[str, str]:
        return {
            agent.id: agent.name for agent in await self.service.store.list_agents()
        }


def _ticket_json(ticket: Ticket, names: Mapping[str, str]) -> Dict[str, Any]:
    data = ticket.to_dict()
    data["agent_name"] = names.get(ticket.agent_id or "")
    return data
