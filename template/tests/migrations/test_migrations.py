"""The migrations: pytest-alembic's standard checks, a full upgrade/downgrade round trip, and the
whole schema they build compared with the one the models describe.

pytest-alembic contributes: a single head; base -> head upgrades; models matching the
migrated schema (what `alembic check` reports); and every revision stepping down and up again.
`alembic check` misses CHECK constraints and more: tests/migrations/catalog.py compares all.
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
from sqlalchemy import Connection, NullPool, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import app.models  # noqa: F401  (registers every table on the metadata)
from app.db.base import Base
from app.db.unmanaged import is_managed
from tests.database import DatabaseServer, alembic_config, migrate
from tests.migrations.catalog import schema_diff, schema_lines, with_legacy_types_accepted

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


@pytest.fixture(scope="module")
async def modelled_database(database_server: DatabaseServer) -> AsyncIterator[AsyncEngine]:
    """A new database holding the schema `Base.metadata.create_all` makes from the models (the
    tests that change it roll back)."""
    name = f"{database_server.base_name}_models_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    engine = create_async_engine(await database_server.create_database(name), poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        yield engine
    finally:
        await engine.dispose()
        await database_server.drop_database(name)


async def test_the_migrations_build_the_schema_the_models_describe(
    engine: AsyncEngine, modelled_database: AsyncEngine
) -> None:
    """Columns, types, defaults, nullability, CHECK, UNIQUE, foreign keys and their actions,
    indexes and their predicates, comments: the session's database (migrated to head) against
    the models' own DDL. `alembic revision --autogenerate` leaves CHECK constraints out: write
    them into the migration by hand."""
    async with engine.connect() as connection:
        migrated = await schema_lines(connection)
    async with modelled_database.connect() as connection:
        modelled = await schema_lines(connection)
    assert migrated, "no table of the models found in the migrated database"
    diff = schema_diff(with_legacy_types_accepted(migrated, modelled), modelled)
    assert not diff, f"The migrations and the models describe different schemas:\n{diff}"


# Changes a migration can miss that Alembic's comparison does not see, each with what the
# comparison must then report.
DRIFTS = {
    "check": ('ALTER TABLE {table} ADD CONSTRAINT "ck_{name}_drift" CHECK (version > 0)', "CHECK"),
    "default": ("ALTER TABLE {table} ALTER COLUMN version SET DEFAULT 1", "default '1'"),
    "predicate": (
        'CREATE INDEX "ix_{name}_drift" ON {table} (created_at) WHERE version > 1',
        "WHERE (version > 1)",
    ),
    "comment": ("COMMENT ON COLUMN {table}.version IS 'drift'", "comment 'drift'"),
}


@pytest.mark.parametrize("drift", DRIFTS)
async def test_the_comparison_sees_what_alembic_does_not(
    modelled_database: AsyncEngine, drift: str
) -> None:
    """The models' schema against itself with one change (rolled back after): the diff names
    the change, on the side that has it."""
    statement, reported = DRIFTS[drift]
    # A resource's table: each has the version and created_at columns of app/db/base.py's Entity.
    name = next(
        t.name for t in Base.metadata.sorted_tables if {"version", "created_at"} <= set(t.c.keys())
    )
    async with modelled_database.connect() as connection:
        before = await schema_lines(connection)
        table = connection.dialect.identifier_preparer.quote(name)
        await connection.execute(text(statement.format(table=table, name=name)))
        after = await schema_lines(connection)
        await connection.rollback()  # DDL is transactional in PostgreSQL
        assert await schema_lines(connection) == before

    diff = schema_diff(migrated=before, modelled=after).splitlines()
    assert diff, f"{drift}: no difference reported"
    assert all(f" {name}: " in line for line in diff), diff
    assert any(line.startswith("models only:") and reported in line for line in diff), diff


def test_types_of_tables_created_before_0_3_0_read_as_the_models_describe_them() -> None:
    """varchar(n) for text with its length CHECK, integer for a bigint version (alembic/env.py
    accepts the same); nothing else, and only where the models say so."""
    column = "column notes: {} NOT NULL default NULL identity '' generated '' collation NULL"
    check = "constraint notes: ck_notes_body_len CHECK ((char_length(body) <= 30)) comment NULL"
    modelled = {column.format("body text"), check, column.format("version bigint")}
    migrated = {column.format("body character varying(30)"), column.format("version integer")}
    assert with_legacy_types_accepted(migrated, modelled) == modelled

    without_check = {column.format("body text"), column.format("version bigint")}
    assert schema_diff(with_legacy_types_accepted(without_check, modelled), modelled) == (
        f"models only:     {check}"
    )
    # A text column the models give no length CHECK: its varchar(30) is a difference.
    unchecked_model = {column.format("body text"), column.format("version bigint")}
    legacy_body = column.format("body character varying(30)")
    assert legacy_body in with_legacy_types_accepted(migrated, unchecked_model)
