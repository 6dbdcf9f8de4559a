"""Routing rules, fallback chains and business hours, as tables of cases."""

import re
from datetime import datetime, time, timedelta, timezone
from typing import Optional, Sequence, Tuple

import pytest

from rasa_handover.inbox.contract import (
    NO_AGENT_ALL_BUSY,
    NO_AGENT_NOBODY_ONLINE,
    NO_AGENT_OUTSIDE_HOURS,
)
from rasa_handover.inbox.models import TIER_SENIOR, Agent
from rasa_handover.inbox.router import (
    RULE_CONTINUITY,
    RULE_EXACT,
    RULE_TEAM_ONLY,
    RULE_WITHOUT_LANGUAGE,
    RULE_WITHOUT_TIER,
    BusinessHours,
    FallbackChains,
    RoutingRequest,
    route,
)

NOW = datetime(2024, 5, 15, 10, 0, tzinfo=timezone.utc)  # Wednesday
WINDOW = timedelta(hours=24)
NINE_TO_FIVE = BusinessHours(
    timezone="UTC", weekly={day: (time(9), time(17)) for day in range(5)}
)


def agent(
    agent_id: str,
    teams: Tuple[str, ...] = ("general",),
    languages: Tuple[str, ...] = ("en",),
    tier: str = "standard",
    capacity: int = 2,
    active: int = 0,
    online: bool = True,
) -> Agent:
    return Agent(
        id=agent_id,
        name=agent_id.capitalize(),
        teams=teams,
        languages=languages,
        tier=tier,
        capacity=capacity,
        online=online,
        active_tickets=active,
    )


ANN = agent("ann", active=1)
BOB = agent("bob")
CARL_OFFLINE = agent("carl", online=False)
DORA_BILLING = agent("dora", teams=("billing",))
ERIK_BILLING_DE = agent("erik", teams=("billing",), languages=("de", "en"), active=1)
SARA_SENIOR = agent("sara", tier=TIER_SENIOR, active=1)
FULL = agent("fred", active=2)
ZERO_CAPACITY = agent("zoe", capacity=0)

RECENT = NOW - timedelta(hours=1)
LONG_AGO = NOW - timedelta(days=3)


@pytest.mark.parametrize(
    "request_, agents, previous, hours, expected_agent, expected_rule, expected_reason",
    [
        pytest.param(
            RoutingRequest(previous_contact_at=RECENT),
            [ANN, BOB],
            "ann",
            BusinessHours(),
            "ann",
            RULE_CONTINUITY,
            None,
            id="continuity-wins-over-least-loaded",
        ),
        pytest.param(
            RoutingRequest(previous_contact_at=RECENT),
            [CARL_OFFLINE, ANN, BOB],
            "carl",
            BusinessHours(),
            "bob",
            RULE_EXACT,
            None,
            id="continuity-agent-offline-falls-to-rules",
        ),
        pytest.param(
            RoutingRequest(previous_contact_at=LONG_AGO),
            [ANN, BOB],
            "ann",
            BusinessHours(),
            "bob",
            RULE_EXACT,
            None,
            id="continuity-outside-window-falls-to-rules",
        ),
        pytest.param(
            RoutingRequest(previous_contact_at=RECENT),
            [FULL, BOB],
            "fred",
            BusinessHours(),
            "bob",
            RULE_EXACT,
            None,
            id="continuity-agent-at-capacity-falls-to-rules",
        ),
        pytest.param(
            RoutingRequest(high_value=True),
            [BOB, SARA_SENIOR],
            None,
            BusinessHours(),
            "sara",
            RULE_EXACT,
            None,
            id="vip-goes-to-senior-even-if-busier",
        ),
        pytest.param(
            RoutingRequest(team="billing"),
            [BOB, DORA_BILLING],
            None,
            BusinessHours(),
            "dora",
            RULE_EXACT,
            None,
            id="team-skill",
        ),
        pytest.param(
            RoutingRequest(team="billing", language="de-AT"),
            [DORA_BILLING, ERIK_BILLING_DE],
            None,
            BusinessHours(),
            "erik",
            RULE_EXACT,
            None,
            id="language-with-region-subtag",
        ),
        pytest.param(
            RoutingRequest(),
            [ANN, BOB],
            None,
            BusinessHours(),
            "bob",
            RULE_EXACT,
            None,
            id="least-loaded",
        ),
        pytest.param(
            RoutingRequest(),
            [agent("bob", active=1), agent("amy", active=1)],
            None,
            BusinessHours(),
            "amy",
            RULE_EXACT,
            None,
            id="tie-broken-by-name",
        ),
        pytest.param(
            RoutingRequest(),
            [FULL, ZERO_CAPACITY],
            None,
            BusinessHours(),
            None,
            None,
            NO_AGENT_ALL_BUSY,
            id="all-busy-queues",
        ),
        pytest.param(
            RoutingRequest(),
            [CARL_OFFLINE],
            None,
            BusinessHours(),
            None,
            None,
            NO_AGENT_NOBODY_ONLINE,
            id="nobody-online",
        ),
        pytest.param(
            RoutingRequest(team="billing"),
            [BOB, agent("dora", teams=("billing",), online=False)],
            None,
            BusinessHours(),
            None,
            None,
            NO_AGENT_NOBODY_ONLINE,
            id="nobody-of-the-team-online-never-crosses-teams",
        ),
        pytest.param(
            RoutingRequest(),
            [BOB],
            None,
            BusinessHours(
                timezone="UTC", weekly={day: (time(12), time(17)) for day in range(5)}
            ),
            None,
            None,
            NO_AGENT_OUTSIDE_HOURS,
            id="outside-business-hours",
        ),
        pytest.param(
            RoutingRequest(language="fr"),
            [ANN, BOB],
            None,
            BusinessHours(),
            "bob",
            RULE_WITHOUT_LANGUAGE,
            None,
            id="fallback-drops-language",
        ),
        pytest.param(
            RoutingRequest(high_value=True),
            [ANN, BOB],
            None,
            BusinessHours(),
            "bob",
            RULE_WITHOUT_TIER,
            None,
            id="fallback-drops-tier",
        ),
        pytest.param(
            RoutingRequest(high_value=True, language="fr"),
            [ANN, BOB],
            None,
            BusinessHours(),
            "bob",
            RULE_TEAM_ONLY,
            None,
            id="fallback-drops-language-and-tier",
        ),
    ],
)
def test_route(
    request_: RoutingRequest,
    agents: Sequence[Agent],
    previous: Optional[str],
    hours: BusinessHours,
    expected_agent: Optional[str],
    expected_rule: Optional[str],
    expected_reason: Optional[str],
) -> None:
    decision = route(request_, agents, NOW, hours, previous, WINDOW)

    assert (decision.agent.id if decision.agent else None) == expected_agent
    assert decision.rule == expected_rule
    assert decision.no_agent_reason == expected_reason
    assert decision.queue == request_.team


