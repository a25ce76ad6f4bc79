"""Workers in separate processes share a queue: each job runs once, and a dead worker's jobs
are queued again by the others within JOBS_STALLED_AFTER_SECONDS + JOBS_STALLED_CHECK_SECONDS
(made short here), whatever the backlog."""

import asyncio
import contextlib
import signal
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import pytest
from procrastinate.types import JSONDict

from app.core.config import Settings
from app.core.mail import Email
from app.db.session import Database
from app.jobs import worker
from app.jobs.app import jobs
from app.jobs.queue import SendEmail
from tests.jobs.probe_worker import CREATE_TABLES
from tests.jobs.processes import WorkerProcess, worker_process
from tests.jobs.support import RecordingMailSender, fetch, job_rows

JOBS = 1000
CONCURRENCY = 4
WORKER_ENV = {
    "ENVIRONMENT": "test",
    "LOG_LEVEL": "WARNING",
    "JOBS_CONCURRENCY": str(CONCURRENCY),
    "JOBS_HEARTBEAT_SECONDS": "0.5",
    "JOBS_STALLED_AFTER_SECONDS": "2",
    "JOBS_STALLED_CHECK_SECONDS": "0.5",
    "JOBS_SHUTDOWN_TIMEOUT_SECONDS": "0",  # a stopped worker interrupts its jobs at once
}
TIMEOUT_SECONDS = 180
# docs/template/jobs.md: JOBS_STALLED_AFTER_SECONDS + JOBS_STALLED_CHECK_SECONDS, plus time for a
# loaded machine (the old schedule, a job behind the backlog, never ran here at all).
RECOVERY_BOUND_SECONDS = 2 + 0.5
SLACK_SECONDS = 5
SUBJECTS = {f"Probe {i}" for i in range(JOBS)}


async def queue_probe_emails(settings: Settings, queue: str | None = None) -> None:
    for statement in CREATE_TABLES:
        await fetch(settings, statement)
    emails = [Email(to="probe@example.com", subject=subject, body="") for subject in SUBJECTS]
    arguments: list[JSONDict] = [SendEmail(email=email).model_dump(mode="json") for email in emails]
    database = Database.connect(settings)
    try:
        async with database.session() as session:
            deferrer = jobs.configure_task(SendEmail.task_name, connection=session, queue=queue)
            await deferrer.batch_defer_async(*arguments)
            await session.commit()
    finally:
        await database.dispose()


@asynccontextmanager
async def workers(settings: Settings, *delays: float) -> AsyncIterator[list[WorkerProcess]]:
    """A probe worker per delay (the seconds each of its emails takes), stopped by SIGTERM at
    the end (or killed)."""
    async with AsyncExitStack() as stack:
        processes = [
            await stack.enter_async_context(
                worker_process(settings, WORKER_ENV | {"PROBE_DELAY": str(delay)})
            )
            for delay in delays
        ]
        yield processes
        for process in processes:
            if process.process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            await process.exit_code()


async def deliveries(settings: Settings) -> list[tuple[str, int]]:
    rows = await fetch(settings, "SELECT subject, worker_pid FROM probe_deliveries")
    return [(row["subject"], row["worker_pid"]) for row in rows]


async def wait_for(settings: Settings, query: str, expected: int, *arguments: object) -> None:
    """Poll the database (the workers are other processes) until `query` counts `expected`."""
    async with asyncio.timeout(TIMEOUT_SECONDS):
        while True:
            if (await fetch(settings, query, *arguments))[0][0] >= expected:
                return
            await asyncio.sleep(0.2)


SENT = """SELECT count(*) FROM procrastinate_jobs
           WHERE task_name = 'send_email' AND status = 'succeeded'"""
STARTED_BY = "SELECT count(*) FROM probe_starts WHERE worker_pid = $1"


