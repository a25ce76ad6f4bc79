"""Settings for running past one process: the direct URL migrations use, and the pool-size rule."""

from typing import Any

import pytest
from pydantic import ValidationError

from app.core.config import Settings
from app.db.capacity import PoolBudgetError, connections_needed, pool_budget_error
from app.main import create_app
from tests.clients import running

POOLED = "postgresql+asyncpg://app:a-real-secret@pgbouncer:6432/app?ssl=require"
DIRECT = "postgresql+asyncpg://app:a-real-secret@db:5432/app?ssl=require"


def make_settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **({"database_url": POOLED} | values))


def test_migrations_use_the_database_url_unless_a_direct_one_is_set() -> None:
    assert make_settings().direct_database_url() == POOLED
    assert make_settings(database_direct_url=DIRECT).direct_database_url() == DIRECT


def test_behind_pgbouncer_migrations_need_a_direct_url() -> None:
    with pytest.raises(ValueError, match="set DATABASE_DIRECT_URL"):
        make_settings(db_pgbouncer=True).direct_database_url()
    pooled = make_settings(db_pgbouncer=True, database_direct_url=DIRECT)
    assert pooled.direct_database_url() == DIRECT


def test_the_direct_url_is_checked_like_the_database_url() -> None:
    with pytest.raises(ValidationError, match="DATABASE_DIRECT_URL must use the asyncpg driver"):
        make_settings(database_direct_url="postgresql://app:x@db/app")
    insecure = "postgresql+asyncpg://app:a-real-secret@db/app"
    with pytest.raises(ValidationError, match="DATABASE_DIRECT_URL must use TLS") as refused:
        make_settings(environment="production", database_direct_url=insecure)
    assert "a-real-secret" not in str(refused.value)


def test_every_process_of_every_replica_has_a_pool() -> None:
    scaled = make_settings(replicas=3, web_concurrency=2, db_pool_size=10, db_max_overflow=5)
    assert connections_needed(scaled) == 90
    assert pool_budget_error(scaled, 97) is None
    message = pool_budget_error(scaled, 80)
    assert message is not None
    assert "may open 90 connections" in message
    assert "REPLICAS=3 x WEB_CONCURRENCY=2" in message
    assert "accepts 80" in message


def test_workers_default_to_one_process_per_replica(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    assert make_settings().database_processes == 4


async def test_the_service_refuses_to_start_with_pools_the_server_cannot_hold(
    settings: Settings,
) -> None:
    too_many = settings.model_copy(update={"web_concurrency": 1000})
    with pytest.raises(PoolBudgetError, match="the server accepts"):
        async with running(create_app(too_many)):
            pass
    async with running(create_app(settings)) as client:
        assert (await client.get("/health/ready")).status_code == 200
