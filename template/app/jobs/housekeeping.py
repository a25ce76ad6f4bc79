"""What keeps the queue healthy, run by every worker whatever its JOBS_QUEUES.

- The jobs of a dead worker (killed, out of memory, its machine lost) stay `doing`. Every
  worker looks for them every JOBS_STALLED_CHECK_SECONDS, in its own loop rather than as a job
  (a job would wait behind the queue's backlog and for a free slot), and queues again those
  of workers silent for JOBS_STALLED_AFTER_SECONDS: a killed worker's jobs are queued again
  within JOBS_STALLED_AFTER_SECONDS + JOBS_STALLED_CHECK_SECONDS of its death. They keep
  their place (priority, then age), ahead of the jobs queued after them.
- Finished jobs are deleted daily by the `remove_finished_jobs` job, on a queue of its own
  (`HOUSEKEEPING_QUEUE`) that every worker takes besides its JOBS_QUEUES, first.
"""

import asyncio
import logging
from typing import Any

from procrastinate import BaseConnector

from app.core.config import Settings

logger = logging.getLogger(__name__)

HOUSEKEEPING_QUEUE = "housekeeping"
HOUSEKEEPING_PRIORITY = 100  # before the other jobs a worker could take (higher runs first)

# One statement: the rows it retries are locked until it commits, and a worker sweeping at the
# same time skips them, so a job is queued again once (a second sweep would find it `todo`, or
# `doing` again under a live worker). The retry is procrastinate's own function (attempts + 1,
# an abort asked for makes it `failed`), and the NOTIFY its insert trigger sends wakes workers.
RETRY_STALLED_JOBS = """
    WITH stalled AS (
        SELECT job.id, job.task_name, job.queue_name
          FROM procrastinate_jobs AS job
         WHERE job.status = 'doing'
           AND NOT EXISTS (
               SELECT 1 FROM procrastinate_workers AS worker
                WHERE worker.id = job.worker_id
                  AND worker.last_heartbeat >= now() - make_interval(secs => %(seconds)s)
           )
         ORDER BY job.id
           FOR UPDATE OF job SKIP LOCKED
    ), retried AS (
        SELECT stalled.*,
               procrastinate_retry_job_v2(stalled.id, now(), NULL, NULL, NULL)::text AS done,
               json_build_object('type', 'job_inserted', 'job_id', stalled.id)::text AS payload
          FROM stalled
    )
    SELECT id, task_name,
           pg_notify('procrastinate_queue_v1#' || queue_name, payload)::text AS queue_notified,
           pg_notify('procrastinate_any_queue_v1', payload)::text AS any_notified
      FROM retried
"""


def worker_queues(settings: Settings) -> list[str] | None:
    """The queues a worker takes jobs from: JOBS_QUEUES and the housekeeping queue, or all."""
    if not settings.jobs_queues:
        return None
    return [*settings.jobs_queues, HOUSEKEEPING_QUEUE]


async def retry_stalled_jobs(connector: BaseConnector, stalled_after_seconds: float) -> int:
    """Queue again the running jobs of workers silent for `stalled_after_seconds`; how many."""
    rows: list[dict[str, Any]] = await connector.execute_query_all_async(
        RETRY_STALLED_JOBS, seconds=stalled_after_seconds
    )
    for row in rows:
        logger.warning(
            "Job %s (%s) queued again: its worker stopped (no heartbeat for %s s)",
            row["id"],
            row["task_name"],
            stalled_after_seconds,
        )
    return len(rows)


async def sweep_stalled_jobs(connector: BaseConnector, settings: Settings) -> None:
    """`retry_stalled_jobs` every JOBS_STALLED_CHECK_SECONDS, until cancelled."""
    while True:
        try:
            await retry_stalled_jobs(connector, settings.jobs_stalled_after_seconds)
        except Exception:
            logger.exception(
                "Looking for stalled jobs failed; trying again in %s s",
                settings.jobs_stalled_check_seconds,
            )
        await asyncio.sleep(settings.jobs_stalled_check_seconds)
