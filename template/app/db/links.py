"""Many-to-many fields: a record's links to other records, as rows of a table of their own.

A `tag:refs(tag)` field of posts is the table `post__tag (post_id, tag_id)`, keyed on both: its
rows go with their post (ON DELETE CASCADE) and keep their tag while they exist (RESTRICT:
deleting a linked tag is a 409, like a `ref`). The API shows the field as `tag_ids`, the
linked ids in ascending order, and lists filter by one (`?tag_id=3`). A repository reads the
ids in the statement that reads its records (`ids_of`, a correlated subquery per record) and
replaces them when a change gives them (`add` and `remove_others`: only the difference).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Label,
    Table,
    delete,
    exists,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import Entity


@dataclass(frozen=True, slots=True)
class Link:
    """One refs field: `attribute` in the schemas (tag_ids), `table` its rows, whose first
    column holds the record's id, the second the id of the record it links to, named as the
    list parameter that filters by it (tag_id: `filter`)."""

    attribute: str
    table: Table

    @property
    def filter(self) -> str:
        return str(self.table.columns[1].name)

    @property
    def own(self) -> ColumnElement[int]:
        column: ColumnElement[int] = self.table.columns[0]
        return column

    @property
    def other(self) -> ColumnElement[int]:
        column: ColumnElement[int] = self.table.columns[1]
        return column

    def ids_of(self, model: type[Entity]) -> Label[list[int]]:
        """The ids the row of `model` that a statement reads links to, ascending (an empty list
        for none), as a column named after the field."""
        ids = func.array_agg(aggregate_order_by(self.other, self.other))
        none = literal_column("'{}'::bigint[]", ARRAY(BigInteger()))
        either = func.coalesce(ids, none, type_=ARRAY(BigInteger()))
        linked = select(either).where(self.own == model.id).scalar_subquery()
        return linked.label(self.attribute)

    def holding(self, model: type[Entity], other_id: ColumnElement[Any]) -> ColumnElement[bool]:
        """Whether the row of `model` links to `other_id`."""
        return exists().where(self.own == model.id, self.other == other_id)

    async def add(self, session: AsyncSession, own_id: int, ids: Iterable[int]) -> None:
        """Link the record `own_id` to `ids` too, those it links to already aside."""
        own, other = (column.name for column in self.table.columns)
        rows = [{own: own_id, other: id_} for id_ in sorted(set(ids))]
        if rows:
            await session.execute(insert(self.table).on_conflict_do_nothing(), rows)

    async def remove_others(self, session: AsyncSession, own_id: int, ids: Iterable[int]) -> None:
        """Unlink the record `own_id` from all but `ids`."""
        kept = sorted(set(ids))
        gone = delete(self.table).where(self.own == own_id, self.other.not_in(kept))
        await session.execute(gone)
