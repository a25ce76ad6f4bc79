"""Remove a resource added with tools.add_resource, e.g.

    uv run python -m tools.remove_resource invoice

It deletes the resource's files (model, schemas, repository, service, routes, factory, tests,
contract and its .copier-answers.resource-<name>.yml), removes it from .copier-resources.yml,
and writes an Alembic migration, after the current head, that drops its table and its links'
tables (refs fields); the migration's downgrade recreates them (empty). Its create migration
stays: migrations are history. Routers, models and factories are found by scanning their
packages, so nothing else changes.

It refuses while another resource refers or links to it (`ref(<name>)`, `refs(<name>)`), for
the service's own resource, and in a tree with uncommitted changes or several Alembic heads.
"""

import argparse
import sys
from pathlib import Path
from typing import Any

from alembic.operations import ops
from sqlalchemy import Enum, MetaData, Table

from tools.cli import one_line_errors
from tools.link_tables import creation, link_tables, policy_code, python_code
from tools.migration_file import function_body, write_migration
from tools.models import current_metadata
from tools.resource_project import (
    PROJECT_DIR,
    REGISTRY,
    SERVICE_ANSWERS,
    RefusedError,
    answers_file,
    migration_scripts,
    plural_of,
    read_yaml,
    referrers,
    refuse_unknown,
    refuse_unless_clean,
    the_head,
    write_registry,
)

# The migration lint (tests/migrations/test_migration_lint.py) accepts these findings in the
# migration this writes: dropping the table is what it is for, reviewed by whoever removes it.
ACCEPTED_FINDINGS = {"ban-drop-table": "the resource was removed (tools.remove_resource)"}


def resource_files(name: str, plural: str) -> list[str]:
    """The files tools.add_resource rendered for the resource (copier.yml's `resource_files`),
    but its create migration and the registry."""
    return [
        f"app/models/{name}.py",
        f"app/schemas/{name}.py",
        f"app/repos/{name}.py",
        f"app/services/{name}.py",
        f"app/api/v1/routes/{plural}.py",
        f"tests/factories/{name}.py",
        f"tests/api/test_{plural}.py",
        f"tests/api/contracts/{plural}.json",
        f"tests/services/test_{name}_service.py",
        answers_file(name),
    ]


def refuse_unless_removable(name: str, registry: dict[str, Any]) -> None:
    refuse_unknown(name, registry)
    if read_yaml(SERVICE_ANSWERS).get("resource") == name:
        raise RefusedError(
            f"{name!r} is the service's own resource: its answers are the service's "
            f"({SERVICE_ANSWERS}), and the auth, jobs and tests code use it; keep it, or "
            "remove it by hand (docs/template/resources.md)."
        )
    if not (PROJECT_DIR / answers_file(name)).exists():
        raise RefusedError(
            f"{answers_file(name)} is missing: {name!r} was not added by add_resource."
        )
    if found := referrers(name):
        raise RefusedError(
            f"{name!r} is referred to by {', '.join(found)} (a ref or refs field); remove or "
            "change those first."
        )


def model_tables(name: str, plural: str) -> tuple[list[Table], MetaData]:
    """The resource's table, then its links' tables (those its model module defines beside it:
    app/db/links.py), and the metadata of every model."""
    metadata = current_metadata()
    table = metadata.tables.get(plural)
    if table is None:
        raise RefusedError(f"No model has the table '{plural}' (app/models/): nothing to drop.")
    tables = [table, *link_tables(name)]
    for other in metadata.tables.values():
        if other not in tables and any(fk.column.table is table for fk in other.foreign_keys):
            raise RefusedError(
                f"The table '{other.name}' has a foreign key to '{plural}'; drop it first."
            )
    return tables, metadata


def own_enum_types(table: Table, metadata: MetaData) -> list[str]:
    """PostgreSQL enum types of the table's columns that no other table uses: dropping the
    table leaves them behind."""

    def names(of: Table) -> set[str]:
        return {
            str(column.type.name)
            for column in of.columns
            if isinstance(column.type, Enum) and column.type.native_enum and column.type.name
        }

    others = set().union(*(names(t) for t in metadata.tables.values() if t is not table))
    return sorted(names(table) - others)


def migration_code(tables: list[Table], metadata: MetaData) -> tuple[str, str]:
    """The upgrade that drops the tables (the resource's last: the others refer to it) and the
    downgrade that recreates them, as Alembic's autogenerate writes them.

    The downgrade is rendered from the model rather than by calling the create migration: the
    model is the table as it is now, after any later migration changed it (the project's
    migration tests hold the models and the migrations to the same schema), and the code is
    written into this migration, which then does not depend on another migration module staying
    importable and unchanged. It recreates the columns (the primary key first, as the create
    migration has it), defaults, CHECK, UNIQUE and foreign key constraints, indexes and enum
    types; not the rows.
    """
    creates = [operation for table in tables for operation in creation(table)]
    drops: list[ops.MigrateOperation] = [ops.DropTableOp.from_table(t) for t in reversed(tables)]
    types = own_enum_types(tables[0], metadata)
    drops += [ops.ExecuteSQLOp(f'DROP TYPE "{type_name}"') for type_name in types]
    upgrade, downgrade = python_code(drops), python_code(creates)
    comment = "# Recreates the tables as they were, empty (their rows went with the upgrade)."
    policies = [code for table in tables for code in policy_code(table)]
    return function_body([upgrade]), function_body([comment, downgrade, *policies])


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.remove_resource",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", help="the resource, as tools.add_resource named it")
    args = parser.parse_args(argv)
    name: str = args.name

    try:
        registry = read_yaml(REGISTRY)
        refuse_unless_removable(name, registry)
        refuse_unless_clean("removing")
        scripts = migration_scripts()
        head = the_head(scripts)
        plural = plural_of(name, registry)
        tables, metadata = model_tables(name, plural)
    except RefusedError as refused:
        print(f"Nothing was removed: {refused}", file=sys.stderr)
        return 2

    names = [table.name for table in tables]
    dropped = f"the {plural} table"
    if len(names) > 1:
        dropped = f"the {', '.join(names[:-1])} and {names[-1]} tables"
    message = f"Remove {name}: drop {dropped}."
    code = migration_code(tables, metadata)
    migration = write_migration(scripts, head, message, code, ACCEPTED_FINDINGS)
    removed = []
    for file in resource_files(name, plural):
        if (PROJECT_DIR / file).exists():
            (PROJECT_DIR / file).unlink()
            removed.append(file)
    registry["resources"] = {k: v for k, v in registry["resources"].items() if k != name}
    write_registry(registry, migration.revision)
    print(f"Removed the resource {name!r} (/api/v1/{plural.replace('_', '-')}):")
    print(*(f"  deleted  {file}" for file in removed), sep="\n")
    print(f"  updated  {REGISTRY}")
    print(f"  wrote    {Path(migration.path).relative_to(PROJECT_DIR)} (drops {dropped})")
    print("Next: review with `git status` and `git diff`, look for what still names it")
    print(f"(`git grep -n {name}`), then `uv run python -m tools.db migrate` and `uv run pytest`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
