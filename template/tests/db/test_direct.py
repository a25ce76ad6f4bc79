"""Statements on the asyncpg connection (app/db/direct.py): when they run alone, when they join
the session's transaction, when SQLAlchemy runs them instead, and that their errors are
SQLAlchemy's."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import pytest
from sqlalchemy import (
    JSON,
    Integer,
    String,
    TypeDecorator,
    bindparam,
    func,
    literal_column,
    select,
    text,
    true,
    type_coerce,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.config import Settings
from app.db.direct import (
    OUTSIDE_TRANSACTIONS,
    Statement,
    compile_shape,
    fetch_rows,
    lent_by,
    settle,
)
from app.db.errors import QUERY_CANCELED, driver_error, sqlstate
from app.db.session import create_engine
from tests.database import DatabaseServer

DIALECT = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]
DIVISION_BY_ZERO = "22012"


class Padded(TypeDecorator[str]):
    """A type SQLAlchemy processes on the way out."""

    impl = String
    cache_ok = True

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else f"[{value}]"


def number() -> Statement:
    return select(bindparam("n", type_=Integer).label("n"))


@contextmanager
def logged(connection: asyncpg.Connection) -> Iterator[list[str]]:
    """The statements `connection` sends meanwhile."""
    queries: list[str] = []

    def log(query: Any) -> None:
        queries.append(query.query)

    connection.add_query_logger(log)
    try:
        yield queries
    finally:
        connection.remove_query_logger(log)


async def driver(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under `session` (checked out, no statement sent)."""
    connection = (await session.run_sync(lent_by)).driver
    assert connection is not None
    return connection


@pytest.fixture
async def engine(database_server: DatabaseServer, settings: Settings) -> AsyncIterator[AsyncEngine]:
    """The app's engine on the server itself (also when the suite runs through PgBouncer):
    these tests are about what a direct connection does."""
    engine = create_engine(database_server.directly(settings))
    yield engine
    await engine.dispose()


@pytest.fixture
async def pgbouncer_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.model_copy(update={"db_pgbouncer": True}))
    yield engine
    await engine.dispose()


def test_a_statement_of_plain_values_compiles_for_asyncpg() -> None:
    shape = compile_shape(number(), {"n": 1}, DIALECT)
    assert shape.sql == "SELECT $1::INTEGER AS n"
    assert shape.parameters == ("n",)


@pytest.mark.parametrize(
    "statement",
    [
        select(bindparam("n", type_=Integer).label("n")).where(func.abs(-3) == 3),
        select(bindparam("n", type_=JSON).label("n")),
        select(bindparam("n", type_=Padded).label("n")),
    ],
    ids=["a literal value", "a JSON parameter", "a processed result"],
)
def test_what_sqlalchemy_would_change_is_left_to_sqlalchemy(statement: Statement) -> None:
    assert compile_shape(statement, {"n": 1}, DIALECT).sql is None


