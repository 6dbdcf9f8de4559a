"""Real servers and Debian's Chromium (driven by Playwright) for the browser tests.

The stack: the action server and `rasa run` with the handover channel (embedded
inbox on SQLite in a tmp dir, `--cors "*"` so the widget's page on another port
can reach socket.io), and the demo's customer page with rasa-webchat
(`example_bot.demo.WebchatServer`). The browser tests skip, saying why, when
/usr/bin/chromium, the playwright package or npm (for the widget) is missing.
"""

import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, List, Optional

import pytest

from example_bot.demo import WIDGET_BUNDLE, WebchatServer, ensure_widget
from tests.conftest import skip_reason
from tests.e2e.servers import (
    ARTIFACTS,
    ensure_example_model,
    exclusive,
    rasa_server,
)

CHROMIUM = Path(os.environ.get("HANDOVER_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
# The xdist_group of the tests that use `stack` (tests/conftest.py's scheduler
# keeps a group in one test process, and every other module in one too).
SHARED_STACK_GROUP = "browser-stack"
AGENT_NAME = "Maya"
AGENT_TOKEN = "maya-browser-token-0123456789abcdef0123456789ab"
# Signs the widget's session ids and REST customers' sender tokens.
CUSTOMER_SECRET = "browser-customer-secret-0123456789abcdefgh"
# Every team of the example bot, so each trigger's ticket reaches Maya.
INBOX_YML = f"""
agents:
  - name: {AGENT_NAME}
    token: {AGENT_TOKEN}
    teams: [general, billing, technical, retention, sales, account, compliance]
    languages: [en, de, es]
    capacity: 10
housekeeping_seconds: 1
"""


def _missing_browser() -> Optional[str]:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return skip_reason(
            "playwright is not installed (the `test` extra has it)",
            ".venv/bin/pip install -e '.[test]'",
        )
    if not CHROMIUM.exists():
        return skip_reason(
            f"the browser tests need Chromium at {CHROMIUM} (or "
            "HANDOVER_TEST_CHROMIUM=<path>); Playwright cannot download one here",
            "apt-get update && apt-get install -y chromium",
        )
    return None


def _missing_widget() -> Optional[str]:
    if WIDGET_BUNDLE.exists() or shutil.which("npm"):
        return None
    return skip_reason(
        "npm is missing, so the rasa-webchat widget cannot be installed",
        "apt-get update && apt-get install -y npm",
    )


@dataclass(frozen=True)
class Stack:
    """Where the running servers are."""

    rasa_url: str
    inbox_url: str
    chat_url: str


@contextmanager
def _rasa_server(workdir: Path, model: Path, action_url: str) -> Iterator[str]:
    """`rasa run` with the handover channel, open to the widget's origin."""
    (workdir / "inbox.yml").write_text(INBOX_YML)
    credentials = f"""
rasa_handover.channels.HandoverInput:
  db: sqlite:///{workdir}/handover.db
  outbox: {workdir}/outbox.db
  inbox_config: {workdir}/inbox.yml
  support_email: help@streamly.example
  metadata_key: customData   # as example_bot/credentials.yml: rasa-webchat's customData
  customer_secret: {CUSTOMER_SECRET}
"""
    with rasa_server(
        workdir,
        model,
        credentials,
        action_url,
        extra_args=("--cors", "*"),
        name="browser-rasa-server",
    ) as base:
        yield base


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright's sync API.

    One per module: Playwright's sync API runs an event loop in the test
    process while it is open, and the asyncio tests of later modules in that
    process could not start theirs.
    """
    reason = _missing_browser()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory, example_action_server: str
) -> Iterator[Stack]:
    """Action server, Rasa server (embedded inbox) and the customer page.

    Shared by every module that uses it (`SHARED_STACK_GROUP` keeps them in one
    test process): each test opens its own customer (a new widget session or
    REST sender) and finds its ticket by that conversation id.
    """
    reason = _missing_browser() or _missing_widget()
    if reason:
        pytest.skip(reason)
    with exclusive("install-widget"):
        ensure_widget()
    model = ensure_example_model()
    workdir = tmp_path_factory.mktemp("browser")
    rasa = _rasa_server(workdir, model, example_action_server)
    with rasa as rasa_url, WebchatServer(port=0) as webchat:
        yield Stack(
            rasa_url=rasa_url,
            inbox_url=f"{rasa_url}/webhooks/handover/inbox/",
            chat_url=f"{webchat.url}?server={rasa_url}",
        )


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the marks
def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    """Tests that use `stack` run in one test process, which starts it once."""
    for item in items:
        if "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group(SHARED_STACK_GROUP))


@dataclass
class BrowserPage:
    """A page in its own context (own sessionStorage), with what it reported."""

    page: Any
    dialogs: List[str]
    errors: List[str]


@pytest.fixture
def open_page(chromium: Any) -> Iterator[Any]:
    """Opens pages in fresh contexts; dialogs are dismissed and recorded."""
    contexts: List[Any] = []

    def open_one(width: int = 1280, height: int = 800) -> BrowserPage:
        context = chromium.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        opened = BrowserPage(page, [], [])

        def on_dialog(dialog: Any) -> None:
            opened.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda error: opened.errors.append(str(error)))
        return opened

    yield open_one
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """tests/artifacts/, where screenshots go."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
