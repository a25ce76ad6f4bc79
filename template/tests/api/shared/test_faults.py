"""No request can harm another: each fault a request can meet on its way to the database is
injected for real, then ordinary traffic (twice the pool's connections, one after another and all
at once) must all succeed, and the fault's own answer is a 4xx, 503 or 504 problem, never a 500.

The pool is small and the statement timeout short, so that a connection left with a statement
timer running (docs/template/request-path.md, "Faults") would fail one of the ordinary requests.
"""

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import asyncpg
import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from pydantic import SecretStr
from sqlalchemy import BigInteger, Float, Integer, bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from app.api.deps import service
from app.core.config import Settings
from app.db.direct import fetch_rows
from app.main import create_app
from app.services.base import Service
from tests.assertions import assert_problem
from tests.clients import running, served
from tests.database import DatabaseServer, time_out_statements
from tests.factories import all_factories
from tests.pgbouncer import PgBouncer, find_pgbouncer
from tools.local_postgres import PostgresUnavailableError

POOL = 3
TIMEOUT_MS = 400  # long enough for an ordinary statement on a loaded machine
FACTORY = all_factories()[0]


class SessionHolder(Service):
    """A service of the tests' own, for routes that send statements of their choosing."""


SessionDep = Annotated[SessionHolder, service(SessionHolder)]


def fault_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "db_pool_size": POOL,
            "db_max_overflow": 0,
            "db_statement_timeout_ms": TIMEOUT_MS,
            "db_pool_timeout_seconds": 5,
        }
    )


def faulty_app(settings: Settings) -> FastAPI:
    """The app, with routes that send the statements the faults need on the asyncpg path."""
    app = create_app(fault_settings(settings))

    @app.get("/faults/real")
    async def real(holder: SessionDep, value: str) -> int:
        # A float parameter given text: asyncpg refuses it on the client, after the server has
        # parsed the statement (no check stands in front of floats, and SQLAlchemy passes it on).
        values = {"real": value}
        rows = await fetch_rows(
            holder.session,
            "faults-real",
            lambda: select(bindparam("real", type_=Float).label("real")),
            values,
        )
        return len(rows)

    @app.get("/faults/number")
    async def number(holder: SessionDep, value: int, divisor: int = 1) -> int:
        values = {"value": value, "divisor": divisor}

        def build() -> Any:
            quotient = bindparam("value", type_=BigInteger) / bindparam("divisor", type_=Integer)
            return select(quotient.label("quotient"))

        rows = await fetch_rows(holder.session, "faults-number", build, values)
        return int(rows[0]["quotient"])

    @app.get("/faults/sleep")
    async def sleep(holder: SessionDep, seconds: float) -> int:
        values = {"seconds": seconds, "one": 1}

        def build() -> Any:
            slept = func.pg_sleep(bindparam("seconds", type_=Float)).is_(None)
            return select(bindparam("one", type_=Integer).label("one")).where(slept)

        return len(await fetch_rows(holder.session, "faults-sleep", build, values))

    return app


async def ordinary_traffic(client: AsyncClient, url: str) -> None:
    """Twice the pool's connections of reads, after any statement timer left running would have
    fired: one after another (the pool hands out each connection in turn), then all at once."""
    await asyncio.sleep(TIMEOUT_MS / 1000 + 0.2)
    one_by_one = [(await client.get(url)).status_code for _ in range(2 * POOL)]
    together = await asyncio.gather(*(client.get(url) for _ in range(2 * POOL)))
    at_once = [response.status_code for response in together]
    listed = (await client.get(FACTORY.path)).status_code
    assert (one_by_one, at_once, listed) == ([200] * 2 * POOL, [200] * 2 * POOL, 200)


@pytest.fixture
async def client(live_settings: Settings) -> AsyncIterator[AsyncClient]:
    settings = await time_out_statements(live_settings, TIMEOUT_MS)
    async with running(faulty_app(settings)) as client:
        yield client


@pytest.fixture
async def record_url(client: AsyncClient) -> str:
    created = await FACTORY.create(client)
    return f"{FACTORY.path}/{created['id']}"


