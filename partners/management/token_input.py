"""Tokens given to our commands: on the command line (visible to every user of the machine
in the process list, and kept in shell history), or better from an environment variable or
standard input."""

import os
import sys

from django.core.management.base import CommandError


def add_token_arguments(parser, *, what: str, required: bool) -> None:
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument(
        "--token",
        help=f"{what} (shows in the process list and shell history: prefer the options below)",
    )
    group.add_argument(
        "--token-env", metavar="VARIABLE", help=f"read {what} from this environment variable"
    )
    group.add_argument(
        "--token-stdin",
        action="store_true",
        help=f"read {what} from the first line of standard input",
    )


def read_token(options: dict) -> str | None:
    """The token from whichever source was chosen (None when none was), without the line
    break; an empty token is refused."""
    if options.get("token_env"):
        name = options["token_env"]
        if name not in os.environ:
            raise CommandError(f"the environment variable {name} is not set")
        token = os.environ[name]
    elif options.get("token_stdin"):
        stream = options.get("stdin") or sys.stdin
        token = stream.readline().rstrip("\r\n")
    else:
        return options.get("token")
    if not token:
        raise CommandError("the token is empty")
    return token
