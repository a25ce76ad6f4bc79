"""A worker whose emails become rows of `probe_deliveries`, for the scale tests to count (and
rows of `probe_starts` as each begins, for a test to know what a worker is running).

`python -m tests.jobs.probe_worker`, configured by the environment like `app.jobs.worker`,
plus PROBE_DELAY: the seconds each email takes to send, and PROBE_FETCH_DELAY: the seconds
each fetch of a job but the first waits before it queries (a slow database, or a pool opening a
connection), so that a test can stop the worker while a fetch is under way: it logs
`FETCH_WAITS` as it starts waiting.
"""

import asyncio
import itertools
import logging
import os
from collections.abc import Iterable

from procrastinate.jobs import Job
from procrastinate.manager import JobManager
from sqlalchemy import NullPool, TextClause, text
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.config import Settings, get_settings
from app.core.logging import configure_logging
from app.core.mail import Email
from app.db.session import Database
from app.jobs import worker
from tests.jobs.conftest import no_housekeeping_schedule

CREATE_TABLES = (
    "CREATE TABLE IF NOT EXISTS probe_deliveries (subject text, worker_pid int)",
    "CREATE TABLE IF NOT EXISTS probe_starts (subject text, worker_pid int)",
)
FETCH_WAITS = "A fetch of a job waits"
START = text("INSERT INTO probe_starts (subject, worker_pid) VALUES (:subject, :pid)")
INSERT = text("INSERT INTO probe_deliveries (subject, worker_pid) VALUES (:subject, :pid)")


class TableMailSender:
    def __init__(self, database: Database, delay: float) -> None:
        self.database = database
        self.delay = delay

    async def send(self, email: Email) -> None:
        await self.record(START, email)
        await asyncio.sleep(self.delay)
        await self.record(INSERT, email)

    async def record(self, statement: TextClause, email: Email) -> None:
        async with self.database.session() as session:
            await session.execute(statement, {"subject": email.subject, "pid": os.getpid()})
            await session.commit()


def slow_fetches(seconds: float) -> None:
    """Every fetch of a job but the first waits `seconds` before it queries."""
    fetch_job = JobManager.fetch_job
    calls = itertools.count()

    async def slow_fetch_job(
        self: JobManager, queues: Iterable[str] | None, worker_id: int
    ) -> Job | None:
        if next(calls):
            logging.getLogger(__name__).warning("%s %s s", FETCH_WAITS, seconds)
            await asyncio.sleep(seconds)
        return await fetch_job(self, queues, worker_id)

    JobManager.fetch_job = slow_fetch_job  # type: ignore[method-assign]


async def create_tables(settings: Settings) -> None:
    """The probe's tables, made as the tables' owner (an app role of its own may not create
    tables), one worker at a time."""
    engine = create_async_engine(settings.direct_database_url(), poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('probe'))"))
            for statement in CREATE_TABLES:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def main() -> None:
    if delay := os.environ.get("PROBE_FETCH_DELAY"):
        slow_fetches(float(delay))
    # Only the jobs a test queues (tests/jobs/conftest.py says why).
    worker.schedule_housekeeping = no_housekeeping_schedule
    settings = get_settings()
    configure_logging(settings)
    await create_tables(settings)
    database = Database.connect(settings)
    try:
        mail = TableMailSender(database, float(os.environ.get("PROBE_DELAY", "0")))
        await worker.run(settings, mail=mail)
    finally:
        await database.dispose()


if __name__ == "__main__":
    asyncio.run(main())
