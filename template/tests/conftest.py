"""Fixtures: a real PostgreSQL database per worker, and one rolled-back transaction per test.

Every test runs inside an outer transaction on one connection; the app's sessions join it through
savepoints, so application code may commit while the test still sees nothing of other tests' rows.
"""

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.core.config import Settings
from app.db.session import create_engine
from app.main import create_app
from tests.clients import client_for, in_test_transaction
from tests.database import DatabaseServer
from tools.local_postgres import PostgresUnavailableError

SERVER = pytest.StashKey[DatabaseServer]()
WORKER_INPUT_KEY = "database_server"


def pytest_configure(config: pytest.Config) -> None:
    """Start (or find) the server and migrate the template database once, in the controller."""
    if hasattr(config, "workerinput") or config.option.help or config.option.collectonly:
        return
    try:
        server = DatabaseServer.start()
    except PostgresUnavailableError as error:
        pytest.exit(str(error), returncode=pytest.ExitCode.USAGE_ERROR)
    try:
        asyncio.run(server.prepare_template())
    except BaseException:
        server.stop()  # a throwaway server must not outlive a failed start
        raise
    config.stash[SERVER] = server


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Hand the server to each pytest-xdist worker."""
    node.workerinput[WORKER_INPUT_KEY] = node.config.stash[SERVER].to_dict()


def pytest_unconfigure(config: pytest.Config) -> None:
    if (server := config.stash.get(SERVER, None)) is not None:
        asyncio.run(server.drop_database(server.template_name))
        server.stop()


@pytest.fixture(scope="session")
def database_server(pytestconfig: pytest.Config) -> DatabaseServer:
    workerinput = getattr(pytestconfig, "workerinput", None)
    if workerinput is not None:
        return DatabaseServer(**workerinput[WORKER_INPUT_KEY])
    return pytestconfig.stash[SERVER]


@pytest.fixture(scope="session")
async def database_url(database_server: DatabaseServer) -> AsyncIterator[str]:
    """This worker's database: a copy of the migrated template."""
    name = f"{database_server.base_name}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    url = await database_server.create_database(name, template=database_server.template_name)
    yield url
    await database_server.drop_database(name)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        database_url=SecretStr(database_url),
        environment="test",
        log_level="WARNING",  # no access-log line per request in test output
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            await transaction.rollback()


@pytest.fixture
async def session(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    async with in_test_transaction(connection).session() as session:
        yield session


@pytest.fixture(scope="session")
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
async def client(app: FastAPI, connection: AsyncConnection) -> AsyncIterator[AsyncClient]:
    async with await client_for(app, connection) as client:
        yield client


@pytest.fixture
async def live_settings(
    database_server: DatabaseServer, settings: Settings
) -> AsyncIterator[Settings]:
    """Settings for a database of this test's own (a copy of the template), for tests that need
    real commits and several connections at once: concurrency, outages, timeouts."""
    name = f"{database_server.base_name}_live_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    url = await database_server.create_database(name, template=database_server.template_name)
    yield settings.model_copy(update={"database_url": SecretStr(url)})
    await database_server.drop_database(name)
