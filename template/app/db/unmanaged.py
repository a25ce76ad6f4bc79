"""Tables the migrations create but no model describes: autogenerate and `alembic check` leave
them alone instead of proposing to drop them."""

from alembic.runtime.environment import NameFilterParentNames, NameFilterType

# procrastinate's job queue (app/jobs/), installed and upgraded by its own migrations. Listed
# whether or not jobs are on: a service that turned jobs off keeps the tables and their
# migration (docs/template/jobs.md), and must not be told to drop them.
UNMANAGED_TABLE_PREFIXES = ("procrastinate_",)


def is_managed(table: str) -> bool:
    return not table.startswith(UNMANAGED_TABLE_PREFIXES)


def include_name(name: str | None, type_: NameFilterType, parents: NameFilterParentNames) -> bool:
    """Alembic's `include_name` hook."""
    return type_ != "table" or name is None or is_managed(name)
