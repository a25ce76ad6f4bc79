"""Create a user from the command line, such as the first admin:

    uv run python -m tools.create_user admin@example.com --scope admin

The password is asked for (twice) on a terminal, or read from the first line of standard input
(`--password-stdin`, for scripts). The database is DATABASE_URL's, as for the service (in
development without it, the project's own PostgreSQL, started for the command if need be). The user
goes through the same validation and hashing as `POST /api/v1/users`.
"""

import argparse
import asyncio
import getpass
import sys

from pydantic import ValidationError

from app.core.config import Settings, get_settings
from app.core.errors import ConflictError
from app.core.scopes import SCOPES
from app.db.session import Database
from app.schemas.user import UserCreate, UserRead
from app.security.credentials import Credentials
from app.services.base import Caller
from app.services.user import UserService
from tools.cli import one_line_errors
from tools.local_database import serving


async def create_user(settings: Settings, data: UserCreate) -> UserRead:
    """`data` as a new user in the database of `settings` (ConflictError if the email is taken)."""
    database = Database.connect(settings)
    try:
        async with database.session() as session:
            caller = Caller(credentials=Credentials.from_settings(settings))
            service = UserService.for_caller(session, caller)
            return await service.create(data)
    finally:
        await database.dispose()


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != password:
        raise SystemExit("The passwords differ; nothing was created.")
    return password


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.create_user",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("email")
    parser.add_argument(
        "--scope", action="append", default=[], choices=sorted(SCOPES), help="repeatable"
    )
    parser.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    args = parser.parse_args(argv)
    try:
        password = read_password(args.password_stdin)
    except EOFError:
        print("No password given: type it at a terminal, or use --password-stdin", file=sys.stderr)
        return 2
    try:
        data = UserCreate(email=args.email, password=password, scopes=args.scope)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        print(f"Nothing was created: {problems}", file=sys.stderr)
        return 2
    try:
        with serving(settings := get_settings()):
            user = asyncio.run(create_user(settings, data))
    except ConflictError as error:
        print(f"Nothing was created: {error}", file=sys.stderr)
        return 1
    print(f"Created user {user.id} ({user.email}) with scopes: {', '.join(user.scopes) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
