"""The local database from the command line: `uv run python -m tools.db <command>`.

With DATABASE_URL set (environment or .env) the commands use that database. Without it, in
development, they use the project's own PostgreSQL that tools.dev creates (creating it if need
be), started for the command when tools.dev is not running. `seed` signs in like the tests do:
with auth, the records belong to owner@example.com (tests/auth/users.py).
"""

import argparse
import asyncio
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import asyncpg
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from app.core.config import Settings
from tools.cli import one_line_errors
from tools.dev import DATABASE
from tools.local_database import configured_database_url, project_database
from tools.local_postgres import LocalPostgres, PostgresUnavailableError

PROJECT_DIR = Path(__file__).resolve().parent.parent
SEED_ROWS = 10


def alembic(url: str, *args: str) -> int:
    command = [sys.executable, "-m", "alembic", *args]
    env = os.environ | {"DATABASE_URL": url}
    return subprocess.run(command, env=env, cwd=PROJECT_DIR, check=False).returncode


def psql(server: LocalPostgres | None, url: str, args: list[str]) -> int:
    found = shutil.which("psql")
    if server is not None and (server.bindir / "psql").is_file():
        found = str(server.bindir / "psql")
    if found is None:
        print("psql was not found: install PostgreSQL's client (psql).", file=sys.stderr)
        return 1
    libpq_url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run([found, libpq_url, *args], check=False).returncode


class SeedError(RuntimeError):
    """The API refused to list or create records; the message says which."""


async def seed(settings: Settings, rows: int) -> None:
    """`rows` records of each resource through the API, skipping resources that have some."""
    # The app and the tests' helpers are imported here only: the other commands start faster.
    from app.main import create_app
    from tests.clients import running
    from tests.factories import all_factories

    app = create_app(settings)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise
    async with running(app) as client:
        for factory in all_factories():
            listed = await client.get(factory.path, params={"limit": 1})
            if listed.status_code != 200:
                raise SeedError(
                    f"GET {factory.path} answered {listed.status_code}: are the migrations "
                    "applied? (uv run python -m tools.db migrate)"
                )
            if listed.json()["items"]:
                print(f"{factory.path}: has records already, left as it is")
                continue
            for i in range(rows):
                try:
                    await factory.create(client, i)
                except AssertionError as refused:  # the factory's check of the 201
                    raise SeedError(f"POST {factory.path} was refused: {refused}") from None
            print(f"{factory.path}: {rows} records")


async def recreate(server: LocalPostgres, database: str) -> None:
    connection = await asyncpg.connect(server.url().replace("+asyncpg", ""))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        await connection.close()


def run(args: argparse.Namespace, server: LocalPostgres | None, url: str) -> int:
    if args.command == "url":
        print(url)
        return 0
    if args.command == "migrate":
        return alembic(url, "upgrade", args.revision)
    if args.command == "revision":
        return alembic(url, "revision", "--autogenerate", "-m", args.message)
    if args.command == "psql":
        return psql(server, url, args.psql_args)
    if args.command == "reset":
        if server is None:
            print("reset drops the project's own database, never DATABASE_URL's.", file=sys.stderr)
            return 2
        asyncio.run(recreate(server, DATABASE))
        return alembic(url, "upgrade", "head")
    # Errors only: seed signs in with a key of its own process, which the app would warn about.
    settings = Settings(database_url=SecretStr(url), log_level="ERROR")
    if settings.environment == "production":
        print("seed adds test records: not in production.", file=sys.stderr)
        return 2
    try:
        asyncio.run(seed(settings, args.rows))
    except SeedError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.db",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    commands.add_parser("url", help="print the database's URL (DATABASE_URL's, or the local one)")
    migrate = commands.add_parser("migrate", help="alembic upgrade head (or to REVISION)")
    migrate.add_argument("revision", nargs="?", default="head")
    revision = commands.add_parser(
        "revision", help='alembic revision --autogenerate: revision -m "add due to tasks"'
    )
    revision.add_argument("-m", "--message", required=True)
    commands.add_parser("psql", help="an interactive psql (psql's own arguments follow)")
    seeding = commands.add_parser(
        "seed", help="records for every resource from tests/factories; skips those that have some"
    )
    seeding.add_argument("--rows", type=int, default=SEED_ROWS, help="per resource")
    commands.add_parser(
        "reset", help="drop the project's own database and migrate again (never DATABASE_URL's)"
    )
    return parser


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    command_line = parser()
    args, psql_args = command_line.parse_known_args(argv)
    if psql_args and args.command != "psql":
        command_line.error(f"unrecognized arguments: {' '.join(psql_args)}")
    args.psql_args = psql_args
    if configured := configured_database_url():
        return run(args, None, configured)
    try:
        with project_database(DATABASE) as (server, url):
            return run(args, server, url)
    except PostgresUnavailableError as error:
        print(error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
