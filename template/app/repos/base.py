"""The generic repository: the queries every resource shares, written once.

A repository only talks to the database. Reads return the resource's `Read` schema, validated
straight from the selected columns (cheaper than loading ORM objects); changes work on ORM
objects. It turns the database failures a client can act on (duplicates, dangling references,
stale versions) into `app.core.errors` types. It never commits: its service does
(`app.services.base.Service.commit`).
"""

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, Self, cast

from pydantic import BaseModel
from sqlalchemy import (
    ARRAY,
    BindParameter,
    ColumnElement,
    Insert,
    Select,
    Table,
    any_,
    bindparam,
    func,
    insert,
    inspect,
    or_,
    select,
    tuple_,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.schema import ColumnCollectionConstraint

from app.core.cursor import encode_cursor
from app.core.errors import ConflictError, InvalidReferenceError, VersionMismatchError
from app.db.base import Base, Entity
from app.db.direct import fetch_rows
from app.db.errors import FOREIGN_KEY_VIOLATION, UNIQUE_VIOLATION, driver_error, sqlstate
from app.db.links import Link
from app.db.owners import ORGANIZATION, count_owned, needs_counting, owned_targets
from app.schemas.base import Record
from app.schemas.pagination import Listing, ListParams

# The prefix of the values of a nested list's own condition (`read_page`'s `within`).
WITHIN = "within_"


class Repository[ModelT: Entity, ReadT: Record, ParamsT: ListParams]:
    """Queries for one model; `read_model` is the schema reads return."""

    model: type[ModelT]
    read_model: type[ReadT]
    # The columns a list's `q` searches (case-insensitive substring), and those whose list
    # parameter filters by equality, by attribute (the same on the model and on the list
    # parameters); `_filter_conditions` turns them into clauses, `conditions` adds others.
    searched_columns: tuple[str, ...] = ()
    filtered_columns: tuple[str, ...] = ()
    # Of `filtered_columns`, those whose parameter takes several values (a list; an enum's): a row
    # matches any of them. One array parameter, so the statement's SQL is the same for any count.
    any_of_columns: tuple[str, ...] = ()
    # The resource's many-to-many fields (app/db/links.py): read with each record, filtered
    # by their list parameter, replaced whole by a change that gives them.
    links: tuple[Link, ...] = ()

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> Self:
        return cls(session)

    def visible_values(self) -> dict[str, Any]:
        """The column values that narrow the rows this repository may touch at all (every read,
        list, count and change), by attribute: none here, so all rows; a repository of owned
        records gives its owner's id."""
        return {}

    def visible(self) -> list[ColumnElement[bool]]:
        """`visible_values()` as conditions. Override this only for rows no equality can
        select: the reads then run through SQLAlchemy's slower path (app/db/direct.py)."""
        return [getattr(self.model, name) == value for name, value in self.visible_values().items()]

    async def read(self, id_: int) -> ReadT | None:
        """The record, to show."""
        values = {"id": id_} | self._visible_parameters()

        def build() -> Select[Any]:
            query = select(*self._record_columns())
            return query.where(self.model.id == bindparam("id"), *self._visible_conditions())

        records = await self._read_records(self._shape_key("read", values), build, values)
        return records[0] if records else None

    async def read_page(
        self, params: ParamsT, within: dict[str, int] | None = None
    ) -> Listing[ReadT]:
        """One page of records, in cursor mode or (with a total) in offset mode; `within` keeps
        the records whose references (by attribute) hold those ids: a nested list's."""
        filters = self._visible_parameters() | self._filter_parameters(params)
        filters |= {f"{WITHIN}{name}": value for name, value in (within or {}).items()}
        values = filters | self._page_parameters(params)
        key = self._shape_key("page", values, params.sort_attribute, params.descending)
        records = await self._read_records(key, lambda: self._page_query(params, values), values)
        has_more = len(records) > params.limit
        items = records[: params.limit]
        total = await self._count(params, filters) if params.offset is not None else None
        next_cursor = self._cursor_after(items[-1], params) if has_more else None
        return Listing(
            items, total=total, limit=params.limit, offset=params.offset, next_cursor=next_cursor
        )

    async def load_entity(self, id_: int) -> ModelT | None:
        """The ORM object, to change or delete."""
        if not (visible := self.visible()):
            return await self.session.get(self.model, id_)
        return await self.session.scalar(select(self.model).where(self.model.id == id_, *visible))

    def record_of(self, entity: ModelT) -> ReadT:
        """The record of an ORM object just added or changed, flushed, of a model without links
        (their ids are rows of other tables: `saved_record`)."""
        return self.read_model.model_validate(entity)

    async def saved_record(self, entity: ModelT) -> ReadT:
        """The record of an ORM object just added or changed, as its service's commit will
        make it durable: flushed first (the database sets its version and timestamps); read
        again when the model has links."""
        await self.flush()
        if self.links:
            record = await self.read(entity.id)
            if record is not None:
                return record
        return self.record_of(entity)

    async def refuse_unseen_references(self, data: BaseModel, owner_id: int | None) -> None:
        """Refuse the references and links in `data` (a create or an update) to owned records
        of an owner other than `owner_id` (None: anyone's), or to scoped records of another
        organization, as if they did not exist (app/db/owners.py); the database checks that
        they exist."""
        targets = {
            attribute: table
            for attribute, table in owned_targets(self.model, self.links).items()
            if needs_counting(table, owner_id)
        }
        if not targets:
            return
        given = data.model_dump(include=set(targets))
        for attribute, table in targets.items():
            value = given.get(attribute)
            ids = {value} if isinstance(value, int) else set(value or ())
            if ids and await self._count_pointed(table, ids, owner_id) < len(ids):
                raise InvalidReferenceError(f"{attribute} refers to a record that does not exist.")

    async def _count_pointed(self, table: Table, ids: set[int], owner_id: int | None) -> int:
        organization_id = self.visible_values().get(ORGANIZATION)  # a scoped repository's
        return await count_owned(self.session, table, ids, owner_id, organization_id)

    def column_values(self, data: BaseModel) -> dict[str, Any]:
        """The values of `data` (a create or an update) that are columns of the model: all but
        its links' ids."""
        return data.model_dump(exclude={link.attribute for link in self.links})

    async def save_links(self, entity: ModelT, data: BaseModel, *, new: bool = False) -> None:
        """Replace the links of `entity` (flushed: it has its id) by those `data` gives; a link
        left out of an update keeps its ids. Changing the links of a record is a change of the
        record: its version moves on, which locks its row first (a concurrent change of the
        same record waits, then fails its version check) and changes its ETag."""
        given = data.model_dump(include={link.attribute for link in self.links})
        if not given:
            return
        if not new:
            entity.updated_at = func.now()  # an UPDATE, which moves the version on
            await self.flush()
        changed = [(link, given[link.attribute]) for link in self.links if link.attribute in given]
        with self.client_errors():
            # Only the difference, every addition before any removal: a link kept is never
            # deleted and written again, and none goes before another is added (a record moving
            # from one refs field to another). Either would lock a link row against a concurrent
            # delete of the linked record while waiting on that record: a deadlock (503) where
            # the delete should get its 409 at once.
            for link, ids in changed:
                await link.add(self.session, entity.id, ids)
            for link, ids in changed:
                if not new:
                    await link.remove_others(self.session, entity.id, ids)

    async def add(self, entity: ModelT) -> ModelT:
        """Add `entity` to the session's transaction (flushed: it has its id)."""
        self.session.add(entity)
        await self.flush()
        return entity

    async def insert_alone(self, entity: ModelT) -> ReadT:
        """Add `entity`; its record. One INSERT ... RETURNING when the session holds no other
        change: sent outside a transaction (the session's first statement), the database commits
        it on its own, so only `ResourceService.commit_new` calls this, for a unit of work that
        is this one insert. Through the ORM (`add`) when the session holds other changes or the
        model needs the ORM to insert it (column defaults computed in Python, insert events)."""
        values = insert_values(entity)
        if values is None or self.session.new or self.session.dirty or self.session.deleted:
            return self.record_of(await self.add(entity))

        def build() -> Insert:
            columns = self.model.__table__.columns
            bound: dict[ColumnElement[Any], BindParameter[Any]]
            bound = {columns[name]: bindparam(name) for name in values}
            return insert(self.model).values(bound).returning(*record_columns(self.model))

        with self.client_errors():
            rows = await fetch_rows(self.session, (self.model, "insert", *values), build, values)
        return self.read_model.model_validate(rows[0])

    async def delete(self, entity: ModelT) -> None:
        await self.session.delete(entity)
        await self.flush()

    async def flush(self) -> None:
        with self.client_errors():
            await self.session.flush()

    def conditions(self, params: ParamsT) -> list[ColumnElement[bool]]:
        """WHERE clauses for list filters beyond `searched_columns` and `filtered_columns`:
        none here. Lists with such conditions run through SQLAlchemy's slower path."""
        return []

    def _visible_parameters(self) -> dict[str, Any]:
        return {f"visible_{name}": value for name, value in self.visible_values().items()}

    def _visible_conditions(self) -> list[ColumnElement[bool]]:
        """`visible()`, with its values bound by name (`_visible_parameters`) unless overridden."""
        if type(self).visible is not Repository.visible:
            return self.visible()
        return [
            getattr(self.model, name) == bindparam(f"visible_{name}")
            for name in self.visible_values()
        ]

    def _filter_parameters(self, params: ParamsT) -> dict[str, Any]:
        """The values of the list's search and equality filters in force, by parameter name."""
        values: dict[str, Any] = {}
        text = getattr(params, "q", None)
        if text is not None and self.searched_columns:
            values["search"] = substring_pattern(text)
        for name in self.filtered_columns:
            if (value := getattr(params, name)) is not None:
                values[f"filter_{name}"] = value
        for link in self.links:
            if (value := getattr(params, link.filter)) is not None:
                values[f"link_{link.filter}"] = value
        return values

    def _filter_conditions(
        self, params: ParamsT, values: dict[str, Any]
    ) -> list[ColumnElement[bool]]:
        conditions = [*self._visible_conditions(), *self.conditions(params)]
        if "search" in values:
            columns = [getattr(self.model, name) for name in self.searched_columns]
            search: BindParameter[str] = bindparam("search")
            conditions.append(or_(*(column.ilike(search, escape="\\") for column in columns)))
        for name in self.filtered_columns:
            if f"filter_{name}" not in values:
                continue
            column = getattr(self.model, name)
            if name in self.any_of_columns:
                bound = bindparam(f"filter_{name}", type_=ARRAY(column.type))
                conditions.append(column == any_(bound))
            else:
                conditions.append(column == bindparam(f"filter_{name}"))
        for link in self.links:
            if f"link_{link.filter}" in values:
                conditions.append(link.holding(self.model, bindparam(f"link_{link.filter}")))
        for name in values:
            if name.startswith(WITHIN):
                column = getattr(self.model, name.removeprefix(WITHIN))
                conditions.append(column == bindparam(name))
        return conditions

    def _page_parameters(self, params: ParamsT) -> dict[str, Any]:
        """The values of a page's position: its cursor, offset and size (one row more than
        asked tells whether another page follows)."""
        values = {f"after_{index}": value for index, value in enumerate(params.after or ())}
        if params.offset is not None:
            values["offset"] = params.offset
        return values | {"limit": params.limit + 1}

    def _page_query(self, params: ParamsT, values: dict[str, Any]) -> Select[Any]:
        keys = [getattr(self.model, params.sort_attribute)]
        if params.sort_field != "id":
            keys.append(self.model.id)  # a unique tie-breaker makes the order total
        query = select(*self._record_columns()).where(*self._filter_conditions(params, values))
        if params.after is not None:
            after = [bindparam(f"after_{index}", type_=key.type) for index, key in enumerate(keys)]
            keyset, bound = tuple_(*keys), tuple_(*after)
            query = query.where(keyset < bound if params.descending else keyset > bound)
        order = [key.desc() if params.descending else key.asc() for key in keys]
        if "offset" in values:
            query = query.offset(bindparam("offset"))
        return query.order_by(*order).limit(bindparam("limit"))

    async def _count(self, params: ParamsT, values: dict[str, Any]) -> int:
        def build() -> Select[Any]:
            conditions = self._filter_conditions(params, values)
            return select(func.count()).select_from(self.model).where(*conditions)

        rows = await fetch_rows(self.session, self._shape_key("count", values), build, values)
        total: int = next(iter(rows[0].values()))
        return total

    def _record_columns(self) -> tuple[ColumnElement[Any], ...]:
        """What reads select: the model's columns, and its links' ids."""
        return record_columns(self.model) + tuple(link.ids_of(self.model) for link in self.links)

    def _shape_key(self, kind: str, values: dict[str, Any], *shape: Hashable) -> Hashable | None:
        """What a statement's SQL depends on besides this class: its kind, the names of its
        values and `shape`; None when overridden `visible()` or `conditions()` make it depend
        on values (SQLAlchemy then compiles it each time)."""
        if type(self).visible is not Repository.visible or type(self).conditions is not (
            Repository.conditions
        ):
            return None
        return (cast(Hashable, type(self)), kind, *shape, *values)

    async def _read_records(
        self, key: Hashable | None, build: Callable[[], Select[Any]], values: dict[str, Any]
    ) -> list[ReadT]:
        # Reads of columns need none of the ORM's machinery (app/db/direct.py), and a dict of
        # columns validates faster than attributes (measured: docs/template/performance.md).
        rows = await fetch_rows(self.session, key, build, values)
        validate = self.read_model.model_validate
        return [validate(row) for row in rows]

    @staticmethod
    def _cursor_after(item: ReadT, params: ParamsT) -> str:
        """The cursor of the page that starts after `item`."""
        values = [getattr(item, params.sort_attribute)]
        if params.sort_field != "id":
            values.append(item.id)  # the tie-breaker of the sort order
        return encode_cursor(params.sort, values)

    @contextmanager
    def client_errors(self) -> Iterator[None]:
        """Re-raise the database errors a client can act on as domain errors (around a flush,
        and around the commit of the service that owns the session: `Service.commit`)."""
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
            if getattr(cause, "table_name", None) in self._table_names():
                return InvalidReferenceError(f"{columns} refers to a record that does not exist.")
            return ConflictError("Other records still refer to this one; remove them first.")
        return None

    def _table_names(self) -> list[str]:
        """The tables this repository writes: its model's and its links'."""
        return [self.model.__tablename__, *(link.table.name for link in self.links)]

    def _columns_of(self, name: str | None) -> str:
        """What the constraint `name` is about, in the API's words: its columns, or the field of
        the link whose table it is on."""
        fields = {link.table.name: link.attribute for link in self.links}
        for table_name in self._table_names():
            for constraint in Base.metadata.tables[table_name].constraints:
                if isinstance(constraint, ColumnCollectionConstraint) and constraint.name == name:
                    columns = ", ".join(column.name for column in constraint.columns)
                    return fields.get(table_name, columns)
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


def substring_pattern(text: str) -> str:
    """An ILIKE pattern matching `text` anywhere, its LIKE wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@cache
def insert_plan(mapper: Mapper[Any]) -> dict[str, str] | None:
    """Column name by attribute for an INSERT the ORM need not run, or None when it must: a
    column default computed in Python, or insert events."""
    table_columns = mapper.local_table.columns
    if any(column.default is not None for column in table_columns):
        return None
    if mapper.dispatch.before_insert or mapper.dispatch.after_insert:
        return None
    return {attribute.key: attribute.columns[0].key for attribute in mapper.column_attrs}


def insert_values(entity: Entity) -> dict[str, Any] | None:
    """The values of a new ORM object's columns by column key, with the version the ORM would
    give it; None when the ORM must insert it (`insert_plan`)."""
    state = inspect(entity)
    plan = insert_plan(state.mapper)
    if plan is None:
        return None
    values = {plan[name]: value for name, value in state.dict.items() if name in plan}
    version, generate = state.mapper.version_id_col, state.mapper.version_id_generator
    if version is not None and callable(generate):
        values[str(version.key)] = generate(None)
    return values
