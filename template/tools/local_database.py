"""The project's own PostgreSQL for development: where its data lives, its URL, and starting it
for a command (tools.dev, tools.db, tools.create_user, `alembic` through alembic/env.py).

Its URL goes to LOCAL_DATABASE_URL_FILE, which the settings read in development when DATABASE_URL
is not set (app/core/config.py). Like the rest of tools/, this is not in the Docker image.
"""

import asyncio
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

import asyncpg
from dotenv import dotenv_values
from sqlalchemy.engine import make_url

from app.core.config import LOCAL_DATABASE_URL_FILE, Settings
from tools.local_postgres import SERVER_USER, SUPERUSER, LocalPostgres, reachable_by

PROJECT_DIR = Path(__file__).resolve().parent.parent


def project_data_dir(database: str) -> Path:
    """Where the project's own server keeps its data: `.postgres/`, or, when run as root and the
    PostgreSQL user cannot reach the project directory, a folder of the system temp directory."""
    data_dir = PROJECT_DIR / ".postgres"
    if os.geteuid() != 0 or reachable_by(SERVER_USER, PROJECT_DIR):
        return data_dir
    digest = hashlib.sha256(str(PROJECT_DIR).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"{database}-postgres-{digest}"


@contextmanager
def project_database(database: str) -> Iterator[tuple[LocalPostgres, str]]:
    """The project's own server, started for the block unless it runs already (then left
    running), with `database` created on first use; yields it and the database's URL.

    The URL is written to LOCAL_DATABASE_URL_FILE, where the settings read it in development
    when DATABASE_URL is not set (app/core/config.py), so `uv run alembic ...` and the tools
    find the database with or without `tools.dev` running."""
    server = LocalPostgres(project_data_dir(database))
    was_running = server.initialized and server.running()
    server.start()
    try:
        asyncio.run(_ensure_database(server, database))
        url = server.url(database)
        url_file = PROJECT_DIR / LOCAL_DATABASE_URL_FILE
        if not url_file.is_file() or url_file.read_text().strip() != url:
            url_file.write_text(url + "\n")
        yield server, url
    finally:
        if not was_running:
            server.stop()


def serving(settings: Settings) -> AbstractContextManager[object]:
    """For a command on the project's own PostgreSQL (development without DATABASE_URL): the
    server, started for the command unless it runs already (tools.dev). Otherwise nothing."""
    if not settings.uses_local_database:
        return nullcontext()
    database = make_url(settings.database_url.get_secret_value()).database
    return project_database(database or SUPERUSER)


def configured_database_url() -> str | None:
    """DATABASE_URL from the environment or .env, where the settings read it; None if unset."""
    dotenv = dotenv_values(PROJECT_DIR / ".env")
    return os.environ.get("DATABASE_URL") or dotenv.get("DATABASE_URL") or None


async def _ensure_database(server: LocalPostgres, name: str) -> None:
    connection = await asyncpg.connect(server.url().replace("+asyncpg", ""))
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
