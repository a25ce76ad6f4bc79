"""Replicas that all run `alembic upgrade head` at once take turns instead of racing.

The command runs as deployments run it: `alembic upgrade head` in processes of its own.
"""

import asyncio
import os
import sys
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import make_url

import app.models  # noqa: F401  (registers every table on the metadata)
from app.db.base import Base
from app.db.migration_lock import MIGRATION_LOCK_KEY
from tests.database import PROJECT_DIR, DatabaseServer
from tests.migrations.test_migrations import table_names


@pytest.fixture
async def empty_database(database_server: DatabaseServer) -> AsyncIterator[str]:
    name = f"{database_server.base_name}_lock_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    yield await database_server.create_database(name)
    await database_server.drop_database(name)


def plain_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def alembic_upgrade_head(url: str, **env: str) -> tuple[int, str]:
    """`alembic upgrade head` in a process of its own; its exit code and output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "alembic",
        "upgrade",
        "head",
        cwd=PROJECT_DIR,
        env=os.environ | {"DATABASE_URL": url} | env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


async def sessions_on(connection: asyncpg.Connection, database: str) -> int:
    count: int = await connection.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", database
    )
    return count


async def test_two_concurrent_upgrades_both_succeed_and_migrate_once(empty_database: str) -> None:
    # Hold the lock until both runs are connected and waiting for it, so that they overlap.
    holder = await asyncpg.connect(plain_dsn(empty_database))
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        runs = [asyncio.create_task(alembic_upgrade_head(empty_database)) for _ in range(2)]
        database = make_url(empty_database).database
        assert database is not None
        for _ in range(600):  # at most a minute
            if await sessions_on(holder, database) >= 3 or any(run.done() for run in runs):
                break
            await asyncio.sleep(0.1)
        finished = [run.result() for run in runs if run.done()]
        assert not finished, f"a run did not wait for the lock: {finished}"
        await holder.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
        results = await asyncio.gather(*runs)
    finally:
        await holder.close()

    assert [code for code, _ in results] == [0, 0], results
    applied = [output for _, output in results if "Running upgrade" in output]
    assert len(applied) == 1, results  # the other run found the schema already at head
    assert await table_names(empty_database) == set(Base.metadata.tables)


async def test_a_run_that_waits_too_long_fails_with_a_clear_error(empty_database: str) -> None:
    holder = await asyncpg.connect(plain_dsn(empty_database))
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        holder_pid = holder.get_server_pid()
        code, output = await alembic_upgrade_head(
            empty_database, MIGRATION_LOCK_TIMEOUT_SECONDS="1"
        )
    finally:
        await holder.close()

    assert code != 0
    assert "Another migration has held the migration lock for over 1s" in output
    assert f"server process {holder_pid}" in output
    assert await table_names(empty_database) == set()