def cursor(*payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


# Cursors a client can forge: values the columns cannot hold. Each is refused before any statement.
FORGED_CURSORS = [
    ("-id", cursor("-id", 2**70)),
    ("id", cursor("id", -(2**63) - 1)),
    ("-created_at", cursor("-created_at", "2026-01-01T00:00:00Z", 2**70)),
    ("-created_at", cursor("-created_at", "0001-01-01T00:00:00+14:00", 1)),
    ("created_at", cursor("created_at", "9999-12-31T23:00:00-05:00", 1)),
    ("created_at", cursor("created_at", "0001-01-01T12:00:00", 1)),
]


async def test_a_forged_cursor_is_400_and_harms_no_later_request(
    client: AsyncClient, record_url: str
) -> None:
    for sort, forged in FORGED_CURSORS * POOL:  # each on every connection of the pool
        response = await client.get(FACTORY.path, params={"sort": sort, "cursor": forged})
        assert "cursor" in assert_problem(response, 400)["detail"], (sort, forged)
    await ordinary_traffic(client, record_url)


async def test_a_value_beyond_its_column_is_422_before_any_statement(
    client: AsyncClient, record_url: str
) -> None:
    for _ in range(POOL):
        response = await client.get("/faults/number", params={"value": 2**70})
        assert "does not fit its column" in assert_problem(response, 422)["detail"]
    await ordinary_traffic(client, record_url)


async def test_a_value_the_driver_refuses_discards_the_connection(
    client: AsyncClient, record_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A value the checks miss (here: no checks at all) reaches asyncpg, which fails to encode
    # it after the server has parsed the statement and started its statement timer.
    monkeypatch.setattr("app.db.direct.check_arguments", lambda *_: None)
    for _ in range(POOL):
        assert_problem(await client.get("/faults/number", params={"value": 2**70}), 422)
    await ordinary_traffic(client, record_url)


async def test_a_server_error_keeps_the_connection(
    database_server: DatabaseServer, live_settings: Settings
) -> None:
    # On the server itself: behind PgBouncer, the server connections are PgBouncer's.
    settings = await time_out_statements(database_server.directly(live_settings), TIMEOUT_MS)
    async with running(faulty_app(settings)) as client:
        record_url = f"{FACTORY.path}/{(await FACTORY.create(client))['id']}"
        await ordinary_traffic(client, record_url)  # the pool at its size
        before = await backend_pids(settings)
        for _ in range(POOL):
            response = await client.get("/faults/number", params={"value": 1, "divisor": 0})
            assert_problem(response, 422)
        await ordinary_traffic(client, record_url)
        assert await backend_pids(settings) == before  # none was closed and replaced


async def test_a_statement_timeout_is_504_and_harms_no_later_request(
    client: AsyncClient, record_url: str
) -> None:
    for _ in range(POOL):
        assert_problem(await client.get("/faults/sleep", params={"seconds": 5}), 504)
    await ordinary_traffic(client, record_url)


async def cancelled_mid_statement(client: AsyncClient, settings: Settings) -> bool:
    """Whether a request was cancelled while its statement ran on the server. False when the
    statement ended first (a loaded machine can be too slow to see a short one running); the
    request then succeeded."""
    request = asyncio.create_task(client.get("/faults/sleep", params={"seconds": 0.3}))
    if await running_while(settings, "pg_sleep", request):
        request.cancel()
    try:
        response = await request
    except asyncio.CancelledError:
        return True
    assert response.status_code == 200, response.text
    return False


async def test_a_cancelled_request_harms_no_later_request(
    client: AsyncClient, record_url: str, live_settings: Settings
) -> None:
    # The statement must end within the statement timeout: a short one, cancelled once it is
    # seen running, tried again when it ended before that.
    cancelled = 0
    for _ in range(20 * POOL):
        cancelled += await cancelled_mid_statement(client, live_settings)
        if cancelled == POOL:
            break
    assert cancelled == POOL, "no statement could be cancelled while it ran"
    await ordinary_traffic(client, record_url)


async def test_a_client_that_disconnects_mid_query_harms_no_later_request(
    live_settings: Settings,
) -> None:
    async with served(faulty_app(live_settings)) as client:
        created = await FACTORY.create(client)
        for _ in range(POOL):
            # The client gives up (its socket closed) while the statement runs.
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.05):
                    await client.get("/faults/sleep", params={"seconds": 0.1})
        await ordinary_traffic(client, f"{FACTORY.path}/{created['id']}")


async def test_terminated_connections_are_replaced_before_any_request_fails(
    client: AsyncClient, record_url: str, live_settings: Settings
) -> None:
    await ordinary_traffic(client, record_url)  # every connection of the pool opened
    async with admin(live_settings) as connection:
        await connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    await until_gone(live_settings)
    await ordinary_traffic(client, record_url)


async def one_of_each_transaction(client: AsyncClient, record_url: str) -> list[int]:
    """A read, a change that commits (BEGIN, UPDATE, COMMIT) and one refused after its UPDATE
    (BEGIN, UPDATE, ROLLBACK): their statuses."""
    read = await client.get(record_url)
    version = read.headers.get("etag") or (await client.get(record_url)).headers["etag"]
    change = await FACTORY.build(client, 1)
    changed = await client.patch(record_url, json=change, headers={"if-match": version})
    refused = await client.patch(record_url, json=change, headers={"if-match": '"999"'})
    return [read.status_code, changed.status_code, refused.status_code]


@pytest.mark.parametrize("statement", ["BEGIN", "COMMIT;", "ROLLBACK;"])
async def test_a_cancel_landing_on_a_transactions_begin_or_end_harms_no_later_request(
    live_settings: Settings, monkeypatch: pytest.MonkeyPatch, statement: str
) -> None:
    """The server cancels the statement that begins or ends a transaction, as
    `pg_cancel_backend` landing on it would: asyncpg keeps a failed BEGIN as the connection's
    transaction, and SQLAlchemy kept a connection whose ROLLBACK failed checked out. With a
    pool of one connection, either would fail every request after it."""
    settings = live_settings.model_copy(
        update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout_seconds": 2}
    )
    app = create_app(settings)
    execute = asyncpg.Connection.execute
    cancelled: list[str] = []

    async def cancelling(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> str:
        if query.startswith(statement) and not cancelled:
            cancelled.append(query)
            query, args = "SELECT pg_cancel_backend(pg_backend_pid()), pg_sleep(5)", ()
        return await execute(self, query, *args, **kwargs)

    async with running(app) as client:
        created = await FACTORY.create(client)
        record_url = f"{FACTORY.path}/{created['id']}"
        monkeypatch.setattr(asyncpg.Connection, "execute", cancelling)
        faulted = await one_of_each_transaction(client, record_url)
        monkeypatch.undo()
        assert cancelled, f"no {statement} was sent"
        assert 504 in faulted, faulted
        assert set(faulted) <= {200, 412, 504}, faulted
        for _ in range(3):
            assert await one_of_each_transaction(client, record_url) == [200, 200, 412]
        assert app.state.database.engine.sync_engine.pool.checkedout() == 0


@pytest.fixture
async def own_server() -> AsyncIterator[DatabaseServer]:
    """A server of the test's own, migrated, which it may restart: the suite's is shared with
    the other tests (and the other pytest-xdist workers)."""
    try:
        server = await asyncio.to_thread(DatabaseServer.throwaway)
    except PostgresUnavailableError as error:
        pytest.skip(f"a restart needs a server of the test's own: {error}")
    try:
        await server.prepare_template()
        yield server
    finally:
        await asyncio.to_thread(server.stop)


async def test_a_database_restart_fails_no_request_after_it(
    own_server: DatabaseServer, settings: Settings
) -> None:
    settings = own_server.app_settings(settings, own_server.template_name)
    async with running(faulty_app(await time_out_statements(settings, TIMEOUT_MS))) as client:
        record_url = f"{FACTORY.path}/{(await FACTORY.create(client))['id']}"
        await ordinary_traffic(client, record_url)
        assert own_server.local is not None
        await asyncio.to_thread(own_server.local.stop)
        await asyncio.to_thread(own_server.local.start)
        await ordinary_traffic(client, record_url)


@pytest.fixture
def pgbouncer(database_server: DatabaseServer, live_settings: Settings) -> Iterator[PgBouncer]:
    binary = find_pgbouncer()
    if binary is None:
        pytest.fail("pgbouncer is not installed; the tests through PgBouncer need it")
    bouncer = PgBouncer(
        binary, database_server.admin_url, live_settings.database_url.get_secret_value()
    )
    bouncer.start()
    yield bouncer
    bouncer.stop()


# Through PgBouncer (transaction pooling, no statement timeout of the app's own:
# docs/template/deployment.md)
FAULTS_THROUGH_PGBOUNCER: list[tuple[str, dict[str, Any]]] = [
    ("/faults/real", {"value": "maybe"}),  # refused by the driver
    ("/faults/number", {"value": 1, "divisor": 0}),  # refused by the server
    ("/faults/number", {"value": 2**70}),  # refused before sending
]


async def test_through_pgbouncer_no_fault_harms_a_later_request(
    pgbouncer: PgBouncer, live_settings: Settings
) -> None:
    url = pgbouncer.url(live_settings.database_url.get_secret_value())
    settings = live_settings.model_copy(
        update={"database_url": SecretStr(url), "db_pgbouncer": True}
    )
    async with running(faulty_app(settings)) as client:
        created = await FACTORY.create(client)
        for path, params in FAULTS_THROUGH_PGBOUNCER * POOL:
            assert_problem(await client.get(path, params=params), 422)
        await ordinary_traffic(client, f"{FACTORY.path}/{created['id']}")


@asynccontextmanager
async def admin(settings: Settings) -> AsyncIterator[AsyncConnection]:
    """A connection of the test's own to the app's database, outside the app's pool."""
    engine = create_async_engine(settings.database_url.get_secret_value())
    try:
        async with engine.connect() as connection:
            yield connection
    finally:
        await engine.dispose()


async def backend_pids(settings: Settings) -> set[int]:
    """The server process ids of the other client connections to the app's database."""
    async with admin(settings) as connection:
        rows = await connection.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
        )
        return {pid for (pid,) in rows}


async def running_while(settings: Settings, fragment: str, request: asyncio.Task[Any]) -> bool:
    """Whether a statement containing `fragment` was seen running on the server before
    `request` ended."""
    async with admin(settings) as connection, asyncio.timeout(60):
        while not request.done():
            found = await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
                    " AND query LIKE :pattern AND pid <> pg_backend_pid()"
                ),
                {"pattern": f"%{fragment}%"},
            )
            if found:
                return True
            await asyncio.sleep(0.01)
    return False


async def until_gone(settings: Settings) -> None:
    """Wait until the server has ended every other connection to the database, and the app's
    event loop has had the chance to read each one's goodbye."""
    for _ in range(500):
        if not await backend_pids(settings):
            await asyncio.sleep(0.05)
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the terminated connections are still there")
