"""What the job tests share: a mail sender that records, the queue's rows, a worker drain."""

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

import asyncpg
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.mail import Email
from app.db.session import Database
from app.jobs import worker
from app.jobs.queue import JobQueue, SendEmail

HOUSEKEEPING = ("retry_stalled_jobs", "remove_finished_jobs")
EMAIL = Email(to="someone@example.com", subject="Hello", body="A test.")
DUE = """SELECT 1 FROM procrastinate_jobs
          WHERE status = 'todo' AND coalesce(scheduled_at, now()) <= now()"""


class RecordingMailSender:
    """Keeps what it is asked to send; `fail_first` raises on that many calls first."""

    def __init__(self, fail_first: int = 0, delay: float = 0.0) -> None:
        self.sent: list[Email] = []
        self.calls = 0
        self.fail_first = fail_first
        self.delay = delay
        self.running: list[tuple[float, float]] = []  # (start, end) of each call, by the clock
        self.called = asyncio.Event()
        self.cancelled = asyncio.Event()  # an abort cancels the job's asyncio task

    async def send(self, email: Email) -> None:
        self.calls += 1
        self.called.set()
        start = asyncio.get_running_loop().time()
        try:
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        self.running.append((start, asyncio.get_running_loop().time()))
        if self.calls <= self.fail_first:
            raise ConnectionError("the mail server is away")
        self.sent.append(email)


@dataclass(frozen=True)
class JobRow:
    id: int
    task_name: str
    status: str
    args: dict[str, Any]
    attempts: int
    scheduled_at: datetime | None

    @classmethod
    def of(cls, record: asyncpg.Record) -> Self:
        return cls(**dict(record))


def libpq(settings: Settings) -> str:
    """The tests' own connection: the tables' owner (with tenancy, the app's role is not)."""
    url = make_url(settings.direct_database_url())
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def fetch(settings: Settings, query: str, *arguments: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(libpq(settings))
    try:
        await connection.set_type_codec(
            "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )
        return list(await connection.fetch(query, *arguments))
    finally:
        await connection.close()


async def job_rows(settings: Settings) -> list[JobRow]:
    """The queue's jobs, but the housekeeping ones, oldest first."""
    records = await fetch(
        settings,
        "SELECT id, task_name, status::text, args, attempts, scheduled_at"
        " FROM procrastinate_jobs WHERE task_name <> ALL($1::text[]) ORDER BY id",
        list(HOUSEKEEPING),
    )
    return [JobRow.of(record) for record in records]


async def drain(settings: Settings, mail: RecordingMailSender) -> None:
    """Run a worker until no job is due (a worker with `wait=False` also stops at a job it may
    not start yet, behind a lock)."""
    for _ in range(100):
        await worker.run(settings, wait=False, mail=mail)
        if not await fetch(settings, DUE):
            return
    raise AssertionError("jobs are due but no worker starts them")


async def queue_emails(
    settings: Settings, count: int, lock: str | None = None, queue: str | None = None
) -> list[int]:
    """Queue `count` emails (committed), all with `lock` and on `queue` if given."""
    database = Database.connect(settings)
    try:
        async with database.session() as session:
            ids = [await queue_email(session, i, lock, queue) for i in range(count)]
            await session.commit()
        return ids
    finally:
        await database.dispose()


async def queue_email(session: AsyncSession, i: int, lock: str | None, queue: str | None) -> int:
    email = EMAIL.model_copy(update={"subject": f"Hello {i}"})
    return await JobQueue(session).defer(SendEmail(email=email), lock=lock, queue=queue)