@pytest.mark.parametrize(
    "request_, agents, previous, note_fragments",
    [
        pytest.param(
            RoutingRequest(language="fr"),
            [BOB],
            None,
            ["speaks 'fr'"],
            id="language-fallback-noted",
        ),
        pytest.param(
            RoutingRequest(high_value=True),
            [BOB],
            None,
            ["no senior agent"],
            id="tier-fallback-noted",
        ),
        pytest.param(
            RoutingRequest(previous_contact_at=RECENT),
            [CARL_OFFLINE, BOB],
            "carl",
            ["previous agent Carl is offline"],
            id="skipped-continuity-noted",
        ),
        pytest.param(
            RoutingRequest(team="compliance"),
            [BOB],
            None,
            ["no agent works team 'compliance'"],
            id="unknown-team-falls-back-to-general-and-is-noted",
        ),
    ],
)
def test_fallbacks_are_noted(
    request_: RoutingRequest,
    agents: Sequence[Agent],
    previous: Optional[str],
    note_fragments: Sequence[str],
) -> None:
    decision = route(request_, agents, NOW, BusinessHours(), previous, WINDOW)

    assert decision.agent is not None
    for fragment in note_fragments:
        assert any(fragment in note for note in decision.notes), decision.notes


def test_exact_match_has_no_notes() -> None:
    decision = route(
        RoutingRequest(team="billing", language="de"),
        [ERIK_BILLING_DE],
        NOW,
        BusinessHours(),
        None,
        WINDOW,
    )

    assert decision.agent == ERIK_BILLING_DE
    assert decision.notes == ()


def test_a_team_nobody_works_keeps_its_team_and_waits_for_general() -> None:
    decision = route(
        RoutingRequest(team="compliance"), [FULL], NOW, BusinessHours(), None, WINDOW
    )

    assert decision.agent is None
    assert decision.queue == "compliance"
    assert decision.no_agent_reason == NO_AGENT_ALL_BUSY
    assert any("queued for 'general'" in note for note in decision.notes)


# --- Fallback chains. --------------------------------------------------------------

TINA_TECH_OFFLINE = agent("tina", teams=("technical",), online=False)
TOM_TECH_FULL = agent("tom", teams=("technical",), active=2)
MAYA_BILLING = agent("maya", teams=("general", "billing"))
SAM_COMPLIANCE_OFFLINE = agent("sam", teams=("compliance",), online=False)
SENIOR_BILLING = agent("sid", teams=("billing",), tier=TIER_SENIOR)


