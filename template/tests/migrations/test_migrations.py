"""The migrations: one head, a clean upgrade/downgrade round trip, and no drift from the models."""

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, NullPool, inspect
from sqlalchemy.ext.asyncio import create_async_engine

import app.models  # noqa: F401  (registers every table on the metadata)
from app.db.base import Base
from tests.database import DatabaseServer, alembic_config, migrate


@pytest.fixture
async def empty_database(database_server: DatabaseServer) -> AsyncIterator[str]:
    name = f"{database_server.base_name}_migrations_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    yield await database_server.create_database(name)
    await database_server.drop_database(name)


async def run(url: str, check: Any) -> Any:
    """Call `check(connection)` on a synchronous connection to `url`."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(check)
    finally:
        await engine.dispose()


def tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def drift(connection: Connection) -> list[Any]:
    """What `alembic revision --autogenerate` would add; empty when models match migrations."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def test_there_is_a_single_head() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1


async def test_upgrade_downgrade_upgrade_round_trip(empty_database: str) -> None:
    await migrate(empty_database, "head")
    assert await run(empty_database, tables) == set(Base.metadata.tables)

    await migrate(empty_database, "base", direction="downgrade")
    assert await run(empty_database, tables) == set()

    await migrate(empty_database, "head")
    assert await run(empty_database, tables) == set(Base.metadata.tables)


async def test_each_step_down_and_up_again_works(empty_database: str) -> None:
    script = ScriptDirectory.from_config(alembic_config())
    revisions = [revision.revision for revision in script.walk_revisions("base", "heads")]
    await migrate(empty_database, "head")
    for _ in revisions:
        await migrate(empty_database, "-1", direction="downgrade")
    for _ in revisions:
        await migrate(empty_database, "+1")
    assert await run(empty_database, drift) == []


async def test_models_match_the_migrations(empty_database: str) -> None:
    await migrate(empty_database, "head")
    assert await run(empty_database, drift) == []
