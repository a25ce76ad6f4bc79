"""Statements compiled once per shape and run on the asyncpg connection the session holds.

Why this is hand-written: SQLAlchemy's execution path (execution context, cursor adaptation,
result processing, the greenlet hop) was about 30% of the CPU of a read, and each request's
session wrapped its one SELECT in BEGIN and ROLLBACK (docs/template/performance.md). The
repositories still build every statement with SQLAlchemy; this module compiles each shape once
and sends it with asyncpg's own `fetch`, on the session's connection:

- outside a transaction (the request's first statement): alone, one round trip, no BEGIN;
- inside one (the ORM has run something, or a test's outer transaction): as part of it;
- asked to `begin` (a statement whose effect must last the transaction: a transaction-local
  setting): in the session's transaction, begun first as SQLAlchemy would begin it;
- behind PgBouncer outside a transaction: through SQLAlchemy, which opens one. asyncpg
  prepares and executes in two exchanges, which transaction pooling may send to two server
  connections.

With tracing (app/db/tracing.py), a statement of a recorded trace gets its client span here,
the span SQLAlchemy's instrumentation gives the statements SQLAlchemy runs: tracing keeps the
short path.

A shape goes through SQLAlchemy whenever SQLAlchemy would change a value on the way: a parameter
the caller does not supply by name (a condition with a literal value), a JSON parameter, or a
result column of a type asyncpg does not decode to the value SQLAlchemy would give. Errors are
SQLAlchemy's either way: the driver's exception is translated by SQLAlchemy's asyncpg adapter
and wrapped as `Connection.execute` wraps it.

No request can leave a connection that harms the next one (docs/template/request-path.md, "Faults"):

- every value is checked against its parameter's column type before anything is sent
  (`app.db.arguments`): a value the driver could not encode is refused as a client error;
- an error the server reported leaves the connection in a known state (the server has answered
  the statement's Sync), so the connection goes back to the pool;
- any other failure (the driver refusing a value on the client side, a lost connection, a
  cancellation, an internal driver error) may have left the server mid-statement: outside a
  transaction its statement timer keeps running and would cancel the next borrower's statement.
  The connection is closed and invalidated, and the pool opens a fresh one.
"""

import asyncio
from collections.abc import Callable, Hashable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
from sqlalchemy import (
    ARRAY,
    JSON,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Enum,
    Float,
    Insert,
    Integer,
    Numeric,
    Select,
    String,
    TypeDecorator,
    Uuid,
)
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from app.core.storable import Refusal
from app.db.arguments import check_arguments, refusal_of

# The engine option that allows statements outside a transaction (False behind PgBouncer).
OUTSIDE_TRANSACTIONS = "app_statements_outside_transactions"
# The engine option telemetry sets: the `StatementSpans` of the statements run here.
STATEMENT_SPANS = "app_statement_spans"
NO_SPAN = nullcontext()
MAX_SHAPES = 512  # distinct statements: resources x (read, page variants, count, insert)

Columns = dict[str, Any]  # a row, by column name
Statement = Select[Any] | Insert  # a SELECT, or an INSERT ... RETURNING
Build = Callable[[], Statement]


class StatementSpans(Protocol):
    def __call__(self, sql: str) -> AbstractContextManager[object] | None:
        """A span around one run of `sql`, or None when the statement is not traced."""


@dataclass(frozen=True, slots=True)
class Lent:
    """What a session's connection offers this module: its asyncpg connection (None with
    another driver), whether a statement may run outside a transaction on it, its dialect, and
    the spans of its statements (None without tracing)."""

    driver: asyncpg.Connection | None
    alone: bool
    dialect: Dialect
    spans: StatementSpans | None


@dataclass(frozen=True, slots=True)
class Shape:
    """A statement compiled for asyncpg: its SQL and parameter names in order, or `sql` None
    when SQLAlchemy must run it; `refusals` tell whether each named value fits its column."""

    sql: str | None
    parameters: tuple[str, ...] = ()
    refusals: tuple[tuple[str, Refusal], ...] = ()


