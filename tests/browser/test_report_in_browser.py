"""`rasa-handover report`'s page in the real browser (Debian's Chromium).

The page is written by the command from the seeded inbox database of
tests/feedback/test_report.py and opened from disk (it is self-contained):
every plot must load, every section must show, and nothing may be fetched.
A supervisor opens the same report from the agent page of a standalone inbox
on that database (`GET /api/report`); an agent has no such link.
The screenshot is docs/img/report.png (refreshed with
HANDOVER_UPDATE_DOCS_SCREENSHOT=1).
"""

import asyncio
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, List

import pytest
from playwright.sync_api import expect

from rasa_handover.cli import main
from tests.browser.pages import AgentInbox
from tests.e2e.servers import free_port, standalone_inbox
from tests.feedback.test_report import seed

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DOCS_SCREENSHOT = ROOT / "docs" / "img" / "report.png"
UPDATE_DOCS_ENV = "HANDOVER_UPDATE_DOCS_SCREENSHOT"
SECTIONS = 10


def test_the_report_page_shows_every_plot_and_table(
    open_page: Any, artifacts: Path, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'handover.db'}"
    html = tmp_path / "handover_report.html"
    argv = ["report", "--db", db, "--html", str(html), "--json", str(tmp_path / "j")]
    # Playwright's sync API holds this thread's event loop: seed and run the
    # command (both asyncio.run) on another thread.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, seed(db)).result()
        assert thread.submit(main, argv).result() == 0
    opened = open_page(1400, 900)
    requests: List[str] = []
    opened.page.on("request", lambda request: requests.append(request.url))

    opened.page.goto(html.as_uri())

    page = opened.page
    assert page.locator("h1").inner_text() == "Handover report"
    assert page.locator("section").count() == SECTIONS
    widths = page.locator("img").evaluate_all(
        "images => images.map(i => i.complete ? i.naturalWidth : 0)"
    )
    assert len(widths) == SECTIONS and all(w > 0 for w in widths), widths
    meta = page.locator(".meta").inner_text()
    assert "6 handovers from 2026-05-01 to 2026-05-02" in meta
    assert "4 CSAT answers" in meta
    precision = page.locator("section", has_text="Precision per trigger")
    assert "50%" in precision.locator("table").inner_text()
    # Opened from disk, nothing else fetched (the plots are embedded).
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    assert opened.errors == [] and opened.dialogs == []
    page.screenshot(path=str(artifacts / "report.png"), full_page=True)
    if os.environ.get(UPDATE_DOCS_ENV) == "1":
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(artifacts / "report.png", DOCS_SCREENSHOT)


SUPERVISOR_TOKEN = "sue-report-token-0123456789abcdef0123456789"
AGENT_TOKEN = "gil-report-token-0123456789abcdef0123456789"
INBOX_YML = f"""
shared_secret: report-secret
agents:
  - name: Sue
    token: {SUPERVISOR_TOKEN}
    teams: [general]
    role: supervisor
  - name: Gil
    token: {AGENT_TOKEN}
    teams: [general]
"""


def test_a_supervisor_opens_the_report_from_the_agent_page(
    open_page: Any, artifacts: Path, tmp_path: Path
) -> None:
    """The page's "Handover report" link: supervisors only, the report in a tab."""
    db = f"sqlite:///{tmp_path / 'inbox.db'}"
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, seed(db)).result()
    with standalone_inbox(tmp_path, INBOX_YML, free_port(), db=db) as inbox:
        agent = AgentInbox(open_page(1280, 800).page).sign_in(f"{inbox}/", AGENT_TOKEN)
        supervisor = AgentInbox(open_page(1280, 800).page)
        supervisor.sign_in(f"{inbox}/", SUPERVISOR_TOKEN)
        link = supervisor.page.get_by_role("button", name="Handover report")

        with supervisor.page.context.expect_page() as opened:
            link.click()
        report = opened.value
        # Generated now (matplotlib draws ten plots): slow on a busy machine.
        expect(report.locator("h1")).to_have_text("Handover report", timeout=60_000)

        expect(agent.page.get_by_role("button", name="Handover report")).to_be_hidden()
        expect(report.locator("section")).to_have_count(SECTIONS)
        expect(report.locator(".meta")).to_contain_text(
            "6 handovers from 2026-05-01 to 2026-05-02"
        )
        report.wait_for_load_state("load")  # Its images are decoded by then.
        widths = report.locator("img").evaluate_all(
            "images => images.map(i => i.complete ? i.naturalWidth : 0)"
        )
        assert len(widths) == SECTIONS and all(w > 0 for w in widths), widths
        # The report's own style applies in the tab (the page's policy allows it).
        expect(report.locator("section").first).to_have_css("border-radius", "8px")
        report.screenshot(path=str(artifacts / "report-from-inbox.png"), full_page=True)
