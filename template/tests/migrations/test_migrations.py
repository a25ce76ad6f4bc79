"""The migrations: pytest-alembic's standard checks, and a full upgrade/downgrade round trip.

pytest-alembic contributes: a single head; base -> head upgrades; models matching the
migrated schema (what `alembic check` reports); and every revision stepping down and up again.
"""

import os
from collections.abc import AsyncIterator

import pytest
from alembic.config import Config
from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy import Connection, NullPool, inspect
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import app.models  # noqa: F401  (registers every table on the metadata)
from app.db.base import Base
from app.db.unmanaged import is_managed
from tests.database import DatabaseServer, alembic_config, migrate

__all__ = [
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]


@pytest.fixture
async def empty_database(database_server: DatabaseServer) -> AsyncIterator[str]:
    name = f"{database_server.base_name}_migrations_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    yield await database_server.create_database(name)
    await database_server.drop_database(name)


@pytest.fixture(name="alembic_config")
def pytest_alembic_config() -> Config:
    return alembic_config()


@pytest.fixture
def alembic_engine(empty_database: str) -> AsyncEngine:
    return create_async_engine(empty_database, poolclass=NullPool)


def tables(connection: Connection) -> set[str]:
    """The tables the models describe (others, like the job queue's, have tests of their own)."""
    names = set(inspect(connection).get_table_names()) - {"alembic_version"}
    return {name for name in names if is_managed(name)}


async def table_names(url: str) -> set[str]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(tables)
    finally:
        await engine.dispose()


async def test_upgrade_downgrade_upgrade_round_trip(empty_database: str) -> None:
    await migrate(empty_database, "head")
    assert await table_names(empty_database) == set(Base.metadata.tables)

    await migrate(empty_database, "base", direction="downgrade")
    assert await table_names(empty_database) == set()

    await migrate(empty_database, "head")
    assert await table_names(empty_database) == set(Base.metadata.tables)
