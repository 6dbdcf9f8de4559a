"""The inbox's configuration: agents, business hours, routing, presence, secret, db.

Loaded from `inbox.yml` (see docs/inbox.md) or built in code. Secrets can be read
from environment variables (`token_env`, `shared_secret_env`) so the file can be
committed. Nothing here imports Sanic or SQLAlchemy.
"""

import logging
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import yaml

from rasa_handover.inbox.access import ROLE_AGENT, ROLE_SUPERVISOR, ROLES
from rasa_handover.inbox.contract import (
    DEFAULT_TEAM,
)
from rasa_handover.inbox.email_delivery import EmailSettings, EmailSettingsError
from rasa_handover.inbox.models import (
    AGENT_TIERS,
    TIER_STANDARD,
)
from rasa_handover.inbox.router import (
    ANY_TEAM,
    DEFAULT_CONTINUITY_WINDOW,
    BusinessHours,
    FallbackChains,
)
from rasa_handover.inbox.signing import SigningKeys

DEFAULT_DB_URL = "sqlite:///handover.db"
DEFAULT_URL_PREFIX = "/webhooks/handover/inbox"
ALTERNATIVE_CALLBACK = "callback"
ALTERNATIVE_EMAIL = "email"
# What a customer without an agent is offered instead of waiting silently
# (`email` only with `email:` settings: nothing else would send the reply).
DEFAULT_ALTERNATIVES: Tuple[str, ...] = (ALTERNATIVE_CALLBACK, ALTERNATIVE_EMAIL)
DEFAULT_CAPACITY = 3
# Dispatch waiting tickets and re-estimate waits this often (0 switches it off).
DEFAULT_HOUSEKEEPING_SECONDS = 30.0
# An agent whose page (event stream or heartbeat) has been silent this long is
# away: their unaccepted tickets go back to the queue. 0 switches presence off
# (agents stay online until they go offline themselves).
DEFAULT_PRESENCE_GRACE_SECONDS = 45.0
# A waiting or assigned (not accepted) ticket without a message, an assignment
# or a pickup for this long expires: the customer is told and the agent's
# capacity freed. 0 switches expiry off.
DEFAULT_EXPIRE_IDLE_MINUTES = 60.0
# A standalone inbox's delivery of a channel's events (`notifier`): the
# per-request timeout, and how long a replica's right to deliver a channel's
# events lasts unless renewed (how long a dead replica's channels wait). The
# lease must outlast a request by more than the margin: a delivery in flight
# never outlives it (another replica would deliver meanwhile).
DELIVERY_REQUEST_TIMEOUT_SECONDS = 10.0
DELIVERY_LEASE_MARGIN_SECONDS = 2.0
DEFAULT_DELIVERY_LEASE_SECONDS = 20.0
SECONDS_PER_MINUTE = 60

# The shortest agent token accepted when an inbox starts: a token is the only
# thing between a stranger and the customers' conversations. 32 characters of
# `secrets.token_urlsafe` carry 192 bits; guessing is hopeless even without
# the failed sign-in limit.
MIN_TOKEN_CHARS = 32
# Set to 1 by the demo (example_bot/demo.py) only: short, memorable tokens are
# accepted, with a warning. Never set it where real customers chat.
DEMO_ENV = "RASA_HANDOVER_DEMO"
TOKEN_COMMAND = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"

_SLUG = re.compile(r"[^a-z0-9]+")

logger = logging.getLogger(__name__)


class InboxConfigError(ValueError):
    """The inbox configuration is invalid; the message names the key."""


@dataclass(frozen=True)
class AgentConfig:
    """One agent as configured.

    Attributes:
        name: Shown to customers.
        token: The agent's API token (keep it secret; stored hashed).
        teams: Teams the agent works.
        languages: Languages the agent speaks.
        tier: `standard` or `senior`.
        capacity: Tickets at once.
        id: Stable id (default: derived from the name, "Maya Lee" -> "maya-lee").
        role: `agent` (their teams' tickets) or `supervisor` (every ticket).

    """

    name: str
    token: str
    teams: Tuple[str, ...] = (DEFAULT_TEAM,)
    languages: Tuple[str, ...] = ("en",)
    tier: str = TIER_STANDARD
    capacity: int = DEFAULT_CAPACITY
    id: str = ""
    role: str = ROLE_AGENT

    @property
    def agent_id(self) -> str:
        """The explicit id, or one derived from the name."""
        return self.id or _SLUG.sub("-", self.name.lower()).strip("-")

    def profile(self) -> Dict[str, Any]:
        """Keyword arguments for `InboxStore.upsert_agent`."""
        return {
            "agent_id": self.agent_id,
            "name": self.name,
            "token": self.token,
            "teams": self.teams,
            "languages": self.languages,
            "tier": self.tier,
            "capacity": self.capacity,
        }


