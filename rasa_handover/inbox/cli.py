"""`rasa-handover inbox`: run the inbox as its own service.

`cli.py` at the package root can mount this as a sub-command with
`add_arguments(parser)` and `run(args)`; `python -m rasa_handover.inbox` runs it
directly.
"""

import argparse
import logging
import sys
from typing import List, Optional

from rasa_handover.inbox.config import (
    InboxConfig,
    InboxConfigError,
    check_agent_tokens,
)

# A standalone inbox serves channels on other hosts, not only localhost.
DEFAULT_HOST = "0.0.0.0"
DEFAULT_PORT = 5006

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the inbox options to `parser`."""
    parser.add_argument(
        "--config", help="inbox.yml with agents, business hours, shared secret"
    )
    parser.add_argument(
        "--db", help="database URL (overrides the config), e.g. postgresql://..."
    )
    parser.add_argument(
        "--schema", help="PostgreSQL schema for the tables (default: search path)"
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="interface to bind")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port")
    parser.add_argument("--workers", type=int, default=1, help="Sanic worker processes")


def run(args: argparse.Namespace) -> int:
    """Starts the standalone inbox; returns the exit code.

    Args:
        args: Parsed options from `add_arguments`.

    Returns:
        0 after a clean shutdown, 2 on a configuration error or a database
        schema newer than this code.

    """
    from rasa_handover.inbox.api import create_app
    from rasa_handover.inbox.store import SchemaVersionError

    try:
        config = InboxConfig.from_yaml(args.config) if args.config else InboxConfig()
        check_agent_tokens(config)
    except InboxConfigError as error:
        print(f"rasa-handover inbox: {error}", file=sys.stderr)
        return 2
    if not config.agents:
        logger.warning("No agents configured: nobody can log in to the inbox.")
    if config.signing_keys is None:
        logger.warning(
            "No shared_secret configured: the channel endpoints are off, so "
            "channels cannot reach this inbox."
        )
    app = create_app(args.db or config.db_url, config, schema=args.schema)
    try:
        app.run(host=args.host, port=args.port, workers=args.workers, access_log=False)
    except SchemaVersionError as error:
        print(f"rasa-handover inbox: {error}", file=sys.stderr)
        return 2
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of `python -m rasa_handover.inbox`."""
    parser = argparse.ArgumentParser(
        prog="rasa-handover inbox", description="Run the handover inbox service."
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