async def test_two_workers_run_each_of_1000_jobs_exactly_once(live_settings: Settings) -> None:
    await queue_probe_emails(live_settings)
    async with workers(live_settings, 0.002, 0.002):
        await wait_for(live_settings, SENT, JOBS)

    delivered = await deliveries(live_settings)
    assert Counter(subject for subject, _ in delivered) == Counter(SUBJECTS)
    assert len({pid for _, pid in delivered}) == 2  # both took a share


async def test_a_worker_killed_mid_run_loses_no_job(live_settings: Settings) -> None:
    await queue_probe_emails(live_settings)
    # The doomed worker's emails take a minute: once its slots are full, it is mid-run on each
    # (killed between two jobs, it would leave nothing to recover), while the other works.
    async with workers(live_settings, 60, 0.02) as [doomed, _]:
        await wait_for(live_settings, STARTED_BY, CONCURRENCY, doomed.process.pid)
        doomed.send_signal(signal.SIGKILL)  # no shutdown: its running jobs stay "doing"
        await wait_for(live_settings, SENT, JOBS)

    delivered = Counter(subject for subject, _ in await deliveries(live_settings))
    assert set(delivered) == SUBJECTS
    assert set(delivered.values()) == {1}  # the doomed worker sent none
    retried = {
        job.args["email"]["subject"] for job in await job_rows(live_settings) if job.attempts > 1
    }
    doomed_ran = await fetch(
        live_settings, "SELECT subject FROM probe_starts WHERE worker_pid = $1", doomed.process.pid
    )
    assert retried == {subject for (subject,) in doomed_ran}  # those jobs, and only those


# The emails' jobs only: a housekeeping job may come and go meanwhile.
RUNNING = """SELECT count(*) FROM procrastinate_jobs
              WHERE task_name = 'send_email' AND status = 'doing'"""
QUEUED_AGAIN = """SELECT count(*) FROM procrastinate_jobs
                   WHERE task_name = 'send_email' AND status = 'todo' AND attempts = 1"""
EVENTS = """SELECT count(*) FILTER (WHERE type = 'started') AS started,
                  max(at) FILTER (WHERE type = 'deferred_for_retry') AS queued_again_at
             FROM procrastinate_events
            WHERE job_id IN (SELECT id FROM procrastinate_jobs WHERE task_name = 'send_email')"""


async def test_a_killed_workers_jobs_are_queued_again_within_the_bound_whatever_the_backlog(
    live_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Two workers, both busy with jobs that never end, and 1,000 jobs waiting behind them; one
    (a process) is killed. The other (in this process), which takes only the "emails" queue,
    queues its jobs again in time, with no free slot and before any of the backlog runs."""
    await queue_probe_emails(live_settings, queue="emails")
    survivor_settings = live_settings.model_copy(
        update={
            "jobs_queues": ["emails"],
            "jobs_concurrency": 2,
            "jobs_heartbeat_seconds": 0.5,
            "jobs_stalled_after_seconds": 2,
            "jobs_stalled_check_seconds": 0.5,
            "jobs_shutdown_timeout_seconds": 0,
        }
    )
    env = WORKER_ENV | {"JOBS_CONCURRENCY": "2", "PROBE_DELAY": "600"}
    busy = RecordingMailSender(delay=600)
    async with worker_process(live_settings, env) as doomed:
        survivor = asyncio.create_task(
            worker.run(survivor_settings, mail=busy, handle_signals=False)
        )
        try:
            await wait_for(live_settings, RUNNING, 4)
            doomed.send_signal(signal.SIGKILL)
            [[killed_at]] = await fetch(live_settings, "SELECT clock_timestamp()")
            await wait_for(live_settings, QUEUED_AGAIN, 2)
            [[running]] = await fetch(live_settings, RUNNING)
            [events] = await fetch(live_settings, EVENTS)
        finally:
            survivor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await survivor

    assert running == 2  # the survivor's, still busy
    assert events["started"] == 4  # no job of the backlog ran before the recovery
    recovery = (events["queued_again_at"] - killed_at).total_seconds()
    assert recovery <= RECOVERY_BOUND_SECONDS + SLACK_SECONDS
    assert "queued again: its worker stopped" in caplog.text
