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
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Optional

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


def run(args: argparse.Namespace) -> int:
    """Runs `rasa-handover report`; returns the exit code."""
    try:
        since = parse_since(args.since)
    except ValueError as error:
        print(f"rasa-handover report: {error}")
        return 2
    try:
        records = asyncio.run(read_tickets(args.db, args.schema, since))
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


async def read_tickets(
    db: str, schema: Optional[str] = None, since: Optional[datetime] = None
) -> List[OutcomeRecord]:
    """Every ticket, open or resolved, labelled or not, oldest first."""
    from rasa_handover.inbox.store import InboxStore

    store = InboxStore(db, schema=schema)
    try:
        return await store.outcomes(
            since=since, labelled_only=False, resolved_only=False
        )
    finally:
        await store.close()
