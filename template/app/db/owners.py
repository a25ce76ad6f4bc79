"""Whose records a record may point at. With auth, a reference (`ref`) or a link (`refs`) to an
owned record (a table with auth's `owner_id`) must point at a record of one owner: the pointing
record's own owner, or its caller's records for a record without one. Another owner's record
answers as a missing one, so that nobody learns another's ids or keeps another from deleting a
record by pointing at it (docs/template/resources.md, "Links (many-to-many)")."""

from collections.abc import Collection
from functools import cache

from sqlalchemy import Table, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import Entity
from app.db.links import Link

OWNER = "owner_id"  # the column of an owned record's owner (auth's app/models/owned.py)


@cache
def owned_targets(model: type[Entity], links: tuple[Link, ...]) -> dict[str, Table]:
    """The tables of owned records that the model's references (by attribute) and links (by
    field) point at."""
    targets: dict[str, Table] = {}
    for attribute in inspect(model).column_attrs:
        column = attribute.columns[0]
        for key in column.foreign_keys:
            if column.key != OWNER and OWNER in key.column.table.c:
                targets[attribute.key] = key.column.table
    for link in links:
        for key in link.table.c[1].foreign_keys:
            if OWNER in key.column.table.c:
                targets[link.attribute] = key.column.table
    return targets


async def count_owned(
    session: AsyncSession, table: Table, ids: Collection[int], owner_id: int
) -> int:
    """How many of the records `ids` of `table` belong to `owner_id`."""
    query = select(func.count()).select_from(table)
    query = query.where(table.c.id.in_(ids), table.c[OWNER] == owner_id)
    return int(await session.scalar(query) or 0)
