"""What the command-line tools answer when their environment is wrong (the settings, the
database): one line on standard error and a status, never a traceback. Bad arguments are each
tool's own to refuse (exit 2), like argparse does."""

import socket
import sys
from functools import wraps
from typing import Protocol

from pydantic import ValidationError


class Main(Protocol):
    def __call__(self, argv: list[str] | None = None) -> int: ...


def one_line_errors(main: Main) -> Main:
    """`main`, answering invalid settings with exit 2 and an unreachable database with exit 1."""

    @wraps(main)
    def guarded(argv: list[str] | None = None) -> int:
        try:
            return main(argv)
        except ValidationError as error:  # DATABASE_URL, ENVIRONMENT, ... from the environment
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or error.title}: {e['msg']}"
                for e in error.errors()
                if e["type"] != "default_factory_not_called"  # a consequence, not a cause
            )
            print(f"The settings are invalid: {problems}", file=sys.stderr)
            return 2
        except (ConnectionError, TimeoutError, socket.gaierror) as error:
            print(f"Cannot reach the database (DATABASE_URL): {error}", file=sys.stderr)
            return 1

    return guarded
