"""Real processes for end-to-end tests: action server, Rasa server, standalone inbox.

Each runs as a subprocess of the test run, on a free loopback port, logging to
`tests/artifacts/<name>.log`; `wait_until_up` polls its health URL.
"""

import fcntl
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple, TypeVar

import requests

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
BIN = Path(sys.executable).parent
EXAMPLE_BOT = ROOT / "example_bot"
EXAMPLE_MODEL = EXAMPLE_BOT / "models" / "example_bot.tar.gz"
T = TypeVar("T")
# Rasa loads TensorFlow and the model (DIET and TED graphs): give it time on a
# busy 2-core machine.
STARTUP_TIMEOUT_SECONDS = 300
# `rasa` for a server the tests start: Rasa's CLI with its model built eagerly
# on load (seconds, not most of a minute; tests/fast_model_load.py says why
# that answers exactly as `rasa run` does).
RASA_FAST_LOAD = [sys.executable, "-m", "tests.fast_model_load"]


def _worker_suffix() -> str:
    """`-gw0`, `-gw1` ... under pytest-xdist: parallel workers keep their own logs."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"-{worker}" if worker else ""


@contextmanager
def exclusive(name: str) -> Iterator[None]:
    """One test process at a time (pytest-xdist workers) past this point."""
    ARTIFACTS.mkdir(exist_ok=True)
    with open(ARTIFACTS / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.time() + STARTUP_TIMEOUT_SECONDS
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{url} exited early; see {log}:\n{log.read_text()[-3000:]}"
            )
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not come up in time; see {log}")


def log_path(name: str) -> Path:
    """Where `running(name, ...)` writes the process's output."""
    return ARTIFACTS / f"{name}{_worker_suffix()}.log"


@contextmanager
def running(
    name: str,
    command: List[str],
    health_url: str,
    cwd: Optional[Path] = None,
    env: Optional[dict] = None,
) -> Iterator[subprocess.Popen]:
    """Starts `command`, waits for `health_url`, stops it afterwards."""
    ARTIFACTS.mkdir(exist_ok=True)
    log = log_path(name)
    with open(log, "w") as out:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={
                **os.environ,
                "TF_CPP_MIN_LOG_LEVEL": "3",
                # No telemetry: with no internet its retries only cost CPU.
                "RASA_TELEMETRY_ENABLED": "false",
                # `python -m tests.fast_model_load` from any working directory.
                "PYTHONPATH": os.pathsep.join(
                    filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
                ),
                **(env or {}),
            },
        )
        try:
            wait_until_up(health_url, process, log)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def start_together(
    stack: ExitStack, servers: Sequence[AbstractContextManager[T]]
) -> List[T]:
    """Enters `servers` (e.g. `rasa_server(...)`s) side by side, each in a thread,
    on `stack`, which stops them; returns what each yields, in order.

    Their start-ups overlap (most of a `rasa run` start is waiting on imports
    and TensorFlow). If one fails to start, the ones that started are stopped
    with `stack` and its error is raised.
    """
    with ThreadPoolExecutor(len(servers)) as pool:
        futures = [pool.submit(server.__enter__) for server in servers]
        wait(futures)
    for server, future in zip(servers, futures):
        if future.exception() is None:
            stack.push(server)
    return [future.result() for future in futures]


def _model_is_stale() -> bool:
    if not EXAMPLE_MODEL.exists():
        return True
    sources = [
        EXAMPLE_BOT / "config.yml",
        *EXAMPLE_BOT.glob("domain/*.yml"),
        *EXAMPLE_BOT.glob("data/*.yml"),
    ]
    return max(p.stat().st_mtime for p in sources) > EXAMPLE_MODEL.stat().st_mtime


def ensure_example_model() -> Path:
    """The example bot's model, trained if it is missing or older than its data."""
    with exclusive("train-example-bot"):
        if _model_is_stale():
            _train_example_bot()
    return EXAMPLE_MODEL


def _train_example_bot() -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with open(ARTIFACTS / "train-example-bot.log", "w") as out:
        subprocess.run(
            [
                str(BIN / "rasa"),
                "train",
                "--domain",
                "domain",
                "--fixed-model-name",
                "example_bot",
                "--out",
                "models",
            ],
            cwd=EXAMPLE_BOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
        )


