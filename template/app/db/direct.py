"""Statements compiled once per shape and run on the asyncpg connection the session holds.

Why this is hand-written: SQLAlchemy's execution path (execution context, cursor adaptation,
result processing, the greenlet hop) was about 30% of the CPU of a read, and each request's
session wrapped its one SELECT in BEGIN and ROLLBACK (docs/performance.md). The repositories
still build every statement with SQLAlchemy; this module compiles each shape once and sends it
with asyncpg's own `fetch`, on the session's connection:

- outside a transaction (the request's first statement): alone, one round trip, no BEGIN;
- inside one (the ORM has run something, or a test's outer transaction): as part of it;
- behind PgBouncer outside a transaction: through SQLAlchemy, which opens one. asyncpg
  prepares and executes in two exchanges, which transaction pooling may send to two server
  connections;
- in a request whose trace is recorded: through SQLAlchemy, whose events give each statement
  its span (unsampled requests keep the short path).

A shape goes through SQLAlchemy whenever SQLAlchemy would change a value on the way: a parameter
the caller does not supply by name (a condition with a literal value), a JSON parameter, or a
result column of a type asyncpg does not decode to the value SQLAlchemy would give. Errors are
SQLAlchemy's either way: the driver's exception is translated by SQLAlchemy's asyncpg adapter
and wrapped as `Connection.execute` wraps it, and a lost connection is invalidated.
"""

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

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

# The engine option that allows statements outside a transaction (False behind PgBouncer).
OUTSIDE_TRANSACTIONS = "app_statements_outside_transactions"
# The engine option telemetry sets: a function telling whether the statement about to run is
# traced; a traced statement goes through SQLAlchemy, whose events make its span.
TRACED = "app_statements_traced"
MAX_SHAPES = 512  # distinct statements: resources x (read, page variants, count, insert)

Columns = dict[str, Any]  # a row, by column name
Statement = Select[Any] | Insert  # a SELECT, or an INSERT ... RETURNING
Build = Callable[[], Statement]


@dataclass(frozen=True, slots=True)
class Shape:
    """A statement compiled for asyncpg: its SQL and parameter names in order, or `sql` None
    when SQLAlchemy must run it."""

    sql: str | None
    parameters: tuple[str, ...] = ()


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
    supplied = all(name in values for name in parameters)
    plain_binds = not any(isinstance(compiled.binds[name].type, JSON) for name in parameters)
    plain_results = all(decoded_alike(column.type) for column in statement.exported_columns)
    if not (supplied and plain_binds and plain_results):
        return Shape(None)
    return Shape(compiled.string, parameters)


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
    session: AsyncSession, key: Hashable | None, build: Build, values: Mapping[str, Any]
) -> list[Columns]:
    """The rows of the statement `build` makes, run on `session`'s connection, as dicts of
    its columns.

    `build` makes a statement whose values are `bindparam`s named as in `values` (given no
    value of their own), so that its SQL depends only on `key`; with None as `key`, SQLAlchemy
    runs a fresh `build()` each time.
    """
    if key is not None:
        # One hop into SQLAlchemy's greenlet for the connection, its driver and options.
        driver, alone, dialect = await session.run_sync(driver_of)
        shape = SHAPES.get(key, build, values, dialect)
        if shape.sql is not None and driver is not None and (alone or driver.is_in_transaction()):
            arguments = [values[name] for name in shape.parameters]
            try:
                records = await driver.fetch(shape.sql, *arguments)
            except Exception as error:
                translated = await sqlalchemy_error(session, error, shape.sql, arguments)
                if translated is None:
                    raise
                raise translated from error
            return [dict(record.items()) for record in records]
    connection = await session.connection()
    result = await connection.execute(build(), dict(values))
    return [dict(row._mapping) for row in result]


def driver_of(session: Session) -> tuple[asyncpg.Connection | None, bool, Dialect]:
    """The asyncpg connection under `session`'s connection (None when SQLAlchemy must run the
    statement: another driver, or a traced statement), whether a statement may run outside a
    transaction on it, and its dialect."""
    connection = session.connection()
    options = connection.get_execution_options()
    alone = bool(options.get(OUTSIDE_TRANSACTIONS, False))
    driver = connection.connection.driver_connection
    if not isinstance(driver, asyncpg.Connection) or ((traced := options.get(TRACED)) and traced()):
        return None, alone, connection.dialect
    return driver, alone, connection.dialect


async def sqlalchemy_error(
    session: AsyncSession, error: Exception, sql: str, arguments: list[Any]
) -> StatementError | None:
    """`error` from asyncpg as SQLAlchemy raises it (`IntegrityError`, `OperationalError`, ...,
    with the driver's exception as the DB-API error's cause), or None for an error SQLAlchemy
    passes on as it is; a lost connection is invalidated."""
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
        lost = dialect.is_disconnect(translated, adapter, None)
        wrapped = DBAPIError.instance(
            sql, arguments, translated, dbapi.Error, connection_invalidated=lost, dialect=dialect
        )
        if lost:
            await connection.invalidate(wrapped)
        return wrapped
    except Exception:  # noqa: S110  (untranslated: the caller re-raises the original)
        pass
    return None
