"""Job throughput of N worker processes: run by bench/jobs.py with the rendered (jobs=procrastinate)
project's interpreter, in the project's directory. Prints one JSON object.

    python job_throughput.py <database URL> <jobs> <workers> <concurrency>

The workers are the project's own entry point (`python -m app.jobs.worker`), started and idle
first; the clock runs from the commit that queues the jobs (real `send_email` jobs, whose mail
sender only logs, below LOG_LEVEL) to the moment the last one has succeeded.
"""

import asyncio
import json
import os
import sys
import time

import asyncpg
from app.core.config import Settings
from app.core.mail import Email
from app.db.session import Database
from app.jobs.app import jobs
from app.jobs.queue import SendEmail
from procrastinate.types import JSONDict

POLL_SECONDS = 0.02


async def count(connection: asyncpg.Connection, query: str) -> int:
    value: int = await connection.fetchval(query)
    return value


async def queue(settings: Settings, number: int) -> None:
    email = Email(to="bench@example.com", subject="Bench", body="")
    job = SendEmail(email=email)
    arguments: list[JSONDict] = [job.model_dump(mode="json") for _ in range(number)]
    database = Database.connect(settings)
    try:
        async with database.session() as session:
            deferrer = jobs.configure_task(SendEmail.task_name, connection=session)
            await deferrer.batch_defer_async(*arguments)
            await session.commit()
    finally:
        await database.dispose()


async def main(url: str, number: int, workers: int, concurrency: int) -> dict[str, float]:
    settings = Settings(_env_file=None, database_url=url)
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    await connection.execute("TRUNCATE procrastinate_jobs, procrastinate_workers CASCADE")
    env = os.environ | {
        "DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
        "JOBS_CONCURRENCY": str(concurrency),
    }
    processes = [
        await asyncio.create_subprocess_exec(sys.executable, "-m", "app.jobs.worker", env=env)
        for _ in range(workers)
    ]
    try:
        async with asyncio.timeout(60):
            while await count(connection, "SELECT count(*) FROM procrastinate_workers") < workers:
                await asyncio.sleep(POLL_SECONDS)
        started = time.perf_counter()
        await queue(settings, number)
        done = "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'"
        async with asyncio.timeout(600):
            while await count(connection, done) < number:
                await asyncio.sleep(POLL_SECONDS)
        seconds = time.perf_counter() - started
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            await process.wait()
        await connection.close()
    return {"workers": workers, "jobs": number, "seconds": seconds, "per_second": number / seconds}


if __name__ == "__main__":
    url, number, workers, concurrency = sys.argv[1], *map(int, sys.argv[2:5])
    print(json.dumps(asyncio.run(main(url, number, workers, concurrency))))
