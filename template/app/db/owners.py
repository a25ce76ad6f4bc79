"""Whose records a record may point at. With auth, a reference (`ref`) or a link (`refs`) to an
owned record (a table with auth's `owner_id`) must point at a record of one owner: the pointing
record's own owner, or its caller's records for a record without one. Another owner's record
answers as a missing one, so that nobody learns another's ids or keeps another from deleting a
record by pointing at it (docs/template/resources.md, "Links (many-to-many)").

With tenancy, a scoped record (a table with `organization_id`) may be pointed at only from
within its organization: a foreign key's check does not see row-level security, so the records
pointed at are counted as the transaction sees them (its organization's)."""

from collections.abc import Collection
from functools import cache

from sqlalchemy import Table, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import Entity
from app.db.links import Link

OWNER = "owner_id"  # the column of an owned record's owner (auth's app/models/owned.py)
ORGANIZATION = "organization_id"  # a scoped record's organization (app/models/scoped.py)
SCOPES = (OWNER, ORGANIZATION)


@cache
def owned_targets(model: type[Entity], links: tuple[Link, ...]) -> dict[str, Table]:
    """The tables of owned or scoped records that the model's references (by attribute) and
    links (by field) point at."""
    targets: dict[str, Table] = {}
    for attribute in inspect(model).column_attrs:
        column = attribute.columns[0]
        for key in column.foreign_keys:
            if column.key not in SCOPES and is_scoped(key.column.table):
                targets[attribute.key] = key.column.table
    for link in links:
        for key in link.table.c[1].foreign_keys:
            if is_scoped(key.column.table):
                targets[link.attribute] = key.column.table
    return targets


def is_scoped(table: Table) -> bool:
    """Whether `table`'s records belong to someone: an owner, or an organization."""
    return any(column in table.c for column in SCOPES)


async def count_owned(
    session: AsyncSession,
    table: Table,
    ids: Collection[int],
    owner_id: int | None,
    organization_id: int | None = None,
) -> int:
    """How many of the records `ids` of `table` the pointing record may point at: those of
    `owner_id` (None: anyone's) in a table of owned records; in a scoped one, those of
    `organization_id` that the transaction sees (row-level security: its organization's; the
    condition holds where the policies do not apply, a role that bypasses them)."""
    query = select(func.count()).select_from(table).where(table.c.id.in_(ids))
    if OWNER in table.c and owner_id is not None:
        query = query.where(table.c[OWNER] == owner_id)
    if ORGANIZATION in table.c and organization_id is not None:
        query = query.where(table.c[ORGANIZATION] == organization_id)
    return int(await session.scalar(query) or 0)


def needs_counting(table: Table, owner_id: int | None) -> bool:
    """Whether pointers at `table`'s records need counting: always for scoped ones (row-level
    security decides), for owned ones unless anyone's may be pointed at (`owner_id` None)."""
    return ORGANIZATION in table.c or owner_id is not None
