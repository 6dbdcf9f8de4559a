"""`rasa-handover report` on a seeded inbox database, against hand-computed figures.

Six handovers over two days, written through the inbox store with a fake
clock (as agents claim and resolve them), rated through `record_csat` as the
channel stores CSAT answers. Every expected figure below is worked out by hand
in the comments.
"""

import asyncio
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from rasa_handover.cli import main
from rasa_handover.feedback.report import figures, p90
from rasa_handover.feedback.report_html import render
from rasa_handover.inbox.store import InboxStore
from tests.feedback.history import LATE, NEEDED, NOT_NEEDED, payload

DAY_1 = datetime(2026, 5, 1, tzinfo=timezone.utc)
DAY_2 = DAY_1 + timedelta(days=1)

# (conversation, requested at, reason, team, tier, intent, agent, seconds to
#  pickup, seconds to resolution, outcome, CSAT)
History = List[
    Tuple[
        str,
        datetime,
        str,
        str,
        str,
        str,
        Optional[str],
        int,
        int,
        Optional[str],
        Optional[int],
    ]
]
HISTORY: History = [
    ("t1", DAY_1 + timedelta(hours=9), "low_confidence", "billing", "standard",
     "check_balance", "ann", 60, 600, NOT_NEEDED, 2),
    ("t2", DAY_1 + timedelta(hours=10), "low_confidence", "billing", "standard",
     "check_balance", "ann", 120, 1200, NEEDED, 4),
    ("t3", DAY_1 + timedelta(hours=11), "frustration", "technical", "standard",
     "report_problem", "bob", 30, 300, LATE, 5),
    ("t4", DAY_2 + timedelta(hours=9), "explicit_request", "billing", "senior",
     "human_handoff", "ann", 300, 900, NEEDED, None),
    ("t5", DAY_2 + timedelta(hours=10), "frustration", "technical", "standard",
     "report_problem", "bob", 90, 1800, NOT_NEEDED, 3),
    # Still waiting: counted as a handover, in no timing.
    ("t6", DAY_2 + timedelta(hours=11), "low_confidence", "billing", "standard",
     "check_balance", None, 0, 0, None, None),
]  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = DAY_1

    def __call__(self) -> datetime:
        return self.now


async def seed(db: str) -> None:
    """Writes HISTORY through the store, as the channel and agents do."""
    clock = Clock()
    store = InboxStore(db, clock=clock)
    await store.create_all()
    for agent in ("ann", "bob"):
        await store.upsert_agent(agent, agent.title(), f"token-{agent}")
    for (
        conversation,
        at,
        reason,
        team,
        tier,
        intent,
        agent,
        pickup,
        done,
        outcome,
        csat,
    ) in HISTORY:
        clock.now = at
        ticket, _ = await store.create_ticket(
            conversation,
            1,
            payload([("greet", 0.95), (intent, 0.4)], reason),
            team=team,
            tier=tier,
            reason=reason,
        )
        if agent is None:
            continue
        clock.now = at + timedelta(seconds=pickup)
        await store.claim(ticket.id, agent)
        clock.now = at + timedelta(seconds=done)
        await store.resolve(ticket.id, agent, outcome)
        if csat is not None:
            await store.record_csat(conversation, csat)
    await store.close()


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'handover.db'}"
    asyncio.run(seed(url))
    return url


def document(db: str) -> Dict[str, Any]:
    from rasa_handover.feedback.report_command import read_tickets

    return figures(asyncio.run(read_tickets(db)))