class Shapes:
    """Compiled shapes by key; past MAX_SHAPES (keys that vary with values: a bug), it starts
    over rather than grow without bound."""

    def __init__(self) -> None:
        self._shapes: dict[Hashable, Shape] = {}

    def get(
        self, key: Hashable, build: Build, values: Mapping[str, Any], dialect: Dialect
    ) -> Shape:
        shape = self._shapes.get(key)
        if shape is None:
            if len(self._shapes) >= MAX_SHAPES:
                self._shapes.clear()
            shape = self._shapes[key] = compile_shape(build(), values, dialect)
        return shape


SHAPES = Shapes()


def compile_shape(statement: Statement, values: Mapping[str, Any], dialect: Dialect) -> Shape:
    """`statement` compiled, if asyncpg can run it with `values` as SQLAlchemy would."""
    if dialect.driver != "asyncpg":
        return Shape(None)
    compiled = statement.compile(dialect=dialect)
    parameters = tuple(compiled.positiontup or ())
    refusals = tuple(
        (name, refusal)
        for name in dict.fromkeys(parameters)
        if name in values and (refusal := refusal_of(compiled.binds[name].type)) is not None
    )
    supplied = all(name in values for name in parameters)
    plain_binds = not any(isinstance(compiled.binds[name].type, JSON) for name in parameters)
    plain_results = all(decoded_alike(column.type) for column in statement.exported_columns)
    if not (supplied and plain_binds and plain_results):
        return Shape(None, refusals=refusals)
    return Shape(compiled.string, parameters, refusals)


def decoded_alike(type_: TypeEngine[Any]) -> bool:
    """Whether asyncpg returns a column of this type as the value SQLAlchemy would."""
    if isinstance(type_, TypeDecorator | Enum):
        return False
    if isinstance(type_, ARRAY):  # a list of its items, unless declared as tuples
        return not type_.as_tuple and decoded_alike(type_.item_type)
    if isinstance(type_, Numeric):  # Decimal for NUMERIC, float for FLOAT, as declared
        return type_.asdecimal != isinstance(type_, Float)
    return isinstance(type_, Integer | String | Boolean | Date | DateTime | Uuid | JSON)


async def fetch_rows(
    session: AsyncSession,
    key: Hashable | None,
    build: Build,
    values: Mapping[str, Any],
    *,
    begin: bool = False,
) -> list[Columns]:
    """The rows of the statement `build` makes, run on `session`'s connection, as dicts of
    its columns; with `begin`, in the session's transaction (begun first if need be), which
    the session ends.

    `build` makes a statement whose values are `bindparam`s named as in `values` (given no
    value of their own), so that its SQL depends only on `key`; with None as `key`, SQLAlchemy
    runs a fresh `build()` each time.

    `ValueOutOfRangeError` (a client error) if a value does not fit its column, before anything
    is sent.
    """
    if key is not None:
        # One hop into SQLAlchemy's greenlet for the connection, its driver and options.
        lent = await session.run_sync(lent_by)
        driver = lent.driver
        shape = SHAPES.get(key, build, values, lent.dialect)
        check_arguments(shape.refusals, values)
        in_transaction = driver is not None and driver.is_in_transaction()
        if shape.sql is not None and driver is not None and (lent.alone or begin or in_transaction):
            arguments = [values[name] for name in shape.parameters]
            if begin and not in_transaction:
                await begin_transaction(session, driver)
            span = lent.spans(shape.sql) if lent.spans is not None else None
            try:
                with span or NO_SPAN:
                    records = await driver.fetch(shape.sql, *arguments)
            except BaseException as error:
                translated = await settle(session, driver, error, shape.sql, arguments)
                if translated is None:
                    raise
                raise translated from error
            return [dict(record.items()) for record in records]
    connection = await session.connection()
    result = await connection.execute(build(), dict(values))
    return [dict(row._mapping) for row in result]