@contextmanager
def action_server(env: Optional[dict] = None) -> Iterator[str]:
    """The example bot's action server (the plugin's actions + its account
    lookup), as `make demo` runs it; yields its webhook URL.

    Its idle keep-alive connections stay open for 15 minutes: with Sanic's
    default of 5 s, a connection Rasa was about to reuse was seen closed under
    load, and the action call (`action_session_start`) was lost
    (tests/e2e/test_replicas.py found it).
    """
    port = free_port()
    env = {"SANIC_KEEP_ALIVE_TIMEOUT": "900", **(env or {})}
    with running(
        "action-server",
        [
            str(BIN / "rasa"),
            "run",
            "actions",
            "--actions",
            "actions",
            "--port",
            str(port),
        ],
        f"http://127.0.0.1:{port}/health",
        cwd=EXAMPLE_BOT,
        env=env,
    ):
        yield f"http://127.0.0.1:{port}/webhook"


@contextmanager
def rasa_server(
    workdir: Path,
    model: Path,
    credentials: str,
    action_url: str,
    port: Optional[int] = None,
    extra_args: Sequence[str] = (),
    name: str = "rasa-server",
    env: Optional[dict] = None,
    endpoints: str = "",
    processes: Optional[List[subprocess.Popen]] = None,
) -> Iterator[str]:
    """`rasa run` with the handover channel; yields its base URL.

    `endpoints` is added to endpoints.yml (e.g. a tracker store that outlives
    the process). The process is appended to `processes` (a test that kills it).
    """
    port = port or free_port()
    (workdir / "credentials.yml").write_text(credentials)
    (workdir / "endpoints.yml").write_text(
        f"action_endpoint:\n  url: {action_url}\n{endpoints}"
    )
    with running(
        name,
        [
            *RASA_FAST_LOAD,
            "run",
            "--model",
            str(model),
            "--credentials",
            "credentials.yml",
            "--endpoints",
            "endpoints.yml",
            "--port",
            str(port),
            *extra_args,
        ],
        f"http://127.0.0.1:{port}/webhooks/handover/",
        cwd=workdir,
        env=env,
    ) as process:
        if processes is not None:
            processes.append(process)
        base = f"http://127.0.0.1:{port}"
        warm_up(base)
        yield base


def warm_up(base: str) -> None:
    """One message through NLU and the policies before a test times anything.

    Rasa's first message after start-up builds TensorFlow's graphs (seconds on a
    busy machine); tests that time the bot's answers must not time that. The
    sender `warm-up` is no customer of any test; its greeting hands nothing over.
    """
    requests.post(
        f"{base}/webhooks/handover/webhook",
        json={"sender": "warm-up", "message": "hello"},
        timeout=STARTUP_TIMEOUT_SECONDS,
    )


@contextmanager
def standalone_inbox(
    workdir: Path,
    config: str,
    port: int,
    db: Optional[str] = None,
    schema: Optional[str] = None,
    name: str = "standalone-inbox",
) -> Iterator[str]:
    """`rasa-handover inbox` (on `db`, default a SQLite file); yields its API URL.

    `name` names its log (replicas: one each).
    """
    with inbox_replica(workdir, config, port, db, schema, name) as (base, _process):
        yield base


@contextmanager
def inbox_replica(
    workdir: Path,
    config: str,
    port: int,
    db: Optional[str] = None,
    schema: Optional[str] = None,
    name: str = "standalone-inbox",
) -> Iterator[Tuple[str, subprocess.Popen]]:
    """Like `standalone_inbox`, yielding its API URL and its process.

    Several replicas: give each its own `workdir` (its inbox.yml) and `name`
    (its log), and the same `db` and `schema`.
    """
    (workdir / "inbox.yml").write_text(config)
    database = ["--db", db or f"sqlite:///{workdir}/inbox.db"]
    if schema:
        database += ["--schema", schema]
    base = f"http://127.0.0.1:{port}/webhooks/handover/inbox"
    with running(
        name,
        [
            str(BIN / "rasa-handover"),
            "inbox",
            "--config",
            "inbox.yml",
            *database,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        f"{base}/api/health",
        cwd=workdir,
    ) as process:
        yield base, process
