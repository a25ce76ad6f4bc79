"""Stopping a worker without losing a job: what SIGTERM and SIGINT do, and the retry after.

- The first signal stops taking jobs; running ones get JOBS_SHUTDOWN_TIMEOUT_SECONDS to finish.
- When that time is up, or at a second signal, the running jobs are cancelled, and each
  cancelled job is queued again at once (`JobInterruptedError`): it runs again, from the start, on
  the next worker to take it, whatever its retry strategy says.

procrastinate aborts the jobs it cancels at shutdown (status `aborted`, never retried, as its
retry strategies only see an `Exception`), and a second signal went to the default handler
(SIGTERM: the process died with its jobs `doing`; SIGINT: nothing). So the worker handles the
signals itself (`Shutdown.on_signals`), and a worker middleware (`Shutdown.middleware`) turns
the cancellation of a job into `JobInterruptedError`, which every task's strategy retries
(`retry_interrupted`). An abort asked for by a user (`cancel_job_by_id(..., abort=True)`)
stays an abort.

A fetch that was under way when the stop came still starts its job in procrastinate (the
worker's pool opens connections on demand, so a fetch can even run after the interrupted jobs
went back to the queue, and take one of them again). `StopAwareJobManager` puts such a job back
in the queue as it was, without counting an attempt: no job starts once the worker stops.
"""

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from procrastinate import (
    App,
    BaseConnector,
    BaseRetryStrategy,
    JobContext,
    RetryDecision,
    exceptions,
)
from procrastinate.job_context import AbortReason
from procrastinate.jobs import Job
from procrastinate.manager import JobManager
from procrastinate.tasks import Task
from procrastinate.worker import Worker

logger = logging.getLogger(__name__)

SIGNALS = (signal.SIGTERM, signal.SIGINT)

# procrastinate has no function to give a job back untouched. Back to `todo` with its attempts,
# and the NOTIFY procrastinate's insert trigger would send, so that another worker takes it now.
RELEASE_JOB = """
    WITH released AS (
        UPDATE procrastinate_jobs SET status = 'todo', worker_id = NULL
         WHERE id = %(job_id)s AND status = 'doing'
        RETURNING queue_name,
                  json_build_object('type', 'job_inserted', 'job_id', id)::text AS payload
    )
    SELECT pg_notify('procrastinate_queue_v1#' || queue_name, payload)::text AS queue_notified,
           pg_notify('procrastinate_any_queue_v1', payload)::text AS any_notified
      FROM released
"""


class JobInterruptedError(Exception):
    """A job cut short by its worker's shutdown; it is queued again to run at once."""


class RetryInterrupted(BaseRetryStrategy):
    """A task's retry strategy, plus: an interrupted job runs again, at once."""

    def __init__(self, strategy: BaseRetryStrategy | None) -> None:
        self.strategy = strategy

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        # procrastinate asks about a JobAborted only when the abort came from the shutdown
        # (a synchronous task that checked `context.should_abort()`).
        if isinstance(exception, JobInterruptedError | exceptions.JobAborted):
            return RetryDecision()
        if self.strategy is None:
            return None
        retry = self.strategy.get_retry_exception(exception=exception, job=job)
        return retry.retry_decision if retry else None


class StopAwareJobManager(JobManager):
    """procrastinate's job manager for a worker: a job fetched once `stopping()` is true goes
    back to the queue instead of starting."""

    def __init__(self, connector: BaseConnector, stopping: Callable[[], bool]) -> None:
        super().__init__(connector)
        self.stopping = stopping

    async def fetch_job(self, queues: Iterable[str] | None, worker_id: int) -> Job | None:
        job = await super().fetch_job(queues, worker_id)
        if job is None or not self.stopping():
            return job
        try:
            await self.connector.execute_query_all_async(RELEASE_JOB, job_id=job.id)
        except Exception:  # e.g. its queueing lock was taken again meanwhile: it runs instead
            logger.exception("Job %s (%s) could not go back to the queue", job.id, job.task_name)
            return job
        logger.info("Job %s (%s) back in the queue: the worker is stopping", job.id, job.task_name)
        return None


@contextmanager
def no_job_once_stopping(jobs: App, stopping: Callable[[], bool]) -> Iterator[None]:
    """While in the block, `jobs`' worker starts no job it fetched once `stopping()` is true."""
    own = jobs.job_manager
    jobs.job_manager = StopAwareJobManager(own.connector, stopping)
    try:
        yield
    finally:
        jobs.job_manager = own


class QuietInterruptions(logging.Filter):
    """procrastinate logs the end of a failed job with its traceback; an interruption is not
    a failure (`Shutdown.middleware` logs it), so its traceback is left out."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], JobInterruptedError):
            record.exc_info = None
        return True


def quiet_interruptions() -> None:
    """Put `QuietInterruptions` on procrastinate's worker logger (once)."""
    worker_logger = logging.getLogger("procrastinate.worker")
    if not any(isinstance(f, QuietInterruptions) for f in worker_logger.filters):
        worker_logger.addFilter(QuietInterruptions())


def retry_interrupted(tasks: Iterable[Task[Any, Any, Any]]) -> None:
    """Give every task `RetryInterrupted` around its own strategy (once)."""
    for task in tasks:
        if not isinstance(task.retry_strategy, RetryInterrupted):
            task.retry_strategy = RetryInterrupted(task.retry_strategy)


class Shutdown:
    """A worker's stop: the signals it obeys and the jobs it interrupts."""

    def __init__(self, grace_seconds: float) -> None:
        self.grace_seconds = grace_seconds
        self.signals = 0
        self.running: dict[asyncio.Task[Any], JobContext] = {}

    @property
    def interrupting(self) -> bool:
        """Whether running jobs are being interrupted now (a second signal came)."""
        return self.signals > 1

    async def middleware(
        self, call_next: Callable[[], Awaitable[Any]], context: JobContext, worker: Worker
    ) -> Any:
        """Worker middleware: a job cancelled by the shutdown raises `JobInterruptedError`."""
        task = asyncio.current_task()
        if task is None:  # not in a task: nothing could cancel it
            return await call_next()
        if self.interrupting:
            raise JobInterruptedError("the worker is stopping")
        self.running[task] = context
        try:
            return await call_next()
        except asyncio.CancelledError:
            reason = context.abort_reason()
            if not self.interrupting and reason is not AbortReason.SHUTDOWN:
                raise  # an abort asked for by a user
            task.uncancel()
            job = context.job
            logger.warning("Job %s (%s) interrupted: it will run again", job.id, job.task_name)
            raise JobInterruptedError("the worker stopped before the job finished") from None
        finally:
            del self.running[task]

    def on_signal(self, signum: int, stop: Callable[[], object]) -> None:
        self.signals += 1
        name = signal.Signals(signum).name
        if self.signals == 1:
            logger.info(
                "%s: taking no new job; the %d running have %s s to finish (a second signal "
                "interrupts them at once; interrupted jobs run again)",
                name,
                len(self.running),
                self.grace_seconds,
            )
            stop()
            return
        logger.warning(
            "%s again: interrupting %d running jobs now; they will run again",
            name,
            len(self.running),
        )
        for task in self.running:
            task.cancel()

    @contextmanager
    def on_signals(self, stop: Callable[[], object]) -> Iterator[None]:
        """While in the block, SIGTERM and SIGINT go to `on_signal`: the first calls `stop`."""
        loop = asyncio.get_running_loop()
        for signum in SIGNALS:
            loop.add_signal_handler(signum, self.on_signal, signum, stop)
        try:
            yield
        finally:
            for signum in SIGNALS:
                loop.remove_signal_handler(signum)
