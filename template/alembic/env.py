"""Alembic environment: migrations run on an async engine built from the app settings.

Programmatic callers (the test suite, pytest-alembic) may pass `config.attributes["connection"]`:
an open synchronous connection, or an async engine to run on. Otherwise the URL comes from
`config.attributes["database_url"]`, else from the DATABASE_URL setting.
"""

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import app.models  # noqa: F401  (registers every table on the metadata)
from app.core.config import get_settings
from app.db.base import Base

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    url = config.attributes.get("database_url")
    return url if isinstance(url, str) else get_settings().database_url.get_secret_value()


def run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        # Fail fast instead of queueing behind long transactions while holding locks.
        connection.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
        context.run_migrations()


async def run_migrations_on(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.run_sync(run_migrations)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif isinstance(connectable := config.attributes.get("connection"), Connection):
    run_migrations(connectable)
elif isinstance(connectable, AsyncEngine):
    asyncio.run(run_migrations_on(connectable))
else:
    asyncio.run(run_migrations_on(create_async_engine(database_url(), poolclass=pool.NullPool)))
