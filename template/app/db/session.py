"""The engine and session factory of a process; `app.api.deps` opens a session per request."""

from typing import Any
from uuid import uuid4

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from app.core.config import Settings
from app.db.direct import OUTSIDE_TRANSACTIONS


def connect_args(settings: Settings) -> dict[str, Any]:
    """asyncpg connection options: bounded waits, and PgBouncer-safe statements when asked."""
    server_settings = {"application_name": settings.app_name[:63]}
    if settings.db_statement_timeout_ms and not settings.db_pgbouncer:
        server_settings["statement_timeout"] = str(settings.db_statement_timeout_ms)
    options: dict[str, Any] = {
        "timeout": settings.db_connect_timeout_seconds,
        "server_settings": server_settings,
    }
    if settings.db_pgbouncer:
        # Transaction pooling hands each transaction to any server connection: a statement
        # prepared on one may not exist on the next, so never cache or reuse prepared names.
        options |= {
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": lambda: f"__asyncpg_{uuid4()}__",
        }
    return options


def create_engine(settings: Settings) -> AsyncEngine:
    """An asyncpg engine whose waits are all bounded: connecting, pool checkout, each statement."""
    engine = create_async_engine(
        settings.database_url.get_secret_value(),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args=connect_args(settings),
        # A read's single statement may run without BEGIN and ROLLBACK (app/db/direct.py),
        # except behind PgBouncer's transaction pooling.
        execution_options={OUTSIDE_TRANSACTIONS: not settings.db_pgbouncer},
    )
    event.listen(engine.sync_engine, "checkout", replace_closed)
    event.listen(engine.sync_engine, "handle_error", discard_after_failed_end)
    return engine


def replace_closed(
    dbapi_connection: object, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
) -> None:
    """Hand out no connection the server has already closed (a restart, pg_terminate_backend,
    an idle timeout): asyncpg notices the server's goodbye as it arrives, so this costs no round
    trip, and the pool replaces the connection (DisconnectionError) instead of failing the
    request that borrows it. Nor one whose driver still holds a transaction the server does not
    have: asyncpg keeps a BEGIN that failed (a cancel landing on it) as the connection's
    transaction, and every later BEGIN there would be a SAVEPOINT the server refuses. That
    state is asyncpg's own attribute (`_top_xact`): no public call tells it."""
    driver = record.driver_connection
    if not isinstance(driver, asyncpg.Connection):
        return
    if driver.is_closed():
        raise DisconnectionError("the server closed this connection")
    if getattr(driver, "_top_xact", None) is not None and not driver.is_in_transaction():
        raise DisconnectionError("a BEGIN on this connection failed")


def discard_after_failed_end(context: ExceptionContext) -> None:
    """Treat a transaction's end (ROLLBACK or COMMIT, which have no statement of their own)
    that fails for any reason as a lost connection: discarded and replaced, the rest of the
    pool kept. A cancel that lands on the ROLLBACK that closes a session otherwise leaves the
    connection checked out until the garbage collector finds it, and with it a place in the
    pool that every later request waits for."""
    if context.connection is not None and context.statement is None:
        context.is_disconnect = True
        context.invalidate_pool_on_disconnect = False


class Database:
    """The engine and its session factory: made at start-up (`connect`), disposed at shutdown."""

    def __init__(self, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.engine = engine
        self.sessionmaker = sessionmaker

    @classmethod
    def connect(cls, settings: Settings) -> "Database":
        engine = create_engine(settings)
        return cls(engine, async_sessionmaker(engine, expire_on_commit=False))

    def session(self) -> AsyncSession:
        return self.sessionmaker()

    async def dispose(self) -> None:
        await self.engine.dispose()
