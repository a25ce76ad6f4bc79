"""Remove a resource added with tools.add_resource, e.g.

    uv run python -m tools.remove_resource invoice

It deletes the resource's files (model, schemas, repository, service, routes, factory, tests,
contract and its .copier-answers.resource-<name>.yml), removes it from .copier-resources.yml,
and writes an Alembic migration, after the current head, that drops its table; the migration's
downgrade recreates the table (empty). Its create migration stays: migrations are history.
Routers, models and factories are found by scanning their packages, so nothing else changes.

It refuses while another resource refers to it (`ref(<name>)`), for the service's own
resource, and in a tree with uncommitted changes or several Alembic heads.
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml
from alembic import util
from alembic.autogenerate import render_python_code
from alembic.config import Config
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import Column, Enum, MetaData, Table

from tools.cli import one_line_errors

PROJECT_DIR = Path(__file__).resolve().parent.parent
REGISTRY = ".copier-resources.yml"
SERVICE_ANSWERS = ".copier-answers.yml"
GIT = shutil.which("git") or "git"
# A field that refers to a resource: `customer:ref(customer)`, `tags:refs(tag)`, optional or not.
REFERENCE = re.compile(r"(?:^|\s)\w+:refs?\((\w+)\)")
# The migration lint (tests/migrations/test_migration_lint.py) accepts these findings in the
# migration this writes: dropping the table is what it is for, reviewed by whoever removes it.
ACCEPTED_FINDINGS = {"ban-drop-table": "the resource was removed (tools.remove_resource)"}


class RefusedError(Exception):
    """Why nothing was removed: one line."""


def answers_file(name: str) -> str:
    return f".copier-answers.resource-{name}.yml"


def read_yaml(name: str) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load((PROJECT_DIR / name).read_text())
    except (OSError, yaml.YAMLError) as error:
        reason = str(error).splitlines()[0]
        raise RefusedError(f"{name} cannot be read ({reason}); restore it from git.") from None
    return loaded if isinstance(loaded, dict) else {}


def plural_of(name: str, registry: dict[str, Any]) -> str:
    entry = (registry.get("resources") or {}).get(name)
    plural = entry.get("plural") if isinstance(entry, dict) else None
    if not isinstance(plural, str):
        raise RefusedError(f"{REGISTRY} gives no plural for {name!r}; restore it from git.")
    return plural


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


def referrers(name: str) -> list[str]:
    """The resources whose field spec refers to `name`: the added ones' answers and the
    service's own resource."""
    found = []
    for path in [PROJECT_DIR / SERVICE_ANSWERS, *PROJECT_DIR.glob(answers_file("*"))]:
        answers = read_yaml(path.name)
        fields = str(answers.get("resource_fields", ""))
        if answers.get("resource") != name and name in REFERENCE.findall(fields):
            found.append(str(answers.get("resource", path.name)))
    return sorted(found)


def refuse_unless_removable(name: str, registry: dict[str, Any]) -> None:
    resources = registry.get("resources") or {}
    if name not in resources:
        known = ", ".join(sorted(resources)) or "none"
        raise RefusedError(
            f"{name!r} is not a resource of this service ({REGISTRY} lists: {known})."
        )
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
            f"{name!r} is referred to by {', '.join(found)} (ref({name})); remove or change "
            "those first."
        )


def refuse_unless_clean() -> None:
    status = subprocess.run(
        [GIT, "status", "--porcelain"], cwd=PROJECT_DIR, capture_output=True, text=True
    )
    if status.returncode != 0:
        raise RefusedError(
            "Not a git repository: commit the project first (removing is undone by git)."
        )
    if status.stdout:
        raise RefusedError("Commit your changes first: removing starts from a clean tree.")


def the_head(scripts: ScriptDirectory) -> str:
    heads = scripts.get_heads()
    if len(heads) != 1:
        raise RefusedError(f"Alembic has {len(heads)} heads; merge them first (alembic merge).")
    return heads[0]


def model_table(plural: str) -> tuple[Table, MetaData]:
    import app.models  # noqa: F401  (registers every table; imported only when removing)
    from app.db.base import Base

    table = Base.metadata.tables.get(plural)
    if table is None:
        raise RefusedError(f"No model has the table '{plural}' (app/models/): nothing to drop.")
    for other in Base.metadata.tables.values():
        if other is not table and any(fk.column.table is table for fk in other.foreign_keys):
            raise RefusedError(
                f"The table '{other.name}' has a foreign key to '{plural}'; drop it first."
            )
    return table, Base.metadata


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


