"""What the rendered suite's per-test isolation costs: the same small test body (insert, commit,
read back) run on the project's own `session` fixture (one outer transaction per test, commits
release savepoints, rolled back at the end) and on a session straight on the engine that commits
for real and cleans nothing up (the floor). bench/suite.py copies this file into the rendered
project's tests/ and runs it with BENCH_INTERLEAVE=1, so the two alternate test by test.
"""

import os
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

RUNS = range(int(os.environ.get("BENCH_ISOLATION_TESTS", "100")))
INSERT = text("INSERT INTO tasks (title, version) VALUES ('isolation probe', 1) RETURNING id")
SELECT = text("SELECT title FROM tasks WHERE id = :id")


@pytest.fixture
async def unisolated_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session


async def insert_commit_read(session: AsyncSession) -> None:
    row_id = (await session.execute(INSERT)).scalar_one()
    await session.commit()
    assert (await session.execute(SELECT, {"id": row_id})).scalar_one() == "isolation probe"


@pytest.mark.parametrize("run", RUNS)
async def test_rolled_back(session: AsyncSession, run: int) -> None:
    await insert_commit_read(session)


@pytest.mark.parametrize("run", RUNS)
async def test_no_cleanup(unisolated_session: AsyncSession, run: int) -> None:
    await insert_commit_read(unisolated_session)
