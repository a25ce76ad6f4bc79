"""Workers in separate processes share a queue: each job runs once, and a dead worker's jobs
are taken up by the others (after JOBS_STALLED_AFTER_SECONDS, made short here)."""

import asyncio
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from procrastinate.types import JSONDict

from app.core.config import Settings
from app.core.mail import Email
from app.db.session import Database
from app.jobs.app import jobs
from app.jobs.queue import JobName
from tests.database import PROJECT_DIR
from tests.jobs.probe_worker import CREATE_TABLE
from tests.jobs.support import fetch, job_rows

JOBS = 1000
CONCURRENCY = 4
WORKER_ENV = {
    "ENVIRONMENT": "test",
    "LOG_LEVEL": "WARNING",
    "JOBS_CONCURRENCY": str(CONCURRENCY),
    "JOBS_HEARTBEAT_SECONDS": "0.5",
    "JOBS_STALLED_AFTER_SECONDS": "2",
    "JOBS_RETRY_STALLED_CRON": "* * * * * *",  # every second
}
TIMEOUT_SECONDS = 180
SUBJECTS = {f"Probe {i}" for i in range(JOBS)}


async def queue_probe_emails(settings: Settings) -> None:
    await fetch(settings, CREATE_TABLE)
    emails = [Email(to="probe@example.com", subject=subject, body="") for subject in SUBJECTS]
    arguments: list[JSONDict] = [{"email": email.model_dump()} for email in emails]
    database = Database.connect(settings)
    try:
        async with database.session() as session:
            deferrer = jobs.configure_task(JobName.SEND_EMAIL, connection=session)
            await deferrer.batch_defer_async(*arguments)
            await session.commit()
    finally:
        await database.dispose()


@asynccontextmanager
async def workers(
    settings: Settings, count: int, delay: float
) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """`count` probe workers, stopped (SIGTERM, then SIGKILL) at the end."""
    env = WORKER_ENV | {
        "DATABASE_URL": settings.database_url.get_secret_value(),
        "PROBE_DELAY": str(delay),
    }
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.jobs.probe_worker", cwd=PROJECT_DIR, env=env
        )
        for _ in range(count)
    ]
    try:
        yield processes
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
        for process in processes:
            try:
                await asyncio.wait_for(process.wait(), timeout=30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def deliveries(settings: Settings) -> list[tuple[str, int]]:
    rows = await fetch(settings, "SELECT subject, worker_pid FROM probe_deliveries")
    return [(row["subject"], row["worker_pid"]) for row in rows]


async def wait_for(settings: Settings, query: str, expected: int) -> None:
    """Poll the database (the workers are other processes) until `query` counts `expected`."""
    async with asyncio.timeout(TIMEOUT_SECONDS):
        while True:
            if (await fetch(settings, query))[0][0] >= expected:
                return
            await asyncio.sleep(0.2)


SENT = """SELECT count(*) FROM procrastinate_jobs
           WHERE task_name = 'send_email' AND status = 'succeeded'"""
DELIVERED = "SELECT count(*) FROM probe_deliveries"


async def test_two_workers_run_each_of_1000_jobs_exactly_once(live_settings: Settings) -> None:
    await queue_probe_emails(live_settings)
    async with workers(live_settings, 2, delay=0.002):
        await wait_for(live_settings, SENT, JOBS)

    delivered = await deliveries(live_settings)
    assert Counter(subject for subject, _ in delivered) == Counter(SUBJECTS)
    assert len({pid for _, pid in delivered}) == 2  # both took a share


async def test_a_worker_killed_mid_run_loses_no_job(live_settings: Settings) -> None:
    await queue_probe_emails(live_settings)
    async with workers(live_settings, 2, delay=0.02) as [doomed, _]:
        await wait_for(live_settings, DELIVERED, JOBS // 5)
        doomed.send_signal(signal.SIGKILL)  # no shutdown: its running jobs stay "doing"
        await wait_for(live_settings, SENT, JOBS)

    delivered = Counter(subject for subject, _ in await deliveries(live_settings))
    assert set(delivered) == SUBJECTS
    retried = {
        job.args["email"]["subject"] for job in await job_rows(live_settings) if job.attempts > 1
    }
    assert 0 < len(retried) <= CONCURRENCY  # the jobs it was running, and only those
    # A job killed after its email went out is sent again (at least once, not exactly once).
    assert {subject for subject, times in delivered.items() if times > 1} <= retried