def migration_code(table: Table, metadata: MetaData) -> tuple[str, str]:
    """The upgrade that drops the table and the downgrade that recreates it, as Alembic's
    autogenerate writes them.

    The downgrade is rendered from the model rather than by calling the create migration: the
    model is the table as it is now, after any later migration changed it (the project's
    migration tests hold the models and the migrations to the same schema), and the code is
    written into this migration, which then does not depend on another migration module staying
    importable and unchanged. It recreates the columns (the primary key first, as the create
    migration has it), defaults, CHECK, UNIQUE and foreign key constraints, indexes and enum
    types; not the rows.
    """
    context = MigrationContext.configure(dialect_name="postgresql")
    create = ops.CreateTableOp.from_table(table)
    create.columns = sorted(
        create.columns, key=lambda item: not (isinstance(item, Column) and item.primary_key)
    )
    indexes = sorted(table.indexes, key=lambda index: str(index.name))
    creates: list[ops.MigrateOperation] = [create]
    creates += [ops.CreateIndexOp.from_index(index) for index in indexes]
    drops: list[ops.MigrateOperation] = [ops.DropTableOp.from_table(table)]
    drops += [ops.ExecuteSQLOp(f'DROP TYPE "{name}"') for name in own_enum_types(table, metadata)]
    upgrade = render_python_code(ops.UpgradeOps(ops=drops), migration_context=context)
    downgrade = render_python_code(ops.DowngradeOps(ops=creates), migration_context=context)
    comment = "# Recreates the table as it was, empty (its rows went with the upgrade)."
    return function_body([upgrade]), function_body([comment, downgrade])


def function_body(pieces: list[str]) -> str:
    """`pieces` of code as the script template's `${upgrades}` takes them: every line indented
    as in a function but the first (the template indents it), without Alembic's "auto generated
    - please adjust" comment lines."""
    lines = []
    for piece in pieces:
        kept = [line for line in piece.splitlines() if not line.strip().startswith("# ###")]
        lines += textwrap.dedent("\n".join(kept)).strip().splitlines()
    return textwrap.indent("\n".join(lines), "    ").lstrip()


def accepted_findings_block() -> str:
    lines = [
        f"    {json.dumps(rule)}: {json.dumps(why)}," for rule, why in ACCEPTED_FINDINGS.items()
    ]
    return (
        "# Findings of the migration lint (tests/migrations/test_migration_lint.py) reviewed and\n"
        "# accepted for this migration.\n"
        "ACCEPTED_FINDINGS: dict[str, str] = {\n" + "\n".join(lines) + "\n}\n"
    )


def tidy(path: Path) -> None:
    """Format the migration, as `alembic revision`'s post-write hooks would (alembic.ini), but
    quietly and after the findings block is in."""
    for check in (["format"], ["check", "--fix"]):
        command = [sys.executable, "-m", "ruff", *check, "--quiet", str(path)]
        subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, check=False)


def write_migration(
    scripts: ScriptDirectory, head: str, name: str, table: Table, metadata: MetaData
) -> Script:
    upgrade, downgrade = migration_code(table, metadata)
    imports = "from sqlalchemy.dialects import postgresql" if "postgresql." in downgrade else ""
    scripts.hooks = []  # run by tidy() below, once the file is complete
    script = scripts.generate_revision(
        util.rev_id(),
        f"Remove {name}: drop the {table.name} table.",
        head=head,
        upgrades=upgrade,
        downgrades=downgrade,
        imports=imports,
    )
    if script is None:  # Alembic returns None only for a file it cannot read back
        raise RefusedError(f"Alembic wrote no readable migration for {table.name}.")
    path = Path(script.path)
    # After the revision identifiers, where the project's script template puts nothing of ours.
    text = path.read_text()
    at = text.index("\n\ndef upgrade(")
    path.write_text(text[:at] + "\n\n" + accepted_findings_block() + text[at:])
    tidy(path)
    return script


def write_registry(registry: dict[str, Any], name: str, head: str) -> None:
    """The registry without the resource, its header comment kept; `migration_head` moves on
    to the drop, so that what is added next follows it."""
    path = PROJECT_DIR / REGISTRY
    lines = path.read_text().splitlines(keepends=True)
    header = "".join(line for line in lines if line.startswith("#"))
    registry["resources"] = {k: v for k, v in registry["resources"].items() if k != name}
    registry["migration_head"] = head
    # As Copier's to_nice_yaml writes it.
    dumped = yaml.dump(registry, indent=4, allow_unicode=True, default_flow_style=False)
    path.write_text(header + dumped)


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
        refuse_unless_clean()
        scripts = ScriptDirectory.from_config(Config(PROJECT_DIR / "alembic.ini"))
        head = the_head(scripts)
        plural = plural_of(name, registry)
        table, metadata = model_table(plural)
    except RefusedError as refused:
        print(f"Nothing was removed: {refused}", file=sys.stderr)
        return 2

    migration = write_migration(scripts, head, name, table, metadata)
    removed = []
    for file in resource_files(name, plural):
        if (PROJECT_DIR / file).exists():
            (PROJECT_DIR / file).unlink()
            removed.append(file)
    write_registry(registry, name, migration.revision)
    print(f"Removed the resource {name!r} (/api/v1/{plural.replace('_', '-')}):")
    print(*(f"  deleted  {file}" for file in removed), sep="\n")
    print(f"  updated  {REGISTRY}")
    print(f"  wrote    {Path(migration.path).relative_to(PROJECT_DIR)} (drops the table {plural})")
    print("Next: review with `git status` and `git diff`, look for what still names it")
    print(f"(`git grep -n {name}`), then `uv run python -m tools.db migrate` and `uv run pytest`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