async def test_the_first_statement_runs_alone_without_begin(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session:
        with logged(await driver(session)) as queries:
            rows = await fetch_rows(session, ("test", "number"), number, {"n": 7})
    assert rows == [{"n": 7}]
    assert queries == ["SELECT $1::INTEGER AS n"]


async def test_inside_a_transaction_the_statement_joins_it(engine: AsyncEngine) -> None:
    setting = func.current_setting(bindparam("name", type_=String), type_=String)
    probe = select(setting.label("value"))
    values = {"name": "test.probe"}
    assert compile_shape(probe, values, DIALECT).sql is not None  # asyncpg sends it
    async with AsyncSession(engine) as session:
        await session.execute(text("SELECT set_config('test.probe', 'joined', true)"))
        rows = await fetch_rows(session, ("test", "probe"), lambda: probe, values)
        assert (await driver(session)).is_in_transaction()
    assert rows == [{"value": "joined"}]


def set_probe() -> Statement:
    value = bindparam("value", type_=String)
    setting = func.set_config(literal_column("'test.probe'", String), value, true(), type_=String)
    return select(setting.label("set"))


@pytest.mark.parametrize("behind_pgbouncer", [False, True], ids=["direct", "pgbouncer mode"])
async def test_a_statement_that_begins_lasts_until_the_session_ends_the_transaction(
    database_server: DatabaseServer, settings: Settings, behind_pgbouncer: bool
) -> None:
    direct = database_server.directly(settings)
    engine = create_engine(direct.model_copy(update={"db_pgbouncer": behind_pgbouncer}))
    probe = select(func.current_setting("test.probe", True).label("value"))
    try:
        async with AsyncSession(engine) as session:
            connection = await driver(session)
            with logged(connection) as queries:
                values = {"value": "set"}
                await fetch_rows(session, ("test", "set"), set_probe, values, begin=True)
            assert connection.is_in_transaction()
            assert (await session.execute(probe)).scalar_one() == "set"
        assert not connection.is_in_transaction()  # the session rolled it back
        # Begun as SQLAlchemy begins it, then the statement itself on the fast path.
        assert queries == ["BEGIN;", "SELECT set_config('test.probe', $1::VARCHAR, true) AS set"]
        async with AsyncSession(engine) as session:  # the same pooled connection, the next use
            assert (await driver(session)) is connection
            assert (await session.execute(probe)).scalar_one() in (None, "")
    finally:
        await engine.dispose()


async def test_a_begin_that_fails_discards_the_connection(
    database_server: DatabaseServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """asyncpg keeps a failed BEGIN as the connection's transaction (every later one there
    would be a SAVEPOINT outside any transaction): the connection must not go back to the pool.
    The BEGIN is cancelled by the server, as `pg_cancel_backend` landing on it would."""
    engine = create_engine(database_server.directly(settings))
    values = {"value": "set"}
    execute = asyncpg.Connection.execute

    async def cancelled_begin(self: asyncpg.Connection, query: str, *args: Any) -> str:
        if query.startswith("BEGIN"):
            query = "SELECT pg_cancel_backend(pg_backend_pid()), pg_sleep(5)"
        return await execute(self, query, *args)

    try:
        async with AsyncSession(engine) as session:
            failed = await driver(session)
            monkeypatch.setattr(asyncpg.Connection, "execute", cancelled_begin)
            with pytest.raises(DBAPIError) as raised:
                await fetch_rows(session, ("test", "set"), set_probe, values, begin=True)
            monkeypatch.undo()
        assert sqlstate(raised.value) == QUERY_CANCELED
        async with AsyncSession(engine) as session:  # another connection, which begins
            assert (await driver(session)) is not failed
            await fetch_rows(session, ("test", "set"), set_probe, values, begin=True)
            probe = select(func.current_setting("test.probe", True))
            assert (await session.execute(probe)).scalar_one() == "set"
    finally:
        await engine.dispose()


async def test_behind_pgbouncer_sqlalchemy_opens_the_transaction(
    pgbouncer_engine: AsyncEngine,
) -> None:
    assert pgbouncer_engine.get_execution_options()[OUTSIDE_TRANSACTIONS] is False
    async with AsyncSession(pgbouncer_engine) as session:
        with logged(await driver(session)) as queries:
            rows = await fetch_rows(session, ("test", "number"), number, {"n": 7})
    assert rows == [{"n": 7}]
    assert queries[0] == "BEGIN;"


async def test_a_database_error_is_raised_as_sqlalchemy_raises_it(engine: AsyncEngine) -> None:
    def divide() -> Statement:
        quotient = bindparam("n", type_=Integer) / bindparam("zero", type_=Integer)
        return select(type_coerce(quotient, Integer).label("n"))

    values = {"n": 1, "zero": 0}
    assert compile_shape(divide(), values, DIALECT).sql is not None
    raised = []
    for key in (("test", "divide"), None):  # direct, then through SQLAlchemy
        async with AsyncSession(engine) as session:
            with pytest.raises(DBAPIError) as caught:
                await fetch_rows(session, key, divide, values)
        raised.append(caught.value)
    direct, through_sqlalchemy = raised
    assert type(direct) is type(through_sqlalchemy)
    assert type(direct.orig) is type(through_sqlalchemy.orig)
    assert sqlstate(direct) == DIVISION_BY_ZERO
    assert isinstance(driver_error(direct), asyncpg.DivisionByZeroError)
    assert not direct.connection_invalidated


async def test_a_lost_connection_is_invalidated_and_the_pool_replaces_it(
    engine: AsyncEngine,
) -> None:
    """A pooled connection the server ended (a restart, a failover, an idle timeout)."""
    pid_of = select(func.pg_backend_pid(type_=Integer).label("pid"))
    assert compile_shape(pid_of, {}, DIALECT).sql is not None
    async with AsyncSession(engine) as session:
        pid = (await fetch_rows(session, ("test", "pid"), lambda: pid_of, {}))[0]["pid"]
        async with engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await other.commit()
        await closed_by_the_server(await driver(session))
        with pytest.raises(DBAPIError) as caught:
            await fetch_rows(session, ("test", "pid"), lambda: pid_of, {})
    assert caught.value.connection_invalidated
    async with AsyncSession(engine) as session:
        rows = await fetch_rows(session, ("test", "pid"), lambda: pid_of, {})
    assert rows[0]["pid"] != pid


async def closed_by_the_server(connection: asyncpg.Connection) -> None:
    """Once asyncpg has read the end of the connection (the server's last message arrives a
    moment after pg_terminate_backend returns)."""
    closed = asyncio.Event()
    connection.add_termination_listener(lambda _: closed.set())
    if not connection.is_closed():
        async with asyncio.timeout(10):
            await closed.wait()


async def test_an_error_the_driver_does_not_translate_discards_the_connection(
    engine: AsyncEngine,
) -> None:
    """asyncpg 0.30 raises InternalClientError ("another operation is in progress") for a
    statement that races the server's goodbye; SQLAlchemy does not translate it. It is a lost
    connection (503), not a bug (500), and the pool replaces the connection."""
    pid_of = select(func.pg_backend_pid(type_=Integer).label("pid"))
    error = asyncpg.exceptions.InternalClientError("another operation is in progress")
    async with AsyncSession(engine) as session:
        pid = (await fetch_rows(session, ("test", "pid"), lambda: pid_of, {}))[0]["pid"]
        translated = await settle(session, await driver(session), error, "SELECT 1", [])
    assert isinstance(translated, DBAPIError)
    assert translated.connection_invalidated
    assert driver_error(translated) is error
    async with AsyncSession(engine) as session:
        rows = await fetch_rows(session, ("test", "pid"), lambda: pid_of, {})
    assert rows[0]["pid"] != pid
