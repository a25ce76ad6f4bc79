"""The JOBS_* settings: combinations that would make workers misbehave are refused."""

import asyncio

import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import make_url

from app.core.config import Settings
from app.jobs.app import jobs, libpq_url
from app.jobs.housekeeping import HOUSEKEEPING_QUEUE, worker_queues
from app.jobs.shutdown import Shutdown
from app.jobs.worker import WorkerStoppedError, run_worker

URL = "postgresql+asyncpg://app:secret@db.internal:5432/app?ssl=require"


def test_a_worker_silent_for_less_than_a_heartbeat_would_be_taken_for_dead() -> None:
    with pytest.raises(ValidationError, match="must exceed JOBS_HEARTBEAT_SECONDS"):
        Settings(
            _env_file=None,
            database_url=SecretStr(URL),
            jobs_heartbeat_seconds=10,
            jobs_stalled_after_seconds=10,
        )


def test_a_grace_period_past_the_stall_timeout_is_refused() -> None:
    """A stopping worker sends no heartbeat: others would take it for dead and run its jobs a
    second time while they finish."""
    with pytest.raises(ValidationError, match="would run twice"):
        Settings(
            _env_file=None,
            database_url=SecretStr(URL),
            jobs_shutdown_timeout_seconds=55,
            jobs_heartbeat_seconds=10,
            jobs_stalled_after_seconds=60,
        )


async def test_a_worker_that_stops_on_its_own_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """procrastinate stops by itself when it loses its database for good: the process must exit
    non-zero, so that its supervisor starts it again."""

    async def stops_at_once(**_: object) -> None:
        return None

    monkeypatch.setattr(jobs, "run_worker_async", stops_at_once)
    settings = Settings(_env_file=None, database_url=SecretStr(URL))
    shutdown = Shutdown(grace_seconds=settings.jobs_shutdown_timeout_seconds)
    monkeypatch.setattr("app.jobs.worker.sweep_stalled_jobs", lambda *_: asyncio.sleep(3600))
    with pytest.raises(WorkerStoppedError):
        await run_worker({"wait": True}, settings, shutdown)


def test_a_worker_of_named_queues_also_takes_the_housekeeping_queue() -> None:
    settings = Settings(_env_file=None, database_url=SecretStr(URL), jobs_queues=["emails"])
    assert worker_queues(settings) == ["emails", HOUSEKEEPING_QUEUE]
    assert worker_queues(settings.model_copy(update={"jobs_queues": []})) is None  # all


def test_workers_connect_with_libpq_options() -> None:
    settings = Settings(_env_file=None, database_url=SecretStr(URL))
    assert libpq_url(make_url(settings.direct_database_url())) == (
        "postgresql://app:secret@db.internal:5432/app?sslmode=require"
    )
