"""The generic repository: the queries every resource shares, written once.

A repository only talks to the database. Reads return the resource's `Read` schema, validated
straight from the selected columns (cheaper than loading ORM objects); changes work on ORM
objects. It turns the database failures a client can act on (duplicates, dangling references,
stale versions) into `app.core.errors` types. Committing is the service's decision.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, Self

from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    func,
    inspect,
    or_,
    select,
    tuple_,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.schema import ColumnCollectionConstraint

from app.core.cursor import encode_cursor
from app.core.errors import ConflictError, InvalidReferenceError, VersionMismatchError
from app.db.base import Base, Entity
from app.db.errors import FOREIGN_KEY_VIOLATION, UNIQUE_VIOLATION, driver_error, sqlstate
from app.schemas.base import Record
from app.schemas.pagination import Listing, ListParams


class Repository[ModelT: Entity, ReadT: Record, ParamsT: ListParams]:
    """Queries for one model; `read_model` is the schema reads return."""

    model: type[ModelT]
    read_model: type[ReadT]
    # The columns a list's `q` searches (case-insensitive substring), and those whose list
    # parameter filters by equality, by attribute (the same on the model and on the list
    # parameters); `conditions` turns them into clauses.
    searched_columns: tuple[str, ...] = ()
    filtered_columns: tuple[str, ...] = ()

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> Self:
        return cls(session)

    def visible(self) -> list[ColumnElement[bool]]:
        """The rows this repository may touch at all (every read, list, count and change): all
        of them here; a repository of owned records narrows them to the owner's."""
        return []

    async def read(self, id_: int) -> ReadT | None:
        """The record, to show."""
        query = select(*record_columns(self.model)).where(self.model.id == id_, *self.visible())
        records = await self._read_records(query)
        return records[0] if records else None

    async def read_page(self, params: ParamsT) -> Listing[ReadT]:
        """One page of records, in cursor mode or (with a total) in offset mode."""
        conditions = [*self.visible(), *self.conditions(params)]
        records = await self._read_records(self._page_query(conditions, params))
        has_more = len(records) > params.limit
        items = records[: params.limit]
        total = await self.count(conditions) if params.offset is not None else None
        next_cursor = self._cursor_after(items[-1], params) if has_more else None
        return Listing(
            items, total=total, limit=params.limit, offset=params.offset, next_cursor=next_cursor
        )

    async def count(self, conditions: list[ColumnElement[bool]]) -> int:
        query = select(func.count()).select_from(self.model).where(*conditions)
        connection = await self.session.connection()
        total: int = (await connection.execute(query)).scalar_one()
        return total

    async def load_entity(self, id_: int) -> ModelT | None:
        """The ORM object, to change or delete."""
        if not (visible := self.visible()):
            return await self.session.get(self.model, id_)
        return await self.session.scalar(select(self.model).where(self.model.id == id_, *visible))

    def record_of(self, entity: ModelT) -> ReadT:
        """The record of an ORM object just added or changed."""
        return self.read_model.model_validate(entity)

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
        """The WHERE clauses for a list query's filters; override it for filters of other kinds."""
        conditions: list[ColumnElement[bool]] = []
        text = getattr(params, "q", None)
        if text is not None and self.searched_columns:
            columns = [getattr(self.model, name) for name in self.searched_columns]
            conditions.append(or_(*(contains(column, text) for column in columns)))
        for name in self.filtered_columns:
            if (value := getattr(params, name)) is not None:
                conditions.append(getattr(self.model, name) == value)
        return conditions

    async def _read_records(self, query: Select[Any]) -> list[ReadT]:
        # Reads of columns need none of the ORM's machinery: run them on the session's
        # connection (same transaction), and validate each row as a dict of its columns, which
        # costs less than validating it from attributes (measured: docs/performance.md).
        connection = await self.session.connection()
        result = await connection.execute(query)
        keys = tuple(result.keys())
        validate = self.read_model.model_validate
        return [validate(dict(zip(keys, row, strict=True))) for row in result]

    def _page_query(self, conditions: list[ColumnElement[bool]], params: ParamsT) -> Select[Any]:
        keys = [getattr(self.model, params.sort_attribute)]
        if params.sort_field != "id":
            keys.append(self.model.id)  # a unique tie-breaker makes the order total
        query = select(*record_columns(self.model)).where(*conditions)
        if params.after is not None:
            keyset, after = tuple_(*keys), tuple_(*params.after)
            query = query.where(keyset < after if params.descending else keyset > after)
        order = [key.desc() if params.descending else key.asc() for key in keys]
        # One row more than asked tells whether another page follows.
        return query.order_by(*order).offset(params.offset).limit(params.limit + 1)

    @staticmethod
    def _cursor_after(item: ReadT, params: ParamsT) -> str:
        """The cursor of the page that starts after `item`."""
        values = [getattr(item, params.sort_attribute)]
        if params.sort_field != "id":
            values.append(item.id)  # the tie-breaker of the sort order
        return encode_cursor(params.sort, values)

    @contextmanager
    def _client_errors(self) -> Iterator[None]:
        """Re-raise the database errors a client can act on as domain errors."""
        try:
            yield
        except IntegrityError as error:
            problem = self._integrity_problem(error)
            if problem is None:
                raise
            raise problem from error
        except StaleDataError as error:
            raise VersionMismatchError(
                "The resource changed since it was read; fetch it again and retry."
            ) from error

    def _integrity_problem(self, error: IntegrityError) -> Exception | None:
        """The domain error for a violation a client caused, or None for any other."""
        cause = driver_error(error)
        columns = self._columns_of(getattr(cause, "constraint_name", None))
        if sqlstate(error) == UNIQUE_VIOLATION:
            return ConflictError(f"Another record already has this {columns}.")
        if sqlstate(error) == FOREIGN_KEY_VIOLATION:
            if getattr(cause, "table_name", None) == self.model.__tablename__:
                return InvalidReferenceError(f"{columns} refers to a record that does not exist.")
            return ConflictError("Other records still refer to this one; remove them first.")
        return None

    def _columns_of(self, name: str | None) -> str:
        table = Base.metadata.tables[self.model.__tablename__]
        for constraint in table.constraints:
            if isinstance(constraint, ColumnCollectionConstraint) and constraint.name == name:
                return ", ".join(column.name for column in constraint.columns)
        return "value"


@cache
def record_columns(model: type[Entity]) -> tuple[ColumnElement[Any], ...]:
    """The model's columns, each named after its attribute: a field called `json` is the
    attribute `json_` of the model and of its `Read` schema, and the column `json`."""
    return tuple(
        column if column.key == attribute.key else column.label(attribute.key)
        for attribute in inspect(model).column_attrs
        for column in attribute.columns[:1]
    )


def contains(column: SQLColumnExpression[Any], text: str) -> ColumnElement[bool]:
    """Case-insensitive substring match that takes LIKE wildcards in `text` literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")