@dataclass(frozen=True)
class InboxConfig:
    """Everything the inbox app needs.

    Attributes:
        agents: Agents seeded on startup.
        hours: Business hours.
        shared_secret: HMAC secret for channel <-> inbox calls, from which
            each direction's key is derived (`signing.SigningKeys`); the
            channel endpoints are disabled without any secret.
        channel_to_inbox_secret: The key of the channel's calls (instead of
            the one derived from `shared_secret`).
        inbox_to_channel_secret: The key of the inbox's event deliveries.
        db_url: Database URL (`sqlite:///handover.db` or `postgresql://...`).
        url_prefix: Where the API is mounted.
        continuity_window: How recently an agent must have helped a customer to
            get their next handover first.
        alternatives: What customers without an agent are offered
            (`email` only when `email` is set).
        email: How agents' replies to messages left for them are e-mailed
            (None: customers are not offered to leave a message).
        housekeeping_seconds: Interval of the background dispatch / wait refresh
            (0 disables it).
        routing: The teams' fallback chains (`routing:`).
        presence_grace_seconds: How long an online agent's page may be silent
            before they are away (0: presence off).
        expire_idle_minutes: How long a waiting or assigned ticket may stay
            idle before it expires (0: never).
        intents: The domain's intents, offered (and required) when an agent
            corrects the customer's intent on resolving (empty: the
            conversation's intents are offered and any intent name is taken).
        delivery_lease_seconds: How long a replica's right to deliver a
            channel's events lasts unless renewed (see
            `DEFAULT_DELIVERY_LEASE_SECONDS`).

    """

    agents: Tuple[AgentConfig, ...] = ()
    hours: BusinessHours = field(default_factory=BusinessHours)
    shared_secret: Optional[str] = None
    channel_to_inbox_secret: Optional[str] = None
    inbox_to_channel_secret: Optional[str] = None
    db_url: str = DEFAULT_DB_URL
    url_prefix: str = DEFAULT_URL_PREFIX
    continuity_window: timedelta = DEFAULT_CONTINUITY_WINDOW
    alternatives: Tuple[str, ...] = DEFAULT_ALTERNATIVES
    housekeeping_seconds: float = DEFAULT_HOUSEKEEPING_SECONDS
    email: Optional[EmailSettings] = None
    routing: FallbackChains = field(default_factory=FallbackChains)
    presence_grace_seconds: float = DEFAULT_PRESENCE_GRACE_SECONDS
    expire_idle_minutes: float = DEFAULT_EXPIRE_IDLE_MINUTES
    intents: Tuple[str, ...] = ()
    delivery_lease_seconds: float = DEFAULT_DELIVERY_LEASE_SECONDS

    @property
    def expire_idle_after(self) -> Optional[timedelta]:
        """The idle time after which tickets expire, or None (never)."""
        if self.expire_idle_minutes <= 0:
            return None
        return timedelta(minutes=self.expire_idle_minutes)

    @property
    def signing_keys(self) -> Optional[SigningKeys]:
        """The two directions' HMAC keys, or None (channel endpoints off)."""
        try:
            return SigningKeys.from_settings(
                self.shared_secret,
                self.channel_to_inbox_secret,
                self.inbox_to_channel_secret,
            )
        except ValueError as error:
            raise InboxConfigError(str(error)) from error

    @property
    def presence_grace(self) -> Optional[timedelta]:
        """The grace period, or None when presence is off."""
        if self.presence_grace_seconds <= 0:
            return None
        return timedelta(seconds=self.presence_grace_seconds)

    @property
    def supervisor_ids(self) -> Tuple[str, ...]:
        """The ids of the agents with `role: supervisor`."""
        return tuple(a.agent_id for a in self.agents if a.role == ROLE_SUPERVISOR)

    def agent_profiles(self) -> List[Dict[str, Any]]:
        """The agents as `InboxStore.upsert_agent` keyword arguments."""
        return [agent.profile() for agent in self.agents]

    @classmethod
    def from_yaml(cls, path: Union[str, Path]) -> "InboxConfig":
        """Reads `inbox.yml`.

        Args:
            path: The file.

        Returns:
            The configuration.

        Raises:
            InboxConfigError: unreadable file or invalid content (naming the key).

        """
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise InboxConfigError(f"cannot read {path}: {error}") from error
        try:
            return cls.from_dict(data or {})
        except InboxConfigError as error:
            raise InboxConfigError(f"{path}: {error}") from error

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "InboxConfig":
        """Builds the configuration from parsed YAML/JSON.

        Args:
            data: See docs/inbox.md for the keys.

        Returns:
            The configuration.

        Raises:
            InboxConfigError: naming the offending key.

        """
        if not isinstance(data, Mapping):
            raise InboxConfigError("the inbox configuration must be a mapping")
        raw_agents = data.get("agents") or []
        if not isinstance(raw_agents, list):
            raise InboxConfigError("agents must be a list")
        agents = tuple(
            _agent(entry, f"agents[{index}]") for index, entry in enumerate(raw_agents)
        )
        seen: Dict[str, int] = {}
        for index, agent in enumerate(agents):
            if agent.agent_id in seen:
                raise InboxConfigError(
                    f"agents[{index}] has the same id '{agent.agent_id}' as "
                    f"agents[{seen[agent.agent_id]}]; give one an explicit id"
                )
            seen[agent.agent_id] = index
        tokens = [agent.token for agent in agents]
        if len(set(tokens)) != len(tokens):
            raise InboxConfigError(
                "two agents share a token; every agent needs its own"
            )
        try:
            hours = BusinessHours.from_dict(data.get("business_hours"))
            routing = FallbackChains.from_dict(
                data.get("routing"), {t for agent in agents for t in agent.teams}
            )
        except ValueError as error:
            raise InboxConfigError(str(error)) from error
        window = data.get("continuity_window_minutes")
        email = _email(data.get("email"))
        alternatives = _alternatives(data, email)
        config = cls(
            agents=agents,
            hours=hours,
            shared_secret=_secret(data, "shared_secret"),
            channel_to_inbox_secret=_secret(data, "channel_to_inbox_secret"),
            inbox_to_channel_secret=_secret(data, "inbox_to_channel_secret"),
            db_url=str(data.get("db") or data.get("db_url") or DEFAULT_DB_URL),
            url_prefix=str(data.get("url_prefix") or DEFAULT_URL_PREFIX),
            continuity_window=(
                timedelta(minutes=_number(window, "continuity_window_minutes"))
                if window is not None
                else DEFAULT_CONTINUITY_WINDOW
            ),
            alternatives=alternatives,
            email=email,
            housekeeping_seconds=_number(
                data.get("housekeeping_seconds", DEFAULT_HOUSEKEEPING_SECONDS),
                "housekeeping_seconds",
            ),
            routing=routing,
            presence_grace_seconds=_number(
                data.get("presence_grace_seconds", DEFAULT_PRESENCE_GRACE_SECONDS),
                "presence_grace_seconds",
            ),
            expire_idle_minutes=_number(
                data.get("expire_idle_minutes", DEFAULT_EXPIRE_IDLE_MINUTES),
                "expire_idle_minutes",
            ),
            intents=(
                _strings(data["intents"], "intents")
                if data.get("intents") is not None
                else ()
            ),
            delivery_lease_seconds=_lease_seconds(
                data.get("delivery_lease_seconds", DEFAULT_DELIVERY_LEASE_SECONDS)
            ),
        )
        config.signing_keys  # noqa: B018 - refuses one key without the other
        return config


