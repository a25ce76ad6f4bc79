"""Alembic environment: migrations run on an async engine built from the app settings.

Programmatic callers (the test suite, pytest-alembic) may pass `config.attributes["connection"]`:
an open synchronous connection, or an async engine to run on. Otherwise the URL comes from
`config.attributes["database_url"]`, else from the settings: DATABASE_DIRECT_URL, defaulting to
DATABASE_URL (migrations need a session on PostgreSQL itself, never PgBouncer's transaction pool).

Online runs take the migration lock first (app/db/migration_lock.py), so replicas that all run
`alembic upgrade head` at once migrate one after the other.
"""

import asyncio
from contextlib import AbstractContextManager, nullcontext
from logging.config import fileConfig
from typing import Any

import sqlalchemy as sa
from alembic import context
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Connection, pool
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.types import TypeEngine

import app.models  # noqa: F401  (registers every table on the metadata)
from app.core.config import Settings, get_settings
from app.db import migration_lock, migration_ops
from app.db.base import Base
from app.db.unmanaged import include_name

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    url = config.attributes.get("database_url")
    return url if isinstance(url, str) else get_settings().direct_database_url()


def lock_wait_seconds() -> float:
    """MIGRATION_LOCK_TIMEOUT_SECONDS; programmatic callers, which need no settings, may pass
    `config.attributes["migration_lock_timeout_seconds"]` or get the setting's default."""
    if "connection" not in config.attributes:
        return get_settings().migration_lock_timeout_seconds
    default = Settings.model_fields["migration_lock_timeout_seconds"].default
    return float(config.attributes.get("migration_lock_timeout_seconds", default))


def set_timeouts() -> None:
    """The same limits online and in the offline SQL (`alembic upgrade head --sql`)."""
    for statement in migration_ops.time_limits():  # LOCK_TIMEOUT and STATEMENT_TIMEOUT there
        context.execute(statement)


def compare_type(
    migration: MigrationContext,
    inspected_column: Column[Any],
    metadata_column: Column[Any],
    inspected_type: TypeEngine[Any],
    metadata_type: TypeEngine[Any],
) -> bool | None:
    """Accept the column types tables created before template 0.3.0 have (VARCHAR(n) for a
    str(n) field, now TEXT with a length CHECK; INTEGER for `version`, now BIGINT), so existing
    tables need no migration; anything else is compared as usual (None)."""
    if isinstance(inspected_type, sa.VARCHAR) and isinstance(metadata_type, sa.Text):
        return False
    if metadata_column.name == "version" and isinstance(inspected_type, sa.INTEGER):
        return not isinstance(metadata_type, sa.BigInteger)
    return None


def run_migrations(connection: Connection) -> None:
    migration_lock.acquire(connection, lock_wait_seconds())
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=compare_type,
        include_name=include_name,
    )
    with context.begin_transaction():
        set_timeouts()
        context.run_migrations()
    # On failure the lock goes with the session: the connection is closed or rolled back by
    # its owner, and a failed transaction could not run the unlock anyway.
    migration_lock.release(connection)


def local_server() -> AbstractContextManager[object]:
    """In development without DATABASE_URL: the project's own PostgreSQL, started for this run
    unless it runs already (tools.dev). tools/ is not in the image: imported in that case only."""
    if "database_url" in config.attributes or not get_settings().uses_local_database:
        return nullcontext()
    from tools.local_database import serving

    return serving(get_settings())


async def run_migrations_on(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.run_sync(run_migrations)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        set_timeouts()
        context.run_migrations()
elif isinstance(connectable := config.attributes.get("connection"), Connection):
    run_migrations(connectable)
elif isinstance(connectable, AsyncEngine):
    asyncio.run(run_migrations_on(connectable))
else:
    with local_server():
        engine = create_async_engine(database_url(), poolclass=pool.NullPool)
        asyncio.run(run_migrations_on(engine))
