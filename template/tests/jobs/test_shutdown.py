"""A worker process stopped by a signal loses no job and starts none: a job it had to interrupt
(its grace period over, or a second signal) is queued again at once, and runs again to success;
a job it fetched as the stop came goes back to the queue untouched."""

import signal

import pytest

from app.core.config import Settings
from tests.jobs.probe_worker import FETCH_WAITS
from tests.jobs.processes import WorkerProcess, worker_process
from tests.jobs.support import RecordingMailSender, drain, fetch, job_rows, queue_emails

HANGING = {"PROBE_DELAY": "600", "LOG_LEVEL": "INFO"}  # its one job outlives any test
# The fetch after a job starts is still under way when the test's signals come.
SLOW_FETCHES = {"PROBE_FETCH_DELAY": "1.5"}
# Only the second signal ends it (stalled after: the grace period must stay below it).
GRACE_BEYOND_TESTS = {"JOBS_SHUTDOWN_TIMEOUT_SECONDS": "600", "JOBS_STALLED_AFTER_SECONDS": "700"}
STOPPING = "taking no new job"
HISTORY = "SELECT type::text, at FROM procrastinate_events WHERE job_id = $1 ORDER BY id"
DUE_NOW = "SELECT scheduled_at <= now() AS due FROM procrastinate_jobs WHERE id = $1"


async def running_one_job(
    settings: Settings, worker: WorkerProcess, *, then_a_fetch: bool = False
) -> int:
    """Queue a job, and wait until `worker` runs it (and, `then_a_fetch`, until its next fetch
    waits: SLOW_FETCHES); its id."""
    [job_id] = await queue_emails(settings, 1)
    started = await worker.wait_for_line(f"send_email[{job_id}]")  # "Starting job ..."
    if then_a_fetch:
        await worker.wait_for_line(FETCH_WAITS, after=started)
    return job_id


async def assert_queued_again_to_run_now(
    settings: Settings, job_id: int, worker: WorkerProcess
) -> None:
    [job] = await job_rows(settings)
    # The job's history and the worker's log say which run a second attempt came from (a
    # string: pytest would shorten any other message to one line).
    events = await fetch(settings, HISTORY, job_id)
    history = "\n".join(f"{event['type']} {event['at']}" for event in events)
    assert (job.id, job.status, job.attempts) == (job_id, "todo", 1), f"{history}\n{worker.output}"
    [row] = await fetch(settings, DUE_NOW, job_id)
    assert row["due"]  # at once, not after a backoff


async def test_a_job_outliving_the_grace_period_runs_again(live_settings: Settings) -> None:
    env = HANGING | {"JOBS_SHUTDOWN_TIMEOUT_SECONDS": "0.5"}
    async with worker_process(live_settings, env) as worker:
        job_id = await running_one_job(live_settings, worker)
        worker.send_signal(signal.SIGTERM)
        assert await worker.exit_code() == 0, worker.output
    assert "interrupted: it will run again" in worker.output
    assert "Traceback" not in worker.output  # an interruption is not an error
    await assert_queued_again_to_run_now(live_settings, job_id, worker)

    mail = RecordingMailSender()
    await drain(live_settings, mail)  # the next worker
    [job] = await job_rows(live_settings)
    assert (job.status, job.attempts, len(mail.sent)) == ("succeeded", 2, 1)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_second_signal_interrupts_running_jobs_at_once(
    live_settings: Settings, signum: signal.Signals
) -> None:
    env = HANGING | SLOW_FETCHES | GRACE_BEYOND_TESTS
    async with worker_process(live_settings, env) as worker:
        job_id = await running_one_job(live_settings, worker, then_a_fetch=True)
        worker.send_signal(signum)
        await worker.wait_for_line(STOPPING)
        worker.send_signal(signum)
        assert await worker.exit_code() == 0, worker.output
    assert f"{signum.name} again: interrupting 1 running jobs now" in worker.output
    # The fetch under way took the interrupted job again, and gave it back without starting it.
    assert f"Job {job_id} (send_email) back in the queue" in worker.output
    await assert_queued_again_to_run_now(live_settings, job_id, worker)


async def test_a_job_fetched_as_the_worker_stops_goes_back_untouched(
    live_settings: Settings,
) -> None:
    env = HANGING | SLOW_FETCHES | GRACE_BEYOND_TESTS
    async with worker_process(live_settings, env) as worker:
        running_id = await running_one_job(live_settings, worker, then_a_fetch=True)
        [fetched_id] = await queue_emails(live_settings, 1)  # for the fetch under way
        worker.send_signal(signal.SIGTERM)
        await worker.wait_for_line(f"Job {fetched_id} (send_email) back in the queue")
        worker.send_signal(signal.SIGTERM)
        assert await worker.exit_code() == 0, worker.output
    assert f"send_email[{fetched_id}]" not in worker.output  # never started
    rows = {job.id: (job.status, job.attempts) for job in await job_rows(live_settings)}
    assert rows == {running_id: ("todo", 1), fetched_id: ("todo", 0)}
