"""Starts the example bot's whole stack; Ctrl-C stops everything.

    make demo        # trains the model if needed, then runs this

Runs the action server (`rasa run actions --actions rasa_handover.actions`) and
the Rasa server with the handover channel and the embedded inbox (SQLite), waits
until both answer, and prints where to talk to the bot and where agents work.
Logs go to `.logs/` at the repository root.
"""

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import requests
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LOGS = ROOT / ".logs"
BIN = Path(sys.executable).parent
RASA_PORT = 5005
ACTIONS_PORT = 5055
STARTUP_TIMEOUT_SECONDS = 240


def start(name: str, command: List[str]) -> subprocess.Popen:
    LOGS.mkdir(exist_ok=True)
    log = open(LOGS / f"demo-{name}.log", "w")  # noqa: SIM115 - lives with the process
    return subprocess.Popen(command, cwd=HERE, stdout=log, stderr=subprocess.STDOUT)


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
    processes = [
        start(
            "actions",
            [
                str(BIN / "rasa"),
                "run",
                "actions",
                "--actions",
                "rasa_handover.actions",
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
    print(f"""
rasa-handover demo is running.

  Customer (REST):   curl -s {base}/webhook -d '{{"sender": "dana", "message": "I want to talk to a human"}}'
  Customer (socket.io, e.g. rasa-webchat): http://localhost:{RASA_PORT} (socketio path /socket.io)
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