def test_the_figures_are_the_hand_computed_ones(db: str) -> None:
    report = document(db)

    assert (report["handovers"], report["resolved"], report["labelled"]) == (6, 5, 5)
    assert report["period"] == {"from": "2026-05-01", "to": "2026-05-02"}
    assert report["per_day"] == [
        {
            "date": "2026-05-01",
            "handovers": 3,
            "by_reason": {"frustration": 1, "low_confidence": 2},
        },
        {
            "date": "2026-05-02",
            "handovers": 3,
            "by_reason": {
                "explicit_request": 1,
                "frustration": 1,
                "low_confidence": 1,
            },
        },
    ]
    # 3, 2 and 1 of 6.
    assert report["by_reason"] == [
        {"reason": "low_confidence", "handovers": 3, "share": 0.5},
        {"reason": "frustration", "handovers": 2, "share": 0.333},
        {"reason": "explicit_request", "handovers": 1, "share": 0.167},
    ]
    assert [(r["intent"], r["handovers"]) for r in report["by_intent"]] == [
        ("check_balance", 3),
        ("report_problem", 2),
        ("human_handoff", 1),
    ]
    # Needed or late, of labelled: explicit 1/1; frustration late t3 of t3, t5;
    # low_confidence needed t2 of t1, t2 (t6 is not labelled).
    precision = report["precision"]
    assert [(r["reason"], r["labelled"], r["precision"]) for r in precision] == [
        ("explicit_request", 1, 1.0),
        ("frustration", 2, 0.5),
        ("low_confidence", 2, 0.5),
    ]  # fmt: skip
    late = report["late"]
    assert (late["count"], late["share_of_labelled"], late["conversations"]) == (
        1,
        0.2,
        ["t3"],
    )
    # Pickup: billing 60, 120, 300 -> median 120, p90 the 3rd of 3 (300);
    # technical 30, 90 -> median 60, p90 the 2nd of 2 (90).
    assert report["pickup"]["by_team"] == [
        {"group": "billing", "count": 3, "median_seconds": 120, "p90_seconds": 300},
        {"group": "technical", "count": 2, "median_seconds": 60, "p90_seconds": 90},
    ]
    # Standard 30, 60, 90, 120 -> median 75, p90 the 4th of 4 (120).
    assert report["pickup"]["by_tier"] == [
        {"group": "senior", "count": 1, "median_seconds": 300, "p90_seconds": 300},
        {"group": "standard", "count": 4, "median_seconds": 75, "p90_seconds": 120},
    ]
    # Resolution: billing 600, 1200, 900; technical 300, 1800.
    assert report["resolution"]["by_team"] == [
        {"group": "billing", "count": 3, "median_seconds": 900, "p90_seconds": 1200},
        {"group": "technical", "count": 2, "median_seconds": 1050, "p90_seconds": 1800},
    ]  # fmt: skip
    # CSAT 2, 4, 5, 3: mean 3.5; frustration 5, 3; low_confidence 2, 4.
    assert report["csat"]["answers"] == 4 and report["csat"]["mean"] == 3.5
    by_reason = report["csat"]["by_reason"]
    assert [(r["reason"], r["answers"], r["mean"]) for r in by_reason] == [
        ("frustration", 2, 4.0),
        ("low_confidence", 2, 3.0),
    ]  # fmt: skip
    assert report["csat"]["by_reason"][0]["scores"] == {
        "1": 0, "2": 0, "3": 1, "4": 0, "5": 1,
    }  # fmt: skip
    # Ann: t1, t2, t4 (resolution 600, 1200, 900 -> 900; CSAT 2, 4 -> 3);
    # Bob: t3, t5 (300, 1800 -> 1050; CSAT 5, 3 -> 4).
    assert report["agents"] == [
        {"agent": "ann", "handled": 3, "resolved": 3, "open": 0,
         "median_resolution_seconds": 900, "csat_mean": 3.0},
        {"agent": "bob", "handled": 2, "resolved": 2, "open": 0,
         "median_resolution_seconds": 1050, "csat_mean": 4.0},
    ]  # fmt: skip


@pytest.mark.parametrize(
    "values, expected",
    [
        pytest.param([5.0], 5.0, id="one"),
        pytest.param([float(v) for v in range(1, 11)], 9.0, id="ten"),
        pytest.param([float(v) for v in range(1, 12)], 10.0, id="eleven"),
        pytest.param([], None, id="none"),
    ],
)
def test_p90_is_the_nearest_rank(values: List[float], expected: float) -> None:
    assert p90(values) == expected


def test_the_command_writes_the_page_and_the_json_and_prints_a_summary(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    html, data = tmp_path / "report.html", tmp_path / "report.json"

    code = main(["report", "--db", db, "--html", str(html), "--json", str(data)])

    out = capsys.readouterr().out
    assert code == 0
    assert "6 handovers from 2026-05-01 to 2026-05-02: 5 resolved, 5 labelled." in out
    assert "frustration        50% of 2 (1 not needed, 1 late)" in out
    assert "billing            2.0 min / 5.0 min (3)" in out
    assert "CSAT: 4 answers, mean 3.50" in out
    written = json.loads(data.read_text())
    assert written["late"]["conversations"] == ["t3"]
    page = html.read_text()
    # Self-contained: every plot embedded, nothing fetched.
    assert page.count("src='data:image/png;base64,") == 10
    assert "http://" not in page and "https://" not in page


def test_an_empty_inbox_gives_an_empty_report_not_an_error(tmp_path: Path) -> None:
    report = figures([])

    assert report["handovers"] == 0 and report["precision"] == []
    assert "No data yet." in render(report)


def test_a_bad_since_says_how_to_fix_it(capsys: pytest.CaptureFixture) -> None:
    assert main(["report", "--since", "yesterday"]) == 2
    assert "write e.g. 2026-09-01" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("terminal", "flags", "shown"),
    [
        pytest.param(True, [], True, id="terminal"),
        pytest.param(True, ["--no-progress"], False, id="terminal-no-progress"),
        pytest.param(False, [], False, id="not-a-terminal"),
    ],
)
def test_a_progress_bar_counts_the_tickets_read_on_a_terminal_only(
    db: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    terminal: bool,
    flags: List[str],
    shown: bool,
) -> None:
    """stderr is made to say it is a terminal (pytest captures it otherwise)."""
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    html, data = tmp_path / "report.html", tmp_path / "report.json"

    code = main(
        ["report", "--db", db, "--html", str(html), "--json", str(data), *flags]
    )

    captured = capsys.readouterr()
    assert code == 0
    assert ("Reading tickets" in captured.err) is shown
    assert ("6/6" in captured.err) is shown
    # The same figures, streamed or fetched at once.
    assert json.loads(data.read_text())["handovers"] == 6
