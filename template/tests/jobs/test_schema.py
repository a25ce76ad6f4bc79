"""The job queue's schema comes and goes with its migration, leaving nothing behind."""

import os
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from app.core.config import Settings
from app.jobs import worker
from tests.database import DatabaseServer, migrate
from tests.jobs.support import fetch

# Every kind of object procrastinate's schema creates, by name.
OBJECTS = """
    SELECT relname FROM pg_class WHERE relname LIKE 'procrastinate%'
    UNION ALL SELECT proname FROM pg_proc WHERE proname LIKE 'procrastinate%'
    UNION ALL SELECT typname FROM pg_type WHERE typname LIKE '%procrastinate%'
    UNION ALL SELECT tgname FROM pg_trigger WHERE tgname LIKE 'procrastinate%'
"""


@pytest.fixture
async def empty_settings(
    database_server: DatabaseServer, settings: Settings
) -> AsyncIterator[Settings]:
    name = f"{database_server.base_name}_jobs_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    url = await database_server.create_database(name)
    update = {"database_url": SecretStr(url), "database_direct_url": None}
    yield database_server.through_pgbouncer(settings.model_copy(update=update))
    await database_server.drop_database(name)


async def test_the_migrations_install_and_remove_the_whole_queue(empty_settings: Settings) -> None:
    url = empty_settings.direct_database_url()
    await migrate(url, "head")
    installed = {record[0] for record in await fetch(empty_settings, OBJECTS)}
    assert {"procrastinate_jobs", "procrastinate_defer_jobs_v1"} <= installed

    await migrate(url, "base", direction="downgrade")
    assert await fetch(empty_settings, OBJECTS) == []


async def test_the_health_check_needs_the_migrated_queue(empty_settings: Settings) -> None:
    assert not await worker.check(empty_settings)
    await migrate(empty_settings.direct_database_url(), "head")
    assert await worker.check(empty_settings)
