"""Who gets a handover: business hours and the routing rules, as pure functions.

`route()` applies, in order:

1. **business hours**: closed -> no agent (`outside_hours`);
2. **continuity**: the agent who last helped this customer, if online, with
   capacity, and within the continuity window;
3. **skill, then the fallback chain**: agents of the ticket's team (the
   intent's `handover_team`); when none of them is available (online with
   capacity), the teams of the team's fallback chain in order, where the step
   `any` means every agent (`FallbackChains`, `routing:` in inbox.yml);
4. within the first step that has an available agent: **tier** (high-value
   customers go to `senior` agents), **language** (agents who speak the
   customer's language), **least loaded** (the lowest `active_tickets /
   capacity`, ties broken by name).

Within a step the router relaxes tier and language one at a time, language
first (a colleague with a translator beats waiting), then tier, and says so in
`RoutingDecision.notes`. The ticket keeps its team whoever takes it, so a
specialist can take it over and the agent can transfer it;
`RoutingDecision.routed_via` names the step that found the agent. When no
configured agent works the team or any step of its chain, `DEFAULT_TEAM` is
tried last, so no ticket can wait where nobody may take it.

Nothing here imports Sanic, SQLAlchemy or Rasa.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Any, Collection, Dict, List, Mapping, Optional, Sequence, Tuple

from rasa_handover.inbox.contract import (
    DEFAULT_TEAM,
    NO_AGENT_ALL_BUSY,
    NO_AGENT_NOBODY_ONLINE,
    NO_AGENT_OUTSIDE_HOURS,
)
from rasa_handover.inbox.models import TIER_SENIOR, Agent
from rasa_handover.time_zones import time_zone

# --- Which rule picked the agent (RoutingDecision.rule). ---------------------------
RULE_CONTINUITY = "continuity"
# Tier, team and language all matched.
RULE_EXACT = "exact"
RULE_WITHOUT_LANGUAGE = "without_language"
RULE_WITHOUT_TIER = "without_tier"
# Neither tier nor language could be honoured; only the team matched.
RULE_TEAM_ONLY = "team_only"

# How long after a customer's last human contact the same agent is preferred.
DEFAULT_CONTINUITY_WINDOW = timedelta(hours=24)

# The step of a fallback chain that means "any agent" (a reserved team name).
ANY_TEAM = "any"
# The chain of a team that `routing.fallback` does not list: the generalists,
# then anyone online, so a customer never hears "nobody is online" while an
# agent who may take the ticket is.
DEFAULT_FALLBACK: Tuple[str, ...] = (DEFAULT_TEAM, ANY_TEAM)

WEEKDAY_NAMES: Tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAYS_PER_WEEK = len(WEEKDAY_NAMES)
_HOURS_PATTERN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
# "24:00" is how people write "until midnight"; `time` cannot represent it.
_MIDNIGHT_HOUR = 24


@dataclass(frozen=True)
class BusinessHours:
    """When agents work, in a named timezone.

    Attributes:
        timezone: IANA timezone name, e.g. "Europe/Berlin".
        weekly: Weekday (0 = Monday) -> (open, close) local times. A weekday that
            is missing is closed all day. A close time at or before the open time
            means the shift runs past midnight (e.g. 22:00-06:00). None means
            always open (the default: the inbox never claims to be closed unless
            told when it is open).

    """

    timezone: str = "UTC"
    weekly: Optional[Mapping[int, Tuple[time, time]]] = None

    def __post_init__(self) -> None:
        time_zone(self.timezone)  # Fail at configuration time, not at the first ticket.
        for weekday in self.weekly or {}:
            if not 0 <= weekday < DAYS_PER_WEEK:
                raise ValueError(f"weekday must be 0 (Monday) to 6, got {weekday}")

    @property
    def always_open(self) -> bool:
        """Whether no opening hours are configured."""
        return self.weekly is None

    def is_open(self, now: datetime) -> bool:
        """Whether agents are working at `now` (a naive `now` is taken as UTC).

        Args:
            now: The moment to check.

        Returns:
            True if `now` falls into a shift.

        """
        if self.weekly is None:
            return True
        local = _as_utc(now).astimezone(time_zone(self.timezone))
        today, clock = local.weekday(), local.time().replace(tzinfo=None)
        window = self.weekly.get(today)
        if window is not None:
            opens, closes = window
            if opens < closes and opens <= clock < closes:
                return True
            if closes <= opens and clock >= opens:
                return True
        # Yesterday's overnight shift may still be running.
        yesterday = self.weekly.get((today - 1) % DAYS_PER_WEEK)
        if yesterday is not None:
            opens, closes = yesterday
            if closes <= opens and clock < closes:
                return True
        return False

    def next_opening(self, now: datetime) -> Optional[datetime]:
        """The next moment (UTC) the inbox opens, for "we open at 9:00" messages.

        Args:
            now: The moment to look from.

        Returns:
            `now` itself if open, the next opening time, or None if no weekday
            has hours at all.

        """
        if self.is_open(now):
            return _as_utc(now)
        if not self.weekly:
            return None
        zone = time_zone(self.timezone)
        local = _as_utc(now).astimezone(zone)
        # Look one full week ahead plus today: every configured weekday recurs.
        for offset in range(DAYS_PER_WEEK + 1):
            day = (local + timedelta(days=offset)).date()
            window = self.weekly.get(day.weekday())
            if window is None:
                continue
            opening = datetime.combine(day, window[0]).replace(tzinfo=zone)
            if opening > local:
                return opening.astimezone(timezone.utc)
        return None

    @classmethod
    def from_dict(cls, data: Optional[Mapping[str, Any]]) -> "BusinessHours":
        """Builds business hours from configuration.

        Args:
            data: `{"timezone": "Europe/Berlin", "weekdays": {"mon": "09:00-17:00",
                ...}}`. Weekdays are `mon` ... `sun` (or 0-6); a value of null or
                "closed" closes the day. None or `{}` means always open.

        Returns:
            The business hours.

        Raises:
            ValueError: naming the offending key when the data is malformed.

        """
        if not data:
            return cls()
        zone = str(data.get("timezone", "UTC"))
        days = data.get("weekdays")
        if days is None:
            return cls(timezone=zone)
        if not isinstance(days, Mapping):
            raise ValueError(
                "business_hours.weekdays must map weekday -> 'HH:MM-HH:MM'"
            )
        weekly: Dict[int, Tuple[time, time]] = {}
        for key, value in days.items():
            weekday = _parse_weekday(key)
            if value is None or str(value).strip().lower() == "closed":
                continue
            weekly[weekday] = _parse_window(str(value), key)
        return cls(timezone=zone, weekly=weekly)


@dataclass(frozen=True)
class FallbackChains:
    """Where a team's tickets go when nobody of the team is available.

    A chain is the complete, ordered list of steps after the team itself; it is
    not followed transitively (`technical: [general]` does not continue with
    general's chain), so chains cannot loop. A step is a team or `any`.

    Attributes:
        by_team: Team -> its chain (`routing.fallback`); `[]` keeps a team's
            tickets with the team.
        default: The chain of every team not listed (`routing.default_fallback`).

    """

    by_team: Mapping[str, Tuple[str, ...]] = field(default_factory=dict)
    default: Tuple[str, ...] = DEFAULT_FALLBACK

    def chain(self, team: str) -> Tuple[str, ...]:
        """The steps tried after `team` itself."""
        return tuple(self.by_team.get(team, self.default))

    @classmethod
    def from_dict(
        cls, data: Optional[Mapping[str, Any]], known_teams: Collection[str]
    ) -> "FallbackChains":
        """Reads the `routing` section of inbox.yml.

        Args:
            data: `{"fallback": {"technical": ["general", "any"]},
                "default_fallback": ["general", "any"]}`; None means defaults.
            known_teams: Teams some configured agent works (steps must be one
                of them, or `any`).

        Returns:
            The chains.

        Raises:
            ValueError: naming the offending key, e.g. an unknown team.

        """
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ValueError(
                "routing must be a mapping, e.g. "
                "{fallback: {technical: [general, any]}}"
            )
        unknown = sorted(set(data) - {"fallback", "default_fallback"})
        if unknown:
            raise ValueError(
                f"routing: unknown key(s) {unknown}; valid keys are "
                "['default_fallback', 'fallback']"
            )
        raw = data.get("fallback") or {}
        if not isinstance(raw, Mapping):
            raise ValueError(
                "routing.fallback must map a team to its chain, e.g. "
                "{technical: [general, any]}"
            )
        by_team = {
            str(team): _chain(steps, known_teams, f"routing.fallback.{team}", team)
            for team, steps in raw.items()
        }
        default = (
            _chain(data["default_fallback"], known_teams, "routing.default_fallback")
            if data.get("default_fallback") is not None
            else DEFAULT_FALLBACK
        )
        return cls(by_team=by_team, default=default)


def _chain(
    steps: Any, known_teams: Collection[str], where: str, team: Optional[str] = None
) -> Tuple[str, ...]:
    """One chain, checked: known teams or `any` (last), no repeats, not itself."""
    if not isinstance(steps, list):
        raise ValueError(f"{where} must be a list of teams, e.g. [general, any]")
    chain: List[str] = []
    for index, step in enumerate(steps):
        name = str(step)
        here = f"{where}[{index}]"
        if name == team:
            raise ValueError(f"{here}: a team cannot fall back to itself ('{name}')")
        if name in chain:
            raise ValueError(f"{here}: '{name}' is already in the chain")
        if chain and chain[-1] == ANY_TEAM:
            raise ValueError(f"{here}: nothing can follow '{ANY_TEAM}' (everyone)")
        if name != ANY_TEAM and name not in known_teams:
            raise ValueError(
                f"{here}: no agent works team '{name}'; use one of "
                f"{', '.join(sorted(known_teams)) or '(no teams)'} or '{ANY_TEAM}'"
            )
        chain.append(name)
    return tuple(chain)


@dataclass(frozen=True)
class RoutingRequest:
    """What the router needs to know about a ticket.

    Attributes:
        team: The team (skill) from the intent's `handover_team`.
        language: The customer's language code (e.g. "de", "en-GB"), if known.
        high_value: True for high-value accounts (routed to senior agents).
        previous_contact_at: When this customer last talked to a human (the
            previous agent's ticket), for the continuity window.

    """

    team: str = DEFAULT_TEAM
    language: Optional[str] = None
    high_value: bool = False
    previous_contact_at: Optional[datetime] = None


@dataclass(frozen=True)
class RoutingDecision:
    """Where a ticket goes.

    Attributes:
        agent: The chosen agent, or None when the ticket must queue.
        queue: The team whose queue the ticket is in.
        no_agent_reason: One of `contract.NO_AGENT_REASONS` when `agent` is None.
        rule: Which rule picked the agent (`RULE_*`), None without an agent.
        notes: Human-readable remarks on rules that were skipped or relaxed, shown
            to agents so a fallback never goes unnoticed.
        routed_via: The step that found the agent: the ticket's team, a team of
            its fallback chain, or `any`; None for continuity or no agent.

    """

    agent: Optional[Agent]
    queue: str
    no_agent_reason: Optional[str] = None
    rule: Optional[str] = None
    notes: Tuple[str, ...] = field(default_factory=tuple)
    routed_via: Optional[str] = None


def route(
    request: RoutingRequest,
    agents: Sequence[Agent],
    now: datetime,
    hours: BusinessHours,
    previous_agent_id: Optional[str],
    continuity_window: timedelta = DEFAULT_CONTINUITY_WINDOW,
    fallback: Sequence[str] = (),
) -> RoutingDecision:
    """Chooses the agent for a ticket, or explains why there is none.

    Args:
        request: The ticket's team, language, tier and previous contact time.
        agents: Every known agent with current availability and load.
        now: The current time (UTC).
        hours: When agents work.
        previous_agent_id: The agent who last helped this customer, if any.
        continuity_window: How recent that help must be to prefer the same agent.
        fallback: The team's fallback chain (`FallbackChains.chain`); empty
            keeps the ticket with its team.

    Returns:
        The decision; deterministic for the same inputs. `nobody_online` only
        when no agent of any step is online, `all_busy` when some are but none
        has capacity.

    """
    notes: List[str] = []
    team = request.team or DEFAULT_TEAM
    if not hours.is_open(now):
        return RoutingDecision(None, team, NO_AGENT_OUTSIDE_HOURS)

    previous = _continuity_agent(
        request, agents, now, previous_agent_id, continuity_window, notes
    )
    if previous is not None:
        return RoutingDecision(previous, team, rule=RULE_CONTINUITY, notes=tuple(notes))

    anyone_online = False
    for step in route_steps(team, fallback, agents, notes):
        online = [agent for agent in agents if agent.online and works(agent, step)]
        anyone_online = anyone_online or bool(online)
        candidates = [agent for agent in online if agent.has_capacity]
        if not candidates:
            continue
        if step != team:
            notes.append(
                f"nobody of team '{team}' was available; found by the fallback "
                f"step '{step}'"
            )
        chosen, rule = _best_match(request, candidates, notes)
        return RoutingDecision(
            chosen, team, rule=rule, notes=tuple(notes), routed_via=step
        )
    reason = NO_AGENT_ALL_BUSY if anyone_online else NO_AGENT_NOBODY_ONLINE
    return RoutingDecision(None, team, reason, notes=tuple(notes))


def route_steps(
    team: str,
    fallback: Sequence[str],
    agents: Sequence[Agent],
    notes: Optional[List[str]] = None,
) -> Tuple[str, ...]:
    """The steps tried for a ticket of `team`: the team, then its chain.

    When no configured agent works any of them, `DEFAULT_TEAM` is added (and
    noted), so the ticket never waits where nobody may take it.

    Args:
        team: The ticket's team.
        fallback: The team's chain.
        agents: Every known agent.
        notes: Where to note that the team has no agents.

    Returns:
        The steps, without repeats.

    """
    steps = tuple(dict.fromkeys((team, *fallback)))
    if not any(works(agent, team) for agent in agents):
        if notes is not None:
            notes.append(f"no agent works team '{team}'")
        if not any(works(agent, step) for step in steps for agent in agents):
            if notes is not None:
                notes.append(f"nor its fallback; queued for '{DEFAULT_TEAM}'")
            steps = (*steps, DEFAULT_TEAM)
    return steps


def works(agent: Agent, step: str) -> bool:
    """Whether `agent` belongs to a routing step (a team, or `any`)."""
    return step == ANY_TEAM or step in agent.teams


def _best_match(
    request: RoutingRequest, candidates: Sequence[Agent], notes: List[str]
) -> Tuple[Agent, str]:
    """The best available agent of one step by tier, language and load."""
    for rule, match_tier, match_language in _relaxations(request):
        matching = [
            agent
            for agent in candidates
            if (not match_tier or agent.tier == TIER_SENIOR)
            and (not match_language or speaks(agent, request.language))
        ]
        if not matching:
            continue
        if rule in (RULE_WITHOUT_LANGUAGE, RULE_TEAM_ONLY):
            notes.append(
                f"no available agent speaks '{request.language}'; "
                "routed without the language rule"
            )
        if rule in (RULE_WITHOUT_TIER, RULE_TEAM_ONLY):
            notes.append(
                "no senior agent available for a high-value customer; "
                "routed to a standard agent"
            )
        return least_loaded(matching), rule
    # The last relaxation matches every candidate.
    return least_loaded(candidates), RULE_TEAM_ONLY


def least_loaded(agents: Sequence[Agent]) -> Agent:
    """The agent with the lowest share of capacity in use; ties by name, then id.

    Args:
        agents: A non-empty list of candidates.

    Returns:
        The chosen agent.

    """
    return min(agents, key=lambda agent: (agent.load, agent.name.lower(), agent.id))


def speaks(agent: Agent, language: Optional[str]) -> bool:
    """Whether `agent` speaks `language`; region subtags are ignored (en-GB = en).

    Args:
        agent: The agent.
        language: A language code; None (unknown) matches every agent.

    Returns:
        True on a match.

    """
    if not language:
        return True
    wanted = _base_language(language)
    return any(_base_language(spoken) == wanted for spoken in agent.languages)


def _continuity_agent(
    request: RoutingRequest,
    agents: Sequence[Agent],
    now: datetime,
    previous_agent_id: Optional[str],
    window: timedelta,
    notes: List[str],
) -> Optional[Agent]:
    if previous_agent_id is None:
        return None
    previous = next((agent for agent in agents if agent.id == previous_agent_id), None)
    if previous is None:
        return None
    contact = request.previous_contact_at
    recent = contact is not None and _as_utc(now) - _as_utc(contact) <= window
    checks = (
        (recent, "last helped outside the continuity window"),
        (previous.online, "is offline"),
        (previous.has_capacity, "is at capacity"),
    )
    for passed, why in checks:
        if not passed:
            notes.append(f"previous agent {previous.name} {why}; routed by rules")
            return None
    return previous


def _relaxations(request: RoutingRequest) -> List[Tuple[str, bool, bool]]:
    """The (rule, match tier, match language) steps to try, strictest first."""
    steps = [(RULE_EXACT, request.high_value, bool(request.language))]
    if request.language:
        steps.append((RULE_WITHOUT_LANGUAGE, request.high_value, False))
    if request.high_value:
        steps.append((RULE_WITHOUT_TIER, False, bool(request.language)))
        if request.language:
            steps.append((RULE_TEAM_ONLY, False, False))
    return steps


def _base_language(code: str) -> str:
    return code.strip().lower().replace("_", "-").split("-")[0]


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _parse_weekday(key: Any) -> int:
    if isinstance(key, int) and 0 <= key < DAYS_PER_WEEK:
        return key
    name = str(key).strip().lower()[:3]
    if name in WEEKDAY_NAMES:
        return WEEKDAY_NAMES.index(name)
    raise ValueError(
        f"business_hours.weekdays: unknown weekday '{key}' (use mon, tue, ... sun)"
    )


def _parse_window(text: str, key: Any) -> Tuple[time, time]:
    match = _HOURS_PATTERN.match(text)
    if match is None:
        raise ValueError(
            f"business_hours.weekdays.{key}: expected 'HH:MM-HH:MM', got '{text}'"
        )
    open_hour, open_minute, close_hour, close_minute = (int(g) for g in match.groups())
    try:
        opens = time(open_hour, open_minute)
        closes = (
            time(0, 0)
            if (close_hour, close_minute) == (_MIDNIGHT_HOUR, 0)
            else time(close_hour, close_minute)
        )
    except ValueError as error:
        raise ValueError(f"business_hours.weekdays.{key}: {error}") from error
    return opens, closes
