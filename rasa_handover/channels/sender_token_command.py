"""`rasa-handover sender-token`: a REST customer's sender token, for trying it out.

    export HANDOVER_CUSTOMER_SECRET=...        # the channel's customer_secret
    rasa-handover sender-token dana --expires-in 3600
    curl -H "Authorization: Bearer $(rasa-handover sender-token dana)" ...

Production backends make tokens in their own code
(`rasa_handover.channels.sender_token`, or the recipe in docs/channel.md).
The secret is read from the environment, never from the command line (which
shell histories and process lists keep).
"""

import argparse
import os
import sys
import time

from rasa_handover.channels.customer_auth import checked_secret, sender_token

DEFAULT_SECRET_ENV = "HANDOVER_CUSTOMER_SECRET"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    parser.add_argument("sender", help="the sender (conversation) id")
    parser.add_argument(
        "--expires-in",
        type=int,
        default=0,
        metavar="SECONDS",
        help="seconds from now until the token is refused (default 0: never)",
    )
    parser.add_argument(
        "--secret-env",
        default=DEFAULT_SECRET_ENV,
        metavar="NAME",
        help=f"the environment variable with the customer_secret "
        f"(default {DEFAULT_SECRET_ENV})",
    )


def run(args: argparse.Namespace) -> int:
    """Prints the token; 2 with a message if the secret or expiry is unusable."""
    secret = os.environ.get(args.secret_env)
    if not secret:
        print(
            f"${args.secret_env} is not set: export the channel's `customer_secret` "
            f"in it (or name another variable with --secret-env).",
            file=sys.stderr,
        )
        return 2
    if args.expires_in < 0:
        print("--expires-in must be 0 (never) or more seconds.", file=sys.stderr)
        return 2
    try:
        checked_secret(secret)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    expires = int(time.time()) + args.expires_in if args.expires_in else 0
    print(sender_token(secret, args.sender, expires))
    return 0