@pytest.mark.parametrize(
    "request_, agents, fallback, expected_agent, expected_via, expected_reason",
    [
        pytest.param(
            RoutingRequest(team="technical"),
            [TINA_TECH_OFFLINE, MAYA_BILLING],
            ("general", "any"),
            "maya",
            "general",
            None,
            id="team-offline-falls-back-to-general",
        ),
        pytest.param(
            RoutingRequest(team="technical"),
            [TOM_TECH_FULL, DORA_BILLING],
            ("general", "any"),
            "dora",
            "any",
            None,
            id="team-busy-and-no-generalist-falls-back-to-anyone",
        ),
        pytest.param(
            RoutingRequest(team="technical"),
            [agent("tina", teams=("technical",)), MAYA_BILLING],
            ("general", "any"),
            "tina",
            "technical",
            None,
            id="the-team-first-when-available",
        ),
        pytest.param(
            RoutingRequest(team="compliance"),
            [SAM_COMPLIANCE_OFFLINE, MAYA_BILLING],
            (),
            None,
            None,
            NO_AGENT_NOBODY_ONLINE,
            id="empty-chain-keeps-the-ticket-with-its-team",
        ),
        pytest.param(
            RoutingRequest(team="technical"),
            [TOM_TECH_FULL, FULL],
            ("general", "any"),
            None,
            None,
            NO_AGENT_ALL_BUSY,
            id="someone-who-may-take-it-is-online-so-all-busy-not-nobody",
        ),
        pytest.param(
            RoutingRequest(team="technical"),
            [TINA_TECH_OFFLINE, CARL_OFFLINE],
            ("general", "any"),
            None,
            None,
            NO_AGENT_NOBODY_ONLINE,
            id="nobody-online-only-when-nobody-of-the-chain-is",
        ),
        pytest.param(
            RoutingRequest(team="technical", high_value=True),
            [TINA_TECH_OFFLINE, DORA_BILLING, SENIOR_BILLING],
            ("any",),
            "sid",
            "any",
            None,
            id="the-senior-tier-applies-within-a-fallback-step",
        ),
    ],
)
def test_fallback_chain(
    request_: RoutingRequest,
    agents: Sequence[Agent],
    fallback: Tuple[str, ...],
    expected_agent: Optional[str],
    expected_via: Optional[str],
    expected_reason: Optional[str],
) -> None:
    decision = route(request_, agents, NOW, BusinessHours(), None, WINDOW, fallback)

    assert (decision.agent.id if decision.agent else None) == expected_agent
    assert decision.routed_via == expected_via
    assert decision.no_agent_reason == expected_reason
    assert decision.queue == request_.team  # The ticket keeps its team.


def test_a_fallback_is_noted_for_the_agent() -> None:
    decision = route(
        RoutingRequest(team="technical"),
        [TINA_TECH_OFFLINE, MAYA_BILLING],
        NOW,
        BusinessHours(),
        None,
        WINDOW,
        ("general", "any"),
    )

    assert any("fallback step 'general'" in note for note in decision.notes)


def test_outside_hours_beats_the_chain() -> None:
    decision = route(
        RoutingRequest(team="technical"),
        [MAYA_BILLING],
        NOW,
        BusinessHours(timezone="UTC", weekly={}),
        None,
        WINDOW,
        ("any",),
    )

    assert decision.no_agent_reason == NO_AGENT_OUTSIDE_HOURS


KNOWN = ("general", "billing", "technical", "compliance")


@pytest.mark.parametrize(
    "data, expected_chain",
    [
        pytest.param(None, {"technical": ("general", "any")}, id="default"),
        pytest.param(
            {"fallback": {"compliance": []}},
            {"compliance": (), "technical": ("general", "any")},
            id="empty-chain",
        ),
        pytest.param(
            {"fallback": {"technical": ["billing"]}, "default_fallback": []},
            {"technical": ("billing",), "sales": ()},
            id="own-default",
        ),
    ],
)
def test_fallback_chains_from_config(
    data: Optional[dict], expected_chain: dict
) -> None:
    chains = FallbackChains.from_dict(data, KNOWN)

    for team, chain in expected_chain.items():
        assert chains.chain(team) == chain