async def begin_transaction(session: AsyncSession, driver: asyncpg.Connection) -> None:
    """Begin the transaction under `session` now, with the method SQLAlchemy's asyncpg adapter
    itself calls before the first statement SQLAlchemy runs, so that the adapter records it and
    the session ends it (ROLLBACK or COMMIT) like any other. Hand-written: SQLAlchemy begins
    lazily and offers no call for it, and beginning with a statement through SQLAlchemy cost a
    scoped read about as much as everything else tenancy adds (docs/template/performance.md,
    "What tenancy costs a read").

    A BEGIN that fails for any reason discards the connection: asyncpg keeps a failed BEGIN as
    the connection's transaction, so every later one there would be a SAVEPOINT outside any
    transaction, refused by the server (a cancellation that lands on BEGIN)."""
    fairy = await (await session.connection()).get_raw_connection()
    adapter: Any = fairy.dbapi_connection
    try:
        await adapter._start_transaction()
    except BaseException as error:
        driver.terminate()  # no await: a second cancellation cannot interrupt it
        if not isinstance(error, Exception):
            await asyncio.shield(invalidate(session, error))
            raise
        # The adapter raised its DB-API translation of asyncpg's error: the cause.
        cause = error.__cause__ if isinstance(error.__cause__, Exception) else error
        raise await sqlalchemy_error(session, cause, "BEGIN", [], invalidate=True) from error


def lent_by(session: Session) -> Lent:
    """What `session`'s connection (checked out now if need be) offers this module."""
    connection = session.connection()
    options = connection.get_execution_options()
    driver = connection.connection.driver_connection
    return Lent(
        driver if isinstance(driver, asyncpg.Connection) else None,
        alone=bool(options.get(OUTSIDE_TRANSACTIONS, False)),
        dialect=connection.dialect,
        spans=options.get(STATEMENT_SPANS),
    )


def answered_by_server(error: BaseException) -> bool:
    """Whether `error` is an error response from PostgreSQL, after which the connection is idle
    and clean; asyncpg's own refusals (a value it cannot encode) share the server's exception
    classes but carry no severity."""
    return isinstance(error, asyncpg.PostgresError) and error.severity is not None


async def settle(
    session: AsyncSession,
    driver: asyncpg.Connection,
    error: BaseException,
    sql: str,
    arguments: list[Any],
) -> StatementError | None:
    """Leave `session`'s connection clean or discard it, and return `error` as SQLAlchemy raises
    it (`IntegrityError`, `OperationalError`, ..., with the driver's exception as the DB-API
    error's cause), or None for an error to re-raise as it is (a cancellation)."""
    if not isinstance(error, Exception):  # CancelledError, KeyboardInterrupt: propagate
        driver.terminate()  # no await: a second cancellation cannot interrupt it
        await asyncio.shield(invalidate(session, error))
        return None
    if answered_by_server(error):
        return await sqlalchemy_error(session, error, sql, arguments, invalidate=False)
    # The server may be mid-statement: close the socket at once, then tell the pool, so that
    # it opens a new connection for the next request.
    driver.terminate()
    return await sqlalchemy_error(session, error, sql, arguments, invalidate=True)


async def invalidate(session: AsyncSession, error: BaseException) -> None:
    connection = await session.connection()
    await connection.invalidate(error if isinstance(error, Exception) else None)


async def sqlalchemy_error(
    session: AsyncSession, error: Exception, sql: str, arguments: list[Any], *, invalidate: bool
) -> StatementError:
    """`error` from asyncpg as SQLAlchemy raises it; the connection invalidated when asked or
    when SQLAlchemy sees a lost connection. An error the adapter does not translate (asyncpg's
    InternalClientError, "another operation is in progress") is a DB-API `InterfaceError`:
    the database is unavailable to this request (503), not a bug of the service (500)."""
    connection = await session.connection()
    dialect = connection.dialect
    dbapi = dialect.loaded_dbapi
    fairy = await connection.get_raw_connection()
    adapter: Any = fairy.dbapi_connection
    try:
        # The adapter's own translation, as its cursor applies it: it raises the DB-API error,
        # or re-raises what it does not translate.
        adapter._handle_exception(error)
    except dbapi.Error as translated:
        dbapi_error = translated
    except Exception:
        dbapi_error = dbapi.InterfaceError(f"{type(error).__name__}: {error}")
        dbapi_error.__cause__ = error
    lost = invalidate or dialect.is_disconnect(dbapi_error, adapter, None)
    wrapped = DBAPIError.instance(
        sql, arguments, dbapi_error, dbapi.Error, connection_invalidated=lost, dialect=dialect
    )
    if lost:
        await connection.invalidate(wrapped)
    return wrapped
