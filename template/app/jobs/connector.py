"""A procrastinate connector that also queues jobs through a SQLAlchemy session.

procrastinate defers on its own psycopg connection unless it is given one
(`task.configure(connection=...)`), and it only accepts psycopg connections. The service's
sessions run on asyncpg, so a job deferred on procrastinate's own connection would commit on
its own: a request that rolls back would still leave its job, and a job could run before the
rows it reads are committed. This connector accepts an `AsyncSession` (or `AsyncConnection`)
as that external connection and runs procrastinate's own SQL function on it, inside the
session's transaction: the job row commits or rolls back with the business rows.

Hand-written because procrastinate has no asyncpg connector; it stays small by reusing
`PsycopgConnector` for everything else (the worker's fetching, LISTEN/NOTIFY, heartbeats).
"""

import json
import re
from datetime import datetime
from typing import Any, LiteralString

from procrastinate import PsycopgConnector, exceptions, manager, sql
from procrastinate.types import JobToDefer
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.db.errors import UNIQUE_VIOLATION, driver_error, sqlstate

# procrastinate's `defer_jobs` query passes an array of a composite type, which asyncpg would
# need a codec for; the same function call with the jobs as one JSON document needs none.
DEFER_JOBS = text(
    """
    SELECT unnest(procrastinate_defer_jobs_v1(ARRAY(
        SELECT ROW(job.queue_name, job.task_name, job.priority, job.lock, job.queueing_lock,
                   job.args, job.scheduled_at)::procrastinate_job_to_defer_v1
          FROM jsonb_populate_recordset(
                   NULL::procrastinate_job_to_defer_v1, CAST(CAST(:jobs AS text) AS jsonb)
               ) WITH ORDINALITY AS job
         ORDER BY job.ordinality
    ))) AS id
    """
)
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
QUEUEING_LOCK_KEY = re.compile(r"Key \(queueing_lock\)=\((.*)\)")

type SessionLike = AsyncSession | AsyncConnection


class SessionConnector(PsycopgConnector):
    """`PsycopgConnector`, plus `configure(connection=session)` for SQLAlchemy sessions."""

    async def execute_query_all_async_with_connection(
        self, connection: Any, query: LiteralString, **arguments: Any
    ) -> list[dict[str, Any]]:
        if not isinstance(connection, AsyncSession | AsyncConnection):
            rows: list[dict[str, Any]] = await super().execute_query_all_async_with_connection(
                connection, query, **arguments
            )
            return rows
        if query == sql.queries["defer_jobs"]:
            return await defer_jobs(connection, arguments["jobs"])
        return await run(connection, query, arguments)

    async def execute_query_one_async_with_connection(
        self, connection: Any, query: LiteralString, **arguments: Any
    ) -> dict[str, Any]:
        if not isinstance(connection, AsyncSession | AsyncConnection):
            row: dict[str, Any] = await super().execute_query_one_async_with_connection(
                connection, query, **arguments
            )
            return row
        rows = await run(connection, query, arguments)
        if not rows:
            raise exceptions.NoResult
        return rows[0]


async def defer_jobs(session: SessionLike, jobs: list[JobToDefer]) -> list[dict[str, Any]]:
    """Insert `jobs` in the session's transaction; their ids, in order."""
    document = json.dumps([job._asdict() for job in jobs], default=_json_default)
    try:
        result = await session.execute(DEFER_JOBS, {"jobs": document})
    except IntegrityError as error:
        raise _unique_violation(error) from error
    return [dict(row) for row in result.mappings()]


async def run(
    session: SessionLike, query: LiteralString, arguments: dict[str, Any]
) -> list[dict[str, Any]]:
    """One of procrastinate's other queries (cancel, status) with scalar arguments."""
    result = await session.execute(text(PLACEHOLDER.sub(r":\1", query)), arguments)
    return [dict(row) for row in result.mappings()]


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _unique_violation(error: IntegrityError) -> Exception:
    """procrastinate's error for a queueing lock already taken, as its own connectors raise it."""
    if sqlstate(error) != UNIQUE_VIOLATION:
        return error
    constraint = getattr(driver_error(error), "constraint_name", None)
    detail = str(getattr(driver_error(error), "detail", "") or "")
    lock = match.group(1) if (match := QUEUEING_LOCK_KEY.search(detail)) else None
    queueing_lock = lock if constraint == manager.QUEUEING_LOCK_CONSTRAINT else None
    return exceptions.UniqueViolation(constraint_name=constraint, queueing_lock=queueing_lock)