def check_agent_tokens(
    config: InboxConfig, environ: Optional[Mapping[str, str]] = None
) -> None:
    """Refuses agent tokens shorter than `MIN_TOKEN_CHARS` (outside the demo).

    Called where an inbox starts (`rasa-handover inbox`, the handover channel's
    embedded inbox), not when a configuration is merely read.

    Args:
        config: The inbox configuration.
        environ: The environment (default `os.environ`); `DEMO_ENV=1` accepts
            short tokens with a warning.

    Raises:
        InboxConfigError: naming the agents, why, and how to generate a token.

    """
    environ = os.environ if environ is None else environ
    short = [
        f"agents[{index}] ({agent.name})"
        for index, agent in enumerate(config.agents)
        if len(agent.token) < MIN_TOKEN_CHARS
    ]
    if not short:
        return
    if environ.get(DEMO_ENV) == "1":
        logger.warning(
            "%s=1 (the demo): accepting short agent tokens for %s; never run "
            "real customers like this.",
            DEMO_ENV,
            ", ".join(short),
        )
        return
    raise InboxConfigError(
        f"{', '.join(short)}: the agent token is shorter than {MIN_TOKEN_CHARS} "
        "characters, short enough to be guessed, and a token opens every "
        "conversation the agent may see. Generate one per agent with "
        f"{TOKEN_COMMAND} and put it in `token:` (or in an environment variable "
        f"named by `token_env:`). Only for a local demo: set {DEMO_ENV}=1."
    )


