"""The pool-size rule, checked at start-up: every process's pool must fit in the server together.

Each server process (replicas x workers per replica) keeps its own pool of up to
DB_POOL_SIZE + DB_MAX_OVERFLOW connections. When together they can open more connections than
PostgreSQL accepts, the surplus requests fail under load, long after the deployment looked
healthy; refusing to start says so at once. Behind PgBouncer (DB_PGBOUNCER=true) the server
connections are PgBouncer's pool sizes, configured there, so the check is skipped.
"""

import structlog
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings

logger = structlog.stdlib.get_logger(__name__)

AVAILABLE_CONNECTIONS = text(
    "SELECT current_setting('max_connections')::int"
    " - current_setting('superuser_reserved_connections')::int"
)


class PoolBudgetError(RuntimeError):
    """The configured pools can open more connections than the server accepts."""


def connections_needed(settings: Settings) -> int:
    return settings.database_processes * (settings.db_pool_size + settings.db_max_overflow)


def pool_budget_error(settings: Settings, available: int) -> str | None:
    """Why the pools do not fit in `available` server connections, or None when they do."""
    needed = connections_needed(settings)
    if needed <= available:
        return None
    return (
        f"The database pools may open {needed} connections: REPLICAS={settings.replicas} x "
        f"WEB_CONCURRENCY={settings.web_concurrency} processes x (DB_POOL_SIZE="
        f"{settings.db_pool_size} + DB_MAX_OVERFLOW={settings.db_max_overflow}), but the server "
        f"accepts {available} (max_connections - superuser_reserved_connections). Lower the pool "
        "sizes, raise max_connections, or put PgBouncer in front (DB_PGBOUNCER=true)."
    )


async def check_pool_budget(engine: AsyncEngine, settings: Settings) -> None:
    """Raise PoolBudgetError when the pools do not fit; a database that cannot be reached now
    only skips the check (the service starts, and readiness reports the outage)."""
    if settings.db_pgbouncer:
        return
    try:
        async with engine.connect() as connection:
            available = (await connection.execute(AVAILABLE_CONNECTIONS)).scalar_one()
    except (SQLAlchemyError, OSError, TimeoutError) as error:
        logger.warning("pool size not checked: database unreachable", error=str(error))
        return
    if message := pool_budget_error(settings, available):
        raise PoolBudgetError(message)
