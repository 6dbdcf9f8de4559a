"""`rasa-handover report`: the handovers in figures, from the inbox database.

    rasa-handover report --db sqlite:///handover.db
    rasa-handover report --db postgresql://... --since 2026-09-01 --html report.html

Reads every ticket (`InboxStore.outcomes`, open ones too), computes the
figures (`feedback.report`), prints the summary, and writes a self-contained
HTML page with plots (`feedback.report_html`) and the same figures as JSON for
dashboards.
"""

import argparse
import asyncio
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, List, Optional

from rasa_handover.feedback.report import figures, summary
from rasa_handover.feedback.report_html import render
from rasa_handover.feedback.tune_command import parse_since
from rasa_handover.inbox.config import DEFAULT_DB_URL
from rasa_handover.inbox.models import OutcomeRecord

DEFAULT_HTML = "handover_report.html"
DEFAULT_JSON = "handover_report.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `rasa-handover report`."""
    parser.add_argument("--db", default=DEFAULT_DB_URL, help="the inbox database URL")
    parser.add_argument("--schema", default=None, help="PostgreSQL schema")
    parser.add_argument(
        "--since",
        default=None,
        help="only handovers requested on or after this date (YYYY-MM-DD)",
    )
    parser.add_argument("--html", default=DEFAULT_HTML, help="the HTML page to write")
    parser.add_argument("--json", default=DEFAULT_JSON, help="the JSON file to write")
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar while the tickets are read (there is none when "
        "stderr is not a terminal either)",
    )


def run(args: argparse.Namespace) -> int:
    """Runs `rasa-handover report`; returns the exit code."""
    try:
        since = parse_since(args.since)
    except ValueError as error:
        print(f"rasa-handover report: {error}")
        return 2
    try:
        with ProgressBar(not args.no_progress and sys.stderr.isatty()) as bar:
            records = asyncio.run(read_tickets(args.db, args.schema, since, bar))
    except Exception as error:  # Any driver's error: say which URL failed.
        print(
            f"rasa-handover report: cannot read the tickets from {args.db} "
            f"({error}). Pass the inbox database with --db."
        )
        return 2
    document = figures(records, now=datetime.now(timezone.utc))
    print(summary(document))
    for path, text in (
        (Path(args.html), render(document)),
        (Path(args.json), json.dumps(document, indent=2) + "\n"),
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"\nWrote {args.html} (open it in a browser) and {args.json}.")
    return 0


class ProgressBar:
    """tqdm's bar on stderr over the tickets read; none when `shown` is False.

    `with ProgressBar(shown) as bar`: `bar` is None when not shown, else
    `InboxStore.outcomes`' `progress` hook: `bar(total)` opens the bar and
    returns what advances it by one ticket.
    """

    def __init__(self, shown: bool) -> None:
        self.shown = shown
        self._bar: Any = None

    def __enter__(self) -> Optional["ProgressBar"]:
        return self if self.shown else None

    def __exit__(self, *_: Any) -> None:
        if self._bar is not None:
            self._bar.close()

    def __call__(self, total: int) -> Callable[[], None]:
        """Opens the bar over `total` tickets; returns what advances it by one."""
        from tqdm import tqdm

        self._bar = tqdm(
            total=total, desc="Reading tickets", unit="ticket", file=sys.stderr
        )
        return lambda: self._bar.update(1)


async def read_tickets(
    db: str,
    schema: Optional[str] = None,
    since: Optional[datetime] = None,
    progress: Optional[Callable[[int], Callable[[], None]]] = None,
) -> List[OutcomeRecord]:
    """Every ticket, open or resolved, labelled or not, oldest first.

    `progress`: a progress bar's hook (see `InboxStore.outcomes`).
    """
    from rasa_handover.inbox.store import InboxStore

    store = InboxStore(db, schema=schema)
    try:
        return await store.outcomes(
            since=since, labelled_only=False, resolved_only=False, progress=progress
        )
    finally:
        await store.close()
