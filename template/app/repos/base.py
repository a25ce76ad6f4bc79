"""The generic repository: the queries every resource shares, written once.

A repository only talks to the database. It turns the database failures a client can act on
(duplicates, dangling references, stale versions) into `app.core.errors` types. Committing is
the service's decision.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Result,
    Row,
    Select,
    SQLColumnExpression,
    func,
    inspect,
    select,
    tuple_,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.schema import ColumnCollectionConstraint

from app.core.errors import ConflictError, InvalidReferenceError, VersionMismatchError
from app.db.base import Base, Entity
from app.db.errors import FOREIGN_KEY_VIOLATION, UNIQUE_VIOLATION, driver_error, sqlstate
from app.schemas.pagination import ListParams


class Listing[ItemT]:
    """One page of rows, with the attributes of `app.schemas.pagination.Page`.

    A plain class on purpose: FastAPI deep-copies the dataclasses it serializes.
    """

    __slots__ = ("items", "limit", "next_cursor", "offset", "total")

    def __init__(
        self,
        items: list[ItemT],
        *,
        total: int | None,
        limit: int,
        offset: int | None,
        next_cursor: str | None,
    ) -> None:
        self.items = items
        self.total = total
        self.limit = limit
        self.offset = offset
        self.next_cursor = next_cursor


class Repository[ModelT: Entity, ParamsT: ListParams]:
    """Reads return rows of columns (cheaper than ORM objects); changes work on ORM objects."""

    model: type[ModelT]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, id_: int) -> ModelT | None:
        """The ORM object, to change or delete."""
        return await self.session.get(self.model, id_)

    async def find(self, id_: int) -> Row[Any] | None:
        """The row's columns, to read."""
        query = select(*inspect(self.model).columns).where(self.model.id == id_)
        return (await self._read(query)).first()

    async def add(self, entity: ModelT) -> ModelT:
        self.session.add(entity)
        await self.flush()
        return entity

    async def delete(self, entity: ModelT) -> None:
        await self.session.delete(entity)
        await self.flush()

    async def flush(self) -> None:
        with self._client_errors():
            await self.session.flush()

    async def commit(self) -> None:
        with self._client_errors():
            await self.session.commit()

    def conditions(self, params: ParamsT) -> list[ColumnElement[bool]]:
        """The WHERE clauses for a list query's filters; resources override this."""
        return []

    async def page(self, params: ParamsT) -> Listing[Row[Any]]:
        conditions = self.conditions(params)
        rows = list(await self._read(self._page_query(conditions, params)))
        has_more = len(rows) > params.limit
        items = rows[: params.limit]
        total = await self.count(conditions) if params.offset is not None else None
        next_cursor = params.cursor_after(items[-1]) if has_more else None
        return Listing(
            items, total=total, limit=params.limit, offset=params.offset, next_cursor=next_cursor
        )

    async def count(self, conditions: list[ColumnElement[bool]]) -> int:
        query = select(func.count()).select_from(self.model).where(*conditions)
        total: int = (await self._read(query)).scalar_one()
        return total

    async def _read(self, query: Select[Any]) -> Result[Any]:
        # Reads of columns need none of the ORM's machinery: run them on the session's
        # connection (same transaction), which costs less per query.
        connection = await self.session.connection()
        result: Result[Any] = await connection.execute(query)
        return result

    def _page_query(self, conditions: list[ColumnElement[bool]], params: ParamsT) -> Select[Any]:
        keys = [getattr(self.model, params.sort_field)]
        if params.sort_field != "id":
            keys.append(self.model.id)  # a unique tie-breaker makes the order total
        query = select(*inspect(self.model).columns).where(*conditions)
        if params.after is not None:
            keyset, after = tuple_(*keys), tuple_(*params.after)
            query = query.where(keyset < after if params.descending else keyset > after)
        order = [key.desc() if params.descending else key.asc() for key in keys]
        # One row more than asked tells whether another page follows.
        return query.order_by(*order).offset(params.offset).limit(params.limit + 1)

    @contextmanager
    def _client_errors(self) -> Iterator[None]:
        """Re-raise the database errors a client can act on as domain errors."""
        try:
            yield
        except IntegrityError as error:
            raise self._integrity_problem(error) from error
        except StaleDataError as error:
            raise VersionMismatchError(
                "The resource changed since it was read; fetch it again and retry."
            ) from error

    def _integrity_problem(self, error: IntegrityError) -> Exception:
        cause = driver_error(error)
        columns = self._columns_of(getattr(cause, "constraint_name", None))
        if sqlstate(error) == UNIQUE_VIOLATION:
            return ConflictError(f"Another record already has this {columns}.")
        if sqlstate(error) == FOREIGN_KEY_VIOLATION:
            if getattr(cause, "table_name", None) == self.model.__tablename__:
                return InvalidReferenceError(f"{columns} refers to a record that does not exist.")
            return ConflictError("Other records still refer to this one; remove them first.")
        return error

    def _columns_of(self, name: str | None) -> str:
        table = Base.metadata.tables[self.model.__tablename__]
        for constraint in table.constraints:
            if isinstance(constraint, ColumnCollectionConstraint) and constraint.name == name:
                return ", ".join(column.name for column in constraint.columns)
        return "value"


def contains(column: SQLColumnExpression[Any], text: str) -> ColumnElement[bool]:
    """Case-insensitive substring match that takes LIKE wildcards in `text` literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")
