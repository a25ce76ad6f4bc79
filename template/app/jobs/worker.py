"""The worker process: `python -m app.jobs.worker`, or `python -m app.jobs.worker --check`.

It runs the jobs of JOBS_QUEUES (all queues by default), JOBS_CONCURRENCY at a time, and
schedules the housekeeping jobs. Run as many as the load needs, on as many machines: each job
goes to one worker (`SELECT ... FOR UPDATE SKIP LOCKED`). SIGTERM (or Ctrl-C) stops taking
jobs and gives running ones JOBS_SHUTDOWN_TIMEOUT_SECONDS to finish before aborting them.
A worker killed outright leaves its jobs to `retry_stalled_jobs` (docs/jobs.md).
"""

import argparse
import asyncio
import sys

from procrastinate.app import WorkerOptions

from app.core.config import Settings, get_settings
from app.core.logging import configure_logging
from app.core.mail import LogMailSender, MailSender
from app.db.session import Database
from app.jobs.app import jobs, worker_connector
from app.jobs.context import RESOURCES_KEY, WorkerResources
from app.jobs.tasks import remove_finished_jobs, retry_stalled_jobs

REMOVE_FINISHED_CRON = "17 3 * * *"  # daily, at a quiet hour


def schedule_housekeeping(settings: Settings) -> None:
    """Register the periodic jobs (once per process: the first schedule given wins)."""
    registered = {name for name, _ in jobs.periodic_registry.periodic_tasks}
    if retry_stalled_jobs.name not in registered:
        jobs.periodic(cron=settings.jobs_retry_stalled_cron)(retry_stalled_jobs)
    if remove_finished_jobs.name not in registered:
        jobs.periodic(cron=REMOVE_FINISHED_CRON)(remove_finished_jobs)


async def run(
    settings: Settings,
    *,
    wait: bool = True,
    mail: MailSender | None = None,
    handle_signals: bool = True,
) -> None:
    """Run jobs until stopped (SIGTERM, SIGINT, or cancelling this coroutine); with
    `wait=False`, until no job is left to start (tests)."""
    database = Database.connect(settings)
    resources = WorkerResources(settings=settings, database=database, mail=mail or LogMailSender())
    schedule_housekeeping(settings)
    options: WorkerOptions = {
        "concurrency": settings.jobs_concurrency,
        "wait": wait,
        "install_signal_handlers": wait and handle_signals,
        "shutdown_graceful_timeout": settings.jobs_shutdown_timeout_seconds,
        "update_heartbeat_interval": settings.jobs_heartbeat_seconds,
        "stalled_worker_timeout": settings.jobs_stalled_after_seconds,
        "additional_context": {RESOURCES_KEY: resources},
    }
    if settings.jobs_queues:
        options["queues"] = settings.jobs_queues
    # One connection per running job, one for LISTEN/NOTIFY, one for heartbeats and fetching.
    connector = worker_connector(settings, pool_size=settings.jobs_concurrency + 2)
    try:
        with jobs.replace_connector(connector):
            async with jobs.open_async():
                await jobs.run_worker_async(**options)
    finally:
        await database.dispose()


async def check(settings: Settings) -> bool:
    """Whether a worker can reach its database and find procrastinate's tables there."""
    with jobs.replace_connector(worker_connector(settings, pool_size=1)):
        async with jobs.open_async():
            return await jobs.check_connection_async()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 0 if the job database is ready (health check)"
    )
    args = parser.parse_args()
    settings = get_settings()
    configure_logging(settings)
    if args.check:
        ready = asyncio.run(check(settings))
        print("ready" if ready else "procrastinate's tables are missing: run the migrations")  # noqa: T201
        return 0 if ready else 1
    asyncio.run(run(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
