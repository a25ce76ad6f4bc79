"""The JOBS_* settings: combinations that would make workers misbehave are refused."""

import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import make_url

from app.core.config import Settings
from app.jobs.app import libpq_url
from app.jobs.housekeeping import HOUSEKEEPING_QUEUE, worker_queues

URL = "postgresql+asyncpg://app:secret@db.internal:5432/app?ssl=require"


def test_a_worker_silent_for_less_than_a_heartbeat_would_be_taken_for_dead() -> None:
    with pytest.raises(ValidationError, match="must exceed JOBS_HEARTBEAT_SECONDS"):
        Settings(
            _env_file=None,
            database_url=SecretStr(URL),
            jobs_heartbeat_seconds=10,
            jobs_stalled_after_seconds=10,
        )


def test_a_worker_of_named_queues_also_takes_the_housekeeping_queue() -> None:
    settings = Settings(_env_file=None, database_url=SecretStr(URL), jobs_queues=["emails"])
    assert worker_queues(settings) == ["emails", HOUSEKEEPING_QUEUE]
    assert worker_queues(settings.model_copy(update={"jobs_queues": []})) is None  # all


def test_workers_connect_with_libpq_options() -> None:
    settings = Settings(_env_file=None, database_url=SecretStr(URL))
    assert libpq_url(make_url(settings.direct_database_url())) == (
        "postgresql://app:secret@db.internal:5432/app?sslmode=require"
    )
