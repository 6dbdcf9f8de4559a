"""The inbox: the human side of a handover.

Tickets, agents, routing, wait estimates and an HTTP API. The handover channel
mounts it inside the Rasa server (SQLite `handover.db` by default), or it runs
on its own (`rasa-handover inbox --db postgresql://...`) for several replicas.

The pure decision modules (`router`, `wait_estimate`, `signing`, `models`) import
nothing from Sanic, SQLAlchemy or Rasa. The store, service and API load on first
use, so importing this package stays cheap.

```python
from rasa_handover.inbox import InboxConfig, InboxService, InboxStore

store = InboxStore("sqlite:///handover.db")
service = InboxService(store)
await service.start(InboxConfig.from_yaml("inbox.yml").agent_profiles())
view = await service.request_handover("conversation-1", 1, payload)
```
"""

from typing import TYPE_CHECKING, Dict, Tuple

from rasa_handover._lazy import lazy_getattr
from rasa_handover.inbox.contract import (
    EVENT_TYPES,
)
from rasa_handover.inbox.models import (
    OUTCOME_NEEDED,
    OUTCOME_NOT_NEEDED,
    OUTCOME_TOO_LATE,
    OUTCOMES,
    Agent,
    LifecycleEvent,
    OutcomeRecord,
    Ticket,
    TicketMessage,
)
from rasa_handover.inbox.router import (
    BusinessHours,
    RoutingDecision,
    RoutingRequest,
    route,
)
from rasa_handover.inbox.signing import SignatureError, SigningKeys, Verifier, sign
from rasa_handover.inbox.wait_estimate import (
    WaitEstimate,
    estimate_wait,
    format_wait,
    should_update_customer,
)

if TYPE_CHECKING:
    from rasa_handover.inbox.api import add_inbox_routes, create_app, inbox_blueprint
    from rasa_handover.inbox.config import AgentConfig, InboxConfig, InboxConfigError
    from rasa_handover.inbox.errors import (
        ConflictError,
        InboxError,
        NotFoundError,
        ValidationError,
    )
    from rasa_handover.inbox.notifier import WebhookNotifier
    from rasa_handover.inbox.service import InboxService
    from rasa_handover.inbox.store import InboxStore
    from rasa_handover.inbox.views import TicketView

# Public name -> (module, attribute), imported on first access: the store pulls
# in SQLAlchemy and the API Sanic, which the pure callers do not need.
_LAZY: Dict[str, Tuple[str, str]] = {
    "AgentConfig": ("rasa_handover.inbox.config", "AgentConfig"),
    "InboxConfig": ("rasa_handover.inbox.config", "InboxConfig"),
    "InboxConfigError": ("rasa_handover.inbox.config", "InboxConfigError"),
    "InboxError": ("rasa_handover.inbox.errors", "InboxError"),
    "ConflictError": ("rasa_handover.inbox.errors", "ConflictError"),
    "NotFoundError": ("rasa_handover.inbox.errors", "NotFoundError"),
    "ValidationError": ("rasa_handover.inbox.errors", "ValidationError"),
    "InboxStore": ("rasa_handover.inbox.store", "InboxStore"),
    "InboxService": ("rasa_handover.inbox.service", "InboxService"),
    "TicketView": ("rasa_handover.inbox.views", "TicketView"),
    "WebhookNotifier": ("rasa_handover.inbox.notifier", "WebhookNotifier"),
    "add_inbox_routes": ("rasa_handover.inbox.api", "add_inbox_routes"),
    "create_app": ("rasa_handover.inbox.api", "create_app"),
    "inbox_blueprint": ("rasa_handover.inbox.api", "inbox_blueprint"),
}


__getattr__ = lazy_getattr(__name__, globals(), _LAZY)


__all__ = [
    "EVENT_TYPES",
    "OUTCOMES",
    "OUTCOME_NEEDED",
    "OUTCOME_NOT_NEEDED",
    "OUTCOME_TOO_LATE",
    "Agent",
    "AgentConfig",
    "BusinessHours",
    "ConflictError",
    "InboxConfig",
    "InboxConfigError",
    "InboxError",
    "InboxService",
    "InboxStore",
    "LifecycleEvent",
    "NotFoundError",
    "OutcomeRecord",
    "RoutingDecision",
    "RoutingRequest",
    "SignatureError",
    "SigningKeys",
    "Ticket",
    "TicketMessage",
    "TicketView",
    "ValidationError",
    "Verifier",
    "WaitEstimate",
    "WebhookNotifier",
    "add_inbox_routes",
    "create_app",
    "estimate_wait",
    "format_wait",
    "inbox_blueprint",
    "route",
    "should_update_customer",
    "sign",
]
