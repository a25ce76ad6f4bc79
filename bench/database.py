"""The benchmark's PostgreSQL: a throwaway server, and databases seeded through the project's own
migrations (the schema is the one users deploy) and then `generate_series`."""

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Self

from bench.errors import HarnessError
from bench.project import RenderedProject
from tests.support.postgres import load_local_postgres

# On top of LocalPostgres's own settings: room for both apps' pools and a realistic buffer cache.
SERVER_SETTINGS = {"shared_buffers": "256MB", "max_connections": "200"}

SEED = """
INSERT INTO tasks (title, description, done, version)
SELECT 'Task ' || n,
       CASE WHEN n % 4 = 0 THEN NULL ELSE 'Description of task ' || n END,
       n % 3 = 0,
       1
FROM generate_series(1, {rows}) AS n
"""


class BenchServer:
    """A PostgreSQL server in a temporary directory, deleted when stopped.

    `durable=False` turns fsync, synchronous_commit and full_page_writes off: faster, and
    unfaithful to production for writes (POST), so full runs keep the defaults.
    """

    def __init__(self, *, durable: bool) -> None:
        local_postgres = load_local_postgres()
        self.unavailable: type[Exception] = local_postgres.PostgresUnavailableError
        data_dir = Path(tempfile.mkdtemp(prefix="bench-postgres-"))
        try:
            self.local: Any = local_postgres.LocalPostgres(data_dir, durable=durable)
        except self.unavailable as error:
            shutil.rmtree(data_dir, ignore_errors=True)
            raise HarnessError(str(error)) from error
        self.durable = durable

    def start(self) -> None:
        try:
            self.local.init()
            with (self.local.data_dir / "postgresql.conf").open("a") as conf:
                conf.writelines(f"{name} = {value}\n" for name, value in SERVER_SETTINGS.items())
            self.local.start()
        except self.unavailable as error:
            self.remove()
            raise HarnessError(str(error)) from error

    def stop(self) -> None:
        self.local.stop()
        self.remove()

    def remove(self) -> None:
        shutil.rmtree(self.local.data_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def url(self, database: str, *, driver: str = "asyncpg") -> str:
        """The URL of `database`: SQLAlchemy's (postgresql+asyncpg://) or libpq's (driver="")."""
        url: str = self.local.url(database)
        return url if driver == "asyncpg" else url.replace("+asyncpg", "")

    def psql(self, database: str, *statements: str) -> str:
        """Run SQL statements in `database`, each in its own transaction; returns psql's output."""
        command = [str(self.local.bindir / "psql"), self.url(database, driver=""), "-XAtq"]
        command += ["-v", "ON_ERROR_STOP=1"]
        for statement in statements:
            command += ["-c", statement]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise HarnessError(f"psql failed in {database}:\n{result.stderr}")
        return result.stdout.strip()

    def create_database(self, name: str) -> None:
        self.psql("postgres", f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')


class TaskTable:
    """The `tasks` table of one benchmark database, holding ids 1..rows after seeding."""

    def __init__(self, server: BenchServer, database: str, rows: int) -> None:
        self.server = server
        self.database = database
        self.rows = rows

    @classmethod
    def create(cls, server: BenchServer, project: RenderedProject, name: str, rows: int) -> Self:
        """A new database with the project's schema (from its migrations) and `rows` tasks."""
        server.create_database(name)
        project.migrate(server.url(name))
        table = cls(server, name, rows)
        table.seed()
        return table

    def seed(self) -> None:
        """Fill the migrated, empty table with `rows` rows and refresh the planner's statistics."""
        self.server.psql(self.database, SEED.format(rows=f"{self.rows:d}"), "VACUUM ANALYZE tasks")
        highest = self.server.psql(self.database, "SELECT count(*), max(id) FROM tasks")
        if highest != f"{self.rows}|{self.rows}":
            raise HarnessError(f"seeding {self.database} gave (count|max id) {highest}")

    def reset(self) -> None:
        """Remove the rows POST runs added, so every run starts from the same table."""
        delete = f"DELETE FROM tasks WHERE id > {self.rows:d}"  # noqa: S608  (an int)
        self.server.psql(self.database, delete, "VACUUM tasks")