def _email(data: Any) -> Optional[EmailSettings]:
    if data is None:
        return None
    try:
        return EmailSettings.from_dict(data)
    except EmailSettingsError as error:
        raise InboxConfigError(str(error)) from error


def _alternatives(
    data: Mapping[str, Any], email: Optional[EmailSettings]
) -> Tuple[str, ...]:
    """What customers are offered instead of waiting, as far as it can happen."""
    if "alternatives" not in data:
        return tuple(
            item
            for item in DEFAULT_ALTERNATIVES
            if item != ALTERNATIVE_EMAIL or email is not None
        )
    alternatives = data.get("alternatives") or []
    if not isinstance(alternatives, list):
        raise InboxConfigError("alternatives must be a list, e.g. [callback, email]")
    unknown = sorted(set(map(str, alternatives)) - set(DEFAULT_ALTERNATIVES))
    if unknown:
        raise InboxConfigError(
            f"alternatives: unknown {unknown}; use {list(DEFAULT_ALTERNATIVES)} "
            f"or [] to offer nothing"
        )
    if ALTERNATIVE_EMAIL in alternatives and email is None:
        raise InboxConfigError(
            "alternatives lists 'email' but there are no email: settings, so "
            "nothing would send the reply; add email: (host, from, ...; see "
            "docs/inbox.md) or remove 'email'"
        )
    return tuple(str(item) for item in alternatives)


def _agent(entry: Any, where: str) -> AgentConfig:
    if not isinstance(entry, Mapping):
        raise InboxConfigError(f"{where} must be a mapping with name, token, teams ...")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InboxConfigError(f"{where}.name is required")
    token = _secret(entry, "token", where)
    if not token:
        raise InboxConfigError(f"{where}.token (or token_env) is required")
    tier = entry.get("tier", TIER_STANDARD)
    if tier not in AGENT_TIERS:
        raise InboxConfigError(f"{where}.tier must be one of {', '.join(AGENT_TIERS)}")
    capacity = entry.get("capacity", DEFAULT_CAPACITY)
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0:
        raise InboxConfigError(f"{where}.capacity must be a whole number >= 0")
    role = entry.get("role", ROLE_AGENT)
    if role not in ROLES:
        raise InboxConfigError(
            f"{where}.role must be one of {', '.join(ROLES)}, got {role!r}"
        )
    teams = _strings(entry.get("teams", [DEFAULT_TEAM]), f"{where}.teams")
    if ANY_TEAM in teams:
        raise InboxConfigError(
            f"{where}.teams: '{ANY_TEAM}' is reserved (the fallback step that means "
            "every agent); rename the team"
        )
    return AgentConfig(
        name=name.strip(),
        token=token,
        teams=teams,
        languages=_strings(entry.get("languages", ["en"]), f"{where}.languages"),
        tier=tier,
        capacity=capacity,
        id=str(entry.get("id") or ""),
        role=role,
    )


def _secret(data: Mapping[str, Any], key: str, where: str = "") -> Optional[str]:
    """`key` itself, or the environment variable named by `<key>_env`."""
    prefix = f"{where}." if where else ""
    variable = data.get(f"{key}_env")
    if variable:
        value = os.environ.get(str(variable))
        if not value:
            raise InboxConfigError(
                f"{prefix}{key}_env names ${variable}, which is not set"
            )
        return value
    value = data.get(key)
    if value is None:
        return None
    return str(value)


def _strings(value: Any, where: str) -> Tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise InboxConfigError(f"{where} must be a non-empty list")
    return tuple(str(item) for item in value)


def _lease_seconds(value: Any) -> float:
    """`delivery_lease_seconds`: long enough for a delivery in flight."""
    shortest = DELIVERY_REQUEST_TIMEOUT_SECONDS + DELIVERY_LEASE_MARGIN_SECONDS
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        value = -1
    if not shortest < value < float("inf"):
        raise InboxConfigError(
            f"delivery_lease_seconds must be a number of seconds above "
            f"{shortest:g} (a delivery's timeout, {DELIVERY_REQUEST_TIMEOUT_SECONDS:g}"
            f" s, and a margin of {DELIVERY_LEASE_MARGIN_SECONDS:g} s: a delivery "
            f"in flight must not outlive the lease); the default is "
            f"{DEFAULT_DELIVERY_LEASE_SECONDS:g}"
        )
    return float(value)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise InboxConfigError(f"{where} must be a number >= 0")
    return float(value)
