"""inbox.yml: the documented example loads; mistakes name the key."""

import re
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest

from rasa_handover.inbox.config import (
    DEFAULT_DB_URL,
    AgentConfig,
    InboxConfig,
    InboxConfigError,
    check_agent_tokens,
)

MAYA_TOKEN = "maya-token-0123456789abcdef0123456789ab"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "inbox.md"


def documented_inbox_yml() -> str:
    """The copy-paste `inbox.yml` block of docs/inbox.md."""
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"```yaml\n# inbox\.yml\n(.*?)```", text, re.DOTALL)
    assert match, "docs/inbox.md lost its '# inbox.yml' example"
    return match.group(1)


def test_documented_example_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HANDOVER_SHARED_SECRET", "from-env")
    monkeypatch.setenv("MAYA_TOKEN", MAYA_TOKEN)
    monkeypatch.setenv("INES_TOKEN", "ines-token-0123456789abcdef0123456789")
    monkeypatch.setenv("TOM_TOKEN", "tom-token-0123456789abcdef0123456789ab")
    monkeypatch.setenv("HANDOVER_SMTP_PASSWORD", "smtp-secret")
    path = tmp_path / "inbox.yml"
    path.write_text(documented_inbox_yml())

    config = InboxConfig.from_yaml(path)
    assert config.alternatives == ("callback", "email")
    assert config.email is not None
    assert (config.email.host, config.email.port, config.email.password) == (
        "smtp.example.com",
        587,
        "smtp-secret",
    )

    assert config.shared_secret == "from-env"
    assert [agent.name for agent in config.agents] == [
        "Maya Lee",
        "Ines Roth",
        "Tom Berg",
    ]
    assert config.supervisor_ids == ("ines-roth",)
    maya = config.agents[0]
    assert (maya.agent_id, maya.token, maya.tier) == (
        "maya-lee",
        MAYA_TOKEN,
        "senior",
    )
    check_agent_tokens(config, environ={})  # the example starts as it is
    assert not config.hours.always_open
    assert config.continuity_window == timedelta(hours=24)
    assert config.routing.chain("tech") == ("general", "any")
    assert config.routing.chain("billing") == ()
    assert config.presence_grace == timedelta(seconds=45)
    assert config.delivery_lease_seconds == 20


@pytest.mark.parametrize(
    "data, alternatives",
    [
        pytest.param({}, ("callback",), id="default-without-email-settings"),
        pytest.param(
            {"email": {"host": "smtp", "from": "s@example.com"}},
            ("callback", "email"),
            id="default-with-email-settings",
        ),
        pytest.param({"alternatives": []}, (), id="nothing-offered"),
    ],
)
def test_reply_by_email_is_offered_only_with_email_settings(
    data: Dict[str, Any], alternatives: Tuple[str, ...]
) -> None:
    assert InboxConfig.from_dict(data).alternatives == alternatives


@pytest.mark.parametrize(
    "data, names",
    [
        pytest.param({"alternatives": ["email"]}, "no email: settings", id="email"),
        pytest.param({"alternatives": ["fax"]}, "unknown ['fax']", id="unknown"),
        pytest.param({"email": {"host": "smtp"}}, "email.from", id="no-from"),
        pytest.param(
            {"email": {"host": "h", "from": "a@b.c", "security": "tls"}},
            "email.security",
            id="bad-security",
        ),
        pytest.param(
            {"email": {"host": "h", "from": "a@b.c", "password_env": "NOPE_X"}},
            "$NOPE_X",
            id="unset-password-variable",
        ),
    ],
)
def test_bad_email_settings_fail_at_start_naming_the_key(
    data: Dict[str, Any], names: str
) -> None:
    with pytest.raises(InboxConfigError, match=re.escape(names)):
        InboxConfig.from_dict(data)


def test_defaults() -> None:
    config = InboxConfig.from_dict({})

    assert config.db_url == DEFAULT_DB_URL
    assert config.agents == ()
    assert config.hours.always_open
    assert config.shared_secret is None
    # A team without its own chain goes to the generalists, then anyone online.
    assert config.routing.chain("technical") == ("general", "any")
    assert config.presence_grace == timedelta(seconds=45)


def test_presence_can_be_switched_off() -> None:
    assert InboxConfig.from_dict({"presence_grace_seconds": 0}).presence_grace is None


