"""Starts the example bot's whole stack; Ctrl-C stops everything.

    make demo        # trains the model if needed, then runs this

Runs the action server (`rasa run actions --actions actions`: the plugin's actions
plus the example's account lookup), the
Rasa server with the handover channel and the embedded inbox (SQLite), and a
small web server for the customer's page with the `rasa-webchat` widget
(installed with npm into `webchat/node_modules` the first time; served without
its web fonts, so nothing leaves the machine, under a Content-Security-Policy). Waits until all
answer and prints where customers chat, where agents work, and the agents'
tokens. Logs go to `.logs/` at the repository root.

The customer page's server (`WebchatServer`, `ensure_widget`) is importable: the
browser tests serve the same page.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Dict, List, Optional, Tuple, Type
from urllib.parse import parse_qs, urlsplit

import requests
import yaml

from rasa_handover.inbox.config import DEMO_ENV

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LOGS = ROOT / ".logs"
BIN = Path(sys.executable).parent
RASA_PORT = 5005
ACTIONS_PORT = 5055
WEBCHAT_PORT = 8080
WEBCHAT_HOST = "127.0.0.1"
STARTUP_TIMEOUT_SECONDS = 240
NPM_TIMEOUT_SECONDS = 600

# The customer page: our index.html, start script, style and icon, the demo
# customers, and rasa-webchat's own bundle (a UMD build with React and
# socket.io-client 3 inside: Engine.IO v4, what python-socketio 5 speaks) without
# its Google Fonts `@import`. Nothing else is served, and nothing is fetched from
# another host: the page works offline and under `content_security_policy`.
WEBCHAT_DIR = HERE / "webchat"
WIDGET_BUNDLE = WEBCHAT_DIR / "node_modules" / "rasa-webchat" / "lib" / "index.js"
ACCOUNTS_FILE = HERE / "accounts.yml"
HTML = "text/html; charset=utf-8"
JAVASCRIPT = "text/javascript; charset=utf-8"
WEBCHAT_FILES: Dict[str, Tuple[Path, str]] = {
    "/": (WEBCHAT_DIR / "index.html", HTML),
    "/index.html": (WEBCHAT_DIR / "index.html", HTML),
    "/webchat.js": (WEBCHAT_DIR / "webchat.js", JAVASCRIPT),
    "/page.css": (WEBCHAT_DIR / "page.css", "text/css; charset=utf-8"),
    "/favicon.svg": (WEBCHAT_DIR / "favicon.svg", "image/svg+xml"),
    "/rasa-webchat.js": (WIDGET_BUNDLE, JAVASCRIPT),
}
CUSTOMERS_PATH = "/customers.json"
# The accounts a tab without ?customer= chats as, one at random: not the
# high-value ones, whose triggers are more sensitive (use ?customer=alex).
DEMO_TIERS = ("free", "standard")
_REMOTE_FONTS = re.compile(rb"@import url\(https://fonts\.googleapis\.com/[^)]*\);")


def demo_customers(accounts_file: Path = ACCOUNTS_FILE) -> List[str]:
    """The ids of the accounts a tab picks from (`DEMO_TIERS`)."""
    accounts = yaml.safe_load(accounts_file.read_text(encoding="utf-8")) or {}
    return [
        str(customer)
        for customer, account in accounts.items()
        if isinstance(account, dict) and account.get("tier") in DEMO_TIERS
    ]


def widget_bundle() -> bytes:
    """rasa-webchat's bundle without the fonts it would fetch from Google."""
    return _REMOTE_FONTS.sub(b"", WIDGET_BUNDLE.read_bytes())


def content_security_policy(rasa_url: str) -> str:
    """The page's CSP: its own files, and socket.io to `rasa_url`.

    rasa-webchat injects its CSS as <style> elements, so styles need
    'unsafe-inline', and embeds its icon font as a `data:` URL; scripts, images
    and connections stay on this page and the Rasa server.
    """
    parts = urlsplit(rasa_url)
    socket = "wss" if parts.scheme == "https" else "ws"
    origin = f"{parts.scheme}://{parts.netloc}"
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            f"connect-src 'self' {origin} {socket}://{parts.netloc}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


class WidgetUnavailableError(RuntimeError):
    """rasa-webchat is not installed and npm could not install it."""


