"""HTTP clients for the app under test, and sessions joined to a test's transaction."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker

from app.db.session import Database


def in_test_transaction(connection: AsyncConnection) -> Database:
    """A database whose sessions join `connection`'s transaction: their commits release
    savepoints, and the test's rollback undoes everything."""
    sessionmaker = async_sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return Database(connection.engine, sessionmaker)


def http_client(app: FastAPI) -> AsyncClient:
    """A client calling `app` in-process; server errors come back as 500s, not exceptions."""
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    return AsyncClient(transport=transport, base_url="http://test")


async def client_for(app: FastAPI, connection: AsyncConnection) -> AsyncClient:
    """An HTTP client for `app` whose requests each get a session joined to `connection`."""
    app.state.database = in_test_transaction(connection)
    return http_client(app)


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[AsyncClient]:
    """`app` with its lifespan started (its own engine and pool), and a client for it."""
    async with app.router.lifespan_context(app), http_client(app) as client:
        yield client