def test_supervisors_are_declared_per_agent() -> None:
    config = InboxConfig.from_dict(
        {
            "agents": [
                {"name": "Maya", "token": "t1"},
                {"name": "Sue", "token": "t2", "role": "supervisor"},
            ]
        }
    )

    assert config.supervisor_ids == ("sue",)


def test_agent_profiles_feed_the_store() -> None:
    config = InboxConfig(agents=(AgentConfig("Maya", "t", teams=("billing",)),))

    assert config.agent_profiles() == [
        {
            "agent_id": "maya",
            "name": "Maya",
            "token": "t",
            "teams": ("billing",),
            "languages": ("en",),
            "tier": "standard",
            "capacity": 3,
        }
    ]


@pytest.mark.parametrize(
    "data, message",
    [
        pytest.param(
            {"agents": {"name": "x"}}, "agents must be a list", id="agents-not-list"
        ),
        pytest.param({"agents": [{"token": "t"}]}, r"agents\[0\]\.name", id="no-name"),
        pytest.param({"agents": [{"name": "A"}]}, r"agents\[0\]\.token", id="no-token"),
        pytest.param(
            {"agents": [{"name": "A", "token": "t", "tier": "boss"}]},
            r"agents\[0\]\.tier",
            id="bad-tier",
        ),
        pytest.param(
            {"agents": [{"name": "A", "token": "t", "role": "admin"}]},
            r"agents\[0\]\.role must be one of agent, supervisor",
            id="bad-role",
        ),
        pytest.param(
            {"agents": [{"name": "A", "token": "t", "capacity": -1}]},
            r"agents\[0\]\.capacity",
            id="negative-capacity",
        ),
        pytest.param(
            {"agents": [{"name": "A", "token": "t", "teams": []}]},
            r"agents\[0\]\.teams",
            id="no-teams",
        ),
        pytest.param(
            {"agents": [{"name": "A", "token": "t"}, {"name": "a", "token": "u"}]},
            "same id 'a'",
            id="duplicate-id",
        ),
        pytest.param(
            {"agents": [{"name": "A", "token": "t"}, {"name": "B", "token": "t"}]},
            "share a token",
            id="shared-token",
        ),
        pytest.param(
            {"agents": [{"name": "A", "token_env": "HANDOVER_UNSET_VARIABLE"}]},
            "HANDOVER_UNSET_VARIABLE",
            id="token-env-unset",
        ),
        pytest.param(
            {"business_hours": {"weekdays": {"mon": "nine to five"}}},
            "HH:MM",
            id="bad-hours",
        ),
        pytest.param(
            {"continuity_window_minutes": "a day"},
            "continuity_window_minutes",
            id="bad-window",
        ),
        pytest.param(
            {
                "agents": [{"name": "A", "token": "t", "teams": ["billing"]}],
                "routing": {"fallback": {"technical": ["general"]}},
            },
            r"routing\.fallback\.technical\[0\]: no agent works team 'general'",
            id="fallback-to-a-team-nobody-works",
        ),
        pytest.param(
            {"routing": ["general"]}, "routing must be a mapping", id="routing-list"
        ),
        pytest.param(
            {"agents": [{"name": "A", "token": "t", "teams": ["any"]}]},
            r"agents\[0\]\.teams: 'any' is reserved",
            id="team-named-any",
        ),
        pytest.param(
            {"presence_grace_seconds": "soon"},
            "presence_grace_seconds must be a number",
            id="bad-grace",
        ),
        pytest.param(
            {"delivery_lease_seconds": 12},
            r"delivery_lease_seconds must be a number of seconds above 12 \(a "
            r"delivery's timeout, 10 s, and a margin of 2 s",
            id="lease-no-longer-than-a-delivery",
        ),
        pytest.param(
            {"delivery_lease_seconds": "a minute"},
            "delivery_lease_seconds must be a number",
            id="lease-not-a-number",
        ),
        pytest.param(
            {"delivery_lease_seconds": True},
            "delivery_lease_seconds must be a number",
            id="lease-a-boolean",
        ),
        pytest.param(
            {"delivery_lease_seconds": float("inf")},
            "delivery_lease_seconds must be a number",
            id="lease-infinite",
        ),
    ],
)
def test_mistakes_name_the_key(data: dict, message: str) -> None:
    with pytest.raises(InboxConfigError, match=message):
        InboxConfig.from_dict(data)


def test_unreadable_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "inbox.yml"
    path.write_text("agents: [oops")

    with pytest.raises(InboxConfigError, match=r"inbox\.yml"):
        InboxConfig.from_yaml(path)