@pytest.mark.parametrize(
    "data, fragment",
    [
        pytest.param(
            {"fallback": {"technical": ["generl"]}},
            "routing.fallback.technical[0]: no agent works team 'generl'",
            id="unknown-team",
        ),
        pytest.param(
            {"fallback": {"technical": ["technical"]}},
            "routing.fallback.technical[0]: a team cannot fall back to itself",
            id="cycle-to-itself",
        ),
        pytest.param(
            {"fallback": {"technical": ["general", "general"]}},
            "routing.fallback.technical[1]: 'general' is already in the chain",
            id="repeat",
        ),
        pytest.param(
            {"fallback": {"technical": ["any", "general"]}},
            "routing.fallback.technical[1]: nothing can follow 'any'",
            id="after-any",
        ),
        pytest.param(
            {"fallback": {"technical": "general"}},
            "routing.fallback.technical must be a list",
            id="not-a-list",
        ),
        pytest.param(
            {"fallbacks": {}}, "routing: unknown key(s) ['fallbacks']", id="typo"
        ),
        pytest.param(
            {"default_fallback": ["nobody"]},
            "routing.default_fallback[0]: no agent works team 'nobody'",
            id="unknown-default",
        ),
    ],
)
def test_fallback_config_errors_name_the_key(data: dict, fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        FallbackChains.from_dict(data, KNOWN)


# --- Business hours. -------------------------------------------------------------

BERLIN_NINE_TO_FIVE = BusinessHours.from_dict(
    {
        "timezone": "Europe/Berlin",
        "weekdays": {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")},
    }
)
NIGHT_SHIFT = BusinessHours.from_dict(
    {"timezone": "UTC", "weekdays": {"fri": "22:00-06:00"}}
)


@pytest.mark.parametrize(
    "hours, moment, expected",
    [
        pytest.param(BusinessHours(), NOW, True, id="default-always-open"),
        pytest.param(NINE_TO_FIVE, NOW, True, id="weekday-inside"),
        pytest.param(
            NINE_TO_FIVE, NOW.replace(hour=17), False, id="close-is-exclusive"
        ),
        pytest.param(NINE_TO_FIVE, NOW.replace(hour=8, minute=59), False, id="early"),
        pytest.param(
            NINE_TO_FIVE,
            datetime(2024, 5, 18, 10, tzinfo=timezone.utc),
            False,
            id="sat",
        ),
        pytest.param(
            BERLIN_NINE_TO_FIVE,
            datetime(2024, 1, 10, 8, 30, tzinfo=timezone.utc),  # 09:30 in Berlin
            True,
            id="timezone-winter",
        ),
        pytest.param(
            BERLIN_NINE_TO_FIVE,
            datetime(2024, 7, 10, 15, 30, tzinfo=timezone.utc),  # 17:30 in Berlin
            False,
            id="timezone-summer-after-close",
        ),
        pytest.param(
            NIGHT_SHIFT,
            datetime(2024, 5, 17, 23, tzinfo=timezone.utc),  # Friday night
            True,
            id="overnight-before-midnight",
        ),
        pytest.param(
            NIGHT_SHIFT,
            datetime(2024, 5, 18, 5, 59, tzinfo=timezone.utc),  # Saturday morning
            True,
            id="overnight-after-midnight",
        ),
        pytest.param(
            NIGHT_SHIFT,
            datetime(2024, 5, 18, 6, tzinfo=timezone.utc),
            False,
            id="overnight-ended",
        ),
        pytest.param(
            NINE_TO_FIVE, datetime(2024, 5, 15, 10), True, id="naive-time-read-as-utc"
        ),
    ],
)
def test_business_hours(hours: BusinessHours, moment: datetime, expected: bool) -> None:
    assert hours.is_open(moment) is expected


def test_next_opening_after_friday_close_is_monday_morning() -> None:
    friday_evening = datetime(2024, 5, 17, 18, tzinfo=timezone.utc)

    assert NINE_TO_FIVE.next_opening(friday_evening) == datetime(
        2024, 5, 20, 9, tzinfo=timezone.utc
    )


def test_next_opening_converts_local_time_to_utc() -> None:
    early = datetime(2024, 1, 10, 6, tzinfo=timezone.utc)

    assert BERLIN_NINE_TO_FIVE.next_opening(early) == datetime(
        2024, 1, 10, 8, tzinfo=timezone.utc
    )


@pytest.mark.parametrize(
    "data, message",
    [
        pytest.param({"weekdays": {"mon": "9-17"}}, "HH:MM-HH:MM", id="bad-format"),
        pytest.param({"weekdays": {"funday": "09:00-17:00"}}, "weekday", id="bad-day"),
        pytest.param({"timezone": "Mars/Olympus"}, "timezone", id="bad-timezone"),
        pytest.param({"weekdays": {"mon": "09:00-25:00"}}, "mon", id="bad-hour"),
    ],
)
def test_business_hours_config_errors_name_the_problem(
    data: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessHours.from_dict(data)


def test_closed_days_and_midnight_close_parse() -> None:
    hours = BusinessHours.from_dict(
        {"weekdays": {"mon": "closed", "tue": "18:00-24:00", "wed": None}}
    )

    assert hours.weekly == {1: (time(18), time(0))}
    assert hours.is_open(datetime(2024, 5, 14, 23, 59, tzinfo=timezone.utc))
    assert not hours.is_open(datetime(2024, 5, 15, 0, 1, tzinfo=timezone.utc))
