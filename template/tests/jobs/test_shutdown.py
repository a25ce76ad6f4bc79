"""A worker process stopped by a signal loses no job: a job it had to interrupt (its grace
period over, or a second signal) is queued again at once, and runs again to success."""

import signal

import pytest

from app.core.config import Settings
from tests.jobs.processes import WorkerProcess, worker_process
from tests.jobs.support import RecordingMailSender, drain, fetch, job_rows, queue_emails

HANGING = {"PROBE_DELAY": "600", "LOG_LEVEL": "INFO"}  # its one job outlives any test
STOPPING = "taking no new job"
HISTORY = "SELECT type::text, at FROM procrastinate_events WHERE job_id = $1 ORDER BY id"
DUE_NOW = "SELECT scheduled_at <= now() AS due FROM procrastinate_jobs WHERE id = $1"


async def running_one_job(settings: Settings, worker: WorkerProcess) -> int:
    """Queue a job, and wait until `worker` runs it; its id."""
    [job_id] = await queue_emails(settings, 1)
    await worker.wait_for_line(f"send_email[{job_id}]")  # procrastinate: "Starting job ..."
    return job_id


async def assert_queued_again_to_run_now(
    settings: Settings, job_id: int, worker: WorkerProcess
) -> None:
    [job] = await job_rows(settings)
    # The job's history and the worker's log say which run a second attempt came from.
    history = [tuple(event) for event in await fetch(settings, HISTORY, job_id)]
    assert (job.id, job.status, job.attempts) == (job_id, "todo", 1), (history, worker.output)
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
    # Only the second signal ends it (stalled after: the grace period must stay below it).
    env = HANGING | {"JOBS_SHUTDOWN_TIMEOUT_SECONDS": "600", "JOBS_STALLED_AFTER_SECONDS": "700"}
    async with worker_process(live_settings, env) as worker:
        job_id = await running_one_job(live_settings, worker)
        worker.send_signal(signum)
        await worker.wait_for_line(STOPPING)
        worker.send_signal(signum)
        assert await worker.exit_code() == 0, worker.output
    assert f"{signum.name} again: interrupting 1 running jobs now" in worker.output
    await assert_queued_again_to_run_now(live_settings, job_id, worker)
