"""A worker whose emails become rows of `probe_deliveries`, for the scale tests to count.

`python -m tests.jobs.probe_worker`, configured by the environment like `app.jobs.worker`,
plus PROBE_DELAY: the seconds each email takes to send.
"""

import asyncio
import os

from sqlalchemy import text

from app.core.config import get_settings
from app.core.logging import configure_logging
from app.core.mail import Email
from app.db.session import Database
from app.jobs import worker

CREATE_TABLE = "CREATE TABLE IF NOT EXISTS probe_deliveries (subject text, worker_pid int)"
INSERT = text("INSERT INTO probe_deliveries (subject, worker_pid) VALUES (:subject, :pid)")


class TableMailSender:
    def __init__(self, database: Database, delay: float) -> None:
        self.database = database
        self.delay = delay

    async def send(self, email: Email) -> None:
        await asyncio.sleep(self.delay)
        async with self.database.session() as session:
            await session.execute(INSERT, {"subject": email.subject, "pid": os.getpid()})
            await session.commit()


async def main() -> None:
    settings = get_settings()
    configure_logging(settings)
    database = Database.connect(settings)
    try:
        mail = TableMailSender(database, float(os.environ.get("PROBE_DELAY", "0")))
        await worker.run(settings, mail=mail)
    finally:
        await database.dispose()


if __name__ == "__main__":
    asyncio.run(main())