def ensure_widget(npm: Optional[str] = None) -> Path:
    """Installs rasa-webchat into `webchat/node_modules` unless it is there.

    Uses `npm ci` when `package-lock.json` exists (the exact versions that were
    tested), else `npm install`; never runs the packages' install scripts (only
    the prebuilt `lib/index.js` is used).

    Returns:
        The widget's bundle.

    Raises:
        WidgetUnavailableError: npm is missing or failed.

    """
    if WIDGET_BUNDLE.exists():
        return WIDGET_BUNDLE
    npm = npm or shutil.which("npm")
    if not npm:
        raise WidgetUnavailableError(
            "npm is not installed, so the rasa-webchat widget cannot be installed "
            "(Debian: apt-get install -y npm)."
        )
    verb = "ci" if (WEBCHAT_DIR / "package-lock.json").exists() else "install"
    command = [npm, verb, "--no-audit", "--no-fund", "--ignore-scripts"]
    result = subprocess.run(
        command,
        cwd=WEBCHAT_DIR,
        capture_output=True,
        text=True,
        timeout=NPM_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0 or not WIDGET_BUNDLE.exists():
        raise WidgetUnavailableError(
            f"`{' '.join(command)}` in {WEBCHAT_DIR} failed:\n{result.stderr[-2000:]}"
        )
    return WIDGET_BUNDLE


class _WebchatHandler(BaseHTTPRequestHandler):
    """Serves the customer page (`WEBCHAT_FILES`, the demo customers), nothing else."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        found = self._body(url.path)
        if found is None:
            self.send_error(404)
            return
        body, content_type = found
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", self._policy(url.query))
        self.end_headers()
        self.wfile.write(body)

    def _body(self, path: str) -> Optional[Tuple[bytes, str]]:
        if path == CUSTOMERS_PATH:
            return json.dumps(demo_customers()).encode(), "application/json"
        entry = WEBCHAT_FILES.get(path)
        if entry is None or not entry[0].exists():
            return None
        if entry[0] == WIDGET_BUNDLE:
            return widget_bundle(), entry[1]
        return entry[0].read_bytes(), entry[1]

    def _policy(self, query: str) -> str:
        """The CSP, for the Rasa server the page talks to (`?server=`, else :5005)."""
        server = parse_qs(query).get("server", [""])[0]
        if urlsplit(server).scheme not in ("http", "https"):
            host = (self.headers.get("Host") or WEBCHAT_HOST).rsplit(":", 1)[0]
            server = f"http://{host}:{RASA_PORT}"
        return content_security_policy(server)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: the demo's terminal shows the URLs, not every request


class WebchatServer:
    """The customer page on a small HTTP server in a background thread.

    Use as a context manager, or `start()` / `stop()`; port 0 picks a free port.
    """

    def __init__(self, port: int = WEBCHAT_PORT, host: str = WEBCHAT_HOST) -> None:
        self._address = (host, port)
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        """The page's URL (add `?server=<rasa url>` for another Rasa server)."""
        assert self._server is not None, "the webchat server is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> "WebchatServer":
        """Starts serving in a daemon thread."""
        self._server = ThreadingHTTPServer(self._address, _WebchatHandler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webchat", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving and closes the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "WebchatServer":
        return self.start()

    def __exit__(
        self,
        kind: Optional[Type[BaseException]],
        error: Optional[BaseException],
        trace: Optional[TracebackType],
    ) -> None:
        self.stop()


def start(name: str, command: List[str]) -> subprocess.Popen:
    LOGS.mkdir(exist_ok=True)
    log = open(LOGS / f"demo-{name}.log", "w")  # noqa: SIM115 - lives with the process
    # The demo's agents have short, memorable tokens (inbox.yml): accepted only
    # with this variable; any other start refuses them.
    env = {**os.environ, DEMO_ENV: "1"}
    return subprocess.Popen(
        command, cwd=HERE, stdout=log, stderr=subprocess.STDOUT, env=env
    )


def wait_for(url: str, process: subprocess.Popen, name: str) -> None:
    deadline = time.time() + STARTUP_TIMEOUT_SECONDS
    while time.time() < deadline:
        if process.poll() is not None:
            sys.exit(f"The {name} stopped; see {LOGS / f'demo-{name}.log'}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    sys.exit(f"The {name} did not start in time; see {LOGS / f'demo-{name}.log'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--webchat-port",
        type=int,
        default=WEBCHAT_PORT,
        help="port of the customer's chat page",
    )
    args = parser.parse_args()
    webchat: Optional[WebchatServer] = None
    try:
        print("Checking the rasa-webchat widget (npm installs it the first time) ...")
        ensure_widget()
        webchat = WebchatServer(args.webchat_port).start()
    except (WidgetUnavailableError, subprocess.TimeoutExpired, OSError) as error:
        print(f"The customer chat page is off: {error}")

    processes = [
        start(
            "actions",
            [
                str(BIN / "rasa"),
                "run",
                "actions",
                "--actions",
                "actions",
                "--port",
                str(ACTIONS_PORT),
            ],
        ),
        start(
            "rasa",
            [
                str(BIN / "rasa"),
                "run",
                "--model",
                "models/example_bot.tar.gz",
                "--credentials",
                "credentials.yml",
                "--endpoints",
                "endpoints.yml",
                "--port",
                str(RASA_PORT),
                "--cors",
                "*",
            ],
        ),
    ]

    def stop(*_: object) -> None:
        if webchat is not None:
            webchat.stop()
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        print("\nStopped the demo.")
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print("Starting the action server and the Rasa server (about a minute) ...")
    wait_for(f"http://localhost:{ACTIONS_PORT}/health", processes[0], "actions")
    wait_for(f"http://localhost:{RASA_PORT}/webhooks/handover/", processes[1], "rasa")

    base = f"http://localhost:{RASA_PORT}/webhooks/handover"
    agents = yaml.safe_load((HERE / "inbox.yml").read_text())["agents"]
    first_token = agents[0]["token"]
    chat = (
        f"http://localhost:{args.webchat_port}/"
        if webchat is not None
        else "(off, see above)"
    )
    print(f"""
rasa-handover demo is running.

  Customer chat (rasa-webchat): {chat}
  Agent inbox page:             {base}/inbox/
      sign in with a token below, e.g. {first_token}, and click "Go online"

  Customer (REST):   curl -s {base}/webhook -d '{{"sender": "dana", "message": "I want to talk to a human"}}'
  Agent messages for REST customers:      {base}/messages/dana?wait=20
  Inbox API (agents): {base}/inbox/api/queue   (Authorization: Bearer <token>)
  Inbox API reference: {base}/inbox/openapi.json
""")
    for agent in agents:
        print(
            f"  agent {agent['name']:<6} token {agent['token']:<18} teams {', '.join(agent['teams'])}"
        )
    print("\nPress Ctrl-C to stop.")
    while all(process.poll() is None for process in processes):
        time.sleep(1)
    stop()


if __name__ == "__main__":
    main()
