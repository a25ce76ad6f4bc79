"""The tables of a resource's links (its refs fields: app/db/links.py), which the resource
commands create and drop whole: a link's rows are pairs of ids, with nothing to carry over.

Each is a `Table` its model module defines beside the model (`post_tag` in app/models/post.py).
"""

import importlib

from alembic.autogenerate import render_python_code
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Table

DROP_REASON = "a refs field was dropped: its links go (tools.change_resource)"
ORGANIZATION = "organization_id"  # a scoped record's (app/models/scoped.py, with tenancy)


def link_tables(name: str) -> list[Table]:
    """The tables of the resource's links, from the model module the last `current_metadata()`
    imported (the module as it was on disk then)."""
    module = importlib.import_module(f"app.models.{name}")
    return [value for value in vars(module).values() if isinstance(value, Table)]


def creation(table: Table) -> list[ops.MigrateOperation]:
    """Alembic's operations creating `table` (its primary key's columns first, as a create
    migration has them) and its indexes."""
    create = ops.CreateTableOp.from_table(table)
    create.columns = sorted(
        create.columns, key=lambda item: not (isinstance(item, Column) and item.primary_key)
    )
    indexes = sorted(table.indexes, key=lambda index: str(index.name))
    return [create, *(ops.CreateIndexOp.from_index(index) for index in indexes)]


def policy_code(table: Table) -> list[str]:
    """With tenancy, the migration code that puts `table` under row-level security (app/db/
    tenancy.py): a scoped resource's table, or a link table of scoped records; nothing for
    other tables (and in services without tenancy)."""
    if is_scoped(table):
        return [f'for statement in tenancy.isolate("{table.name}"):\n    op.execute(statement)']
    keys = list(table.c[0].foreign_keys)
    if not keys or not is_scoped(records := keys[0].column.table):
        return []
    arguments = f'"{table.name}", "{records.name}", "{table.c[0].name}"'
    return [f"for statement in tenancy.isolate_through({arguments}):\n    op.execute(statement)"]


def is_scoped(table: Table) -> bool:
    """Whether `table` holds records of organizations: its `organization_id` refers to them."""
    column = table.c.get(ORGANIZATION)
    return column is not None and any(
        key.column.table.name == "organizations" for key in column.foreign_keys
    )


def python_code(operations: list[ops.MigrateOperation]) -> str:
    """The operations as Alembic's autogenerate writes them."""
    context = MigrationContext.configure(dialect_name="postgresql")
    return render_python_code(ops.UpgradeOps(ops=operations), migration_context=context)


def link_changes(old: list[Table], new: list[Table]) -> tuple[list[str], list[str], list[str]]:
    """The upgrade and downgrade code that takes the links' tables from `old` to `new` (tables
    new by name created, those gone dropped), and the names of the tables dropped."""
    old_names = {table.name for table in old}
    new_names = {table.name for table in new}
    added = [table for table in new if table.name not in old_names]
    dropped = [table for table in old if table.name not in new_names]
    creates = [operation for table in added for operation in creation(table)]
    drops: list[ops.MigrateOperation] = [ops.DropTableOp.from_table(table) for table in dropped]
    upgrade = [python_code(creates)] if creates else []
    upgrade += [code for table in added for code in policy_code(table)]
    upgrade += [python_code(drops)] if drops else []
    undo: list[ops.MigrateOperation] = [ops.DropTableOp.from_table(table) for table in added]
    downgrade = [python_code(undo)] if undo else []
    recreates = [operation for table in dropped for operation in creation(table)]
    downgrade += [python_code(recreates)] if recreates else []
    downgrade += [code for table in dropped for code in policy_code(table)]
    return upgrade, downgrade, [table.name for table in dropped]
