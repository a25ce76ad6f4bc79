"""Change a resource's fields, e.g.

    uv run python -m tools.change_resource customer --add "phone:str(30)? points:int>=0=0" \\
        --rename name=full_name --alter "tier:int>=0<=9=0" --drop since

It changes the resource's answers (its field spec; with --owned, its records come to belong to
their creators) and renders its files again at the project's template version, merging the
difference into them so that your own edits are kept (tools/three_way.py; where an edit and
the change meet, the file gets conflict markers and the command lists it). Its create
migration stays as it is (migrations are history); new migrations, after the current head,
change the table while it keeps serving (app/db/migration_ops.py), keeping every row:

- a new required field without a default needs a value for the rows already there
  (--fill FIELD=VALUE); one with a default gets it; --owned gives them to the legacy owner;
- a rename renames the column (and its constraints): code still running the old name fails
  once the migration ran, so deploy both together;
- a field made required needs a --fill for rows without a value, unless none lack it;
- a new refs field creates its links' table, a dropped one drops it (with its links).

It refuses a tree with uncommitted changes, several Alembic heads, and a field spec the
template refuses (one line, exit 2). The field-spec grammar: docs/template/resources.md.
"""

import argparse
import contextlib
import importlib
import json
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import Table

from tools import copier_run, three_way
from tools.cli import one_line_errors
from tools.link_tables import DROP_REASON, link_changes, link_tables
from tools.migration_file import function_body, write_migration
from tools.models import current_metadata
from tools.resource_project import (
    PROJECT_DIR,
    REGISTRY,
    SERVICE_ANSWERS,
    RefusedError,
    answers_file,
    git,
    migration_scripts,
    plural_of,
    read_yaml,
    refuse_unknown,
    refuse_unless_clean,
    the_head,
    write_registry,
)
from tools.table_changes import TableChange

# The inactive user that rows existing before their resource was owned belong to, as when auth
# is turned on in a service with data (alembic/versions/auth_users.py).
LEGACY_OWNER = "'legacy-owner@example.invalid'"
LEGACY_OWNER_ID = "(SELECT id FROM users WHERE email = 'legacy-owner@example.invalid')"


# A migration's upgrade code, downgrade code and accepted lint findings.
Migration = tuple[list[str], list[str], dict[str, str]]


@dataclass(frozen=True)
class SpecChange:
    """What to do to a field spec: fields to add, drop, rename (old -> new) and alter."""

    add: list[str]
    drop: list[str]
    rename: dict[str, str]
    alter: list[str]
    owned: bool = False  # the records come to belong to their creators (auth)

    def applied_to(self, spec: str) -> str:
        """The spec with the changes made; refused when a field is missing or taken."""
        fields = {token.split(":")[0]: token for token in spec.split()}

        def known(name: str, option: str) -> str:
            if name not in fields:
                raise RefusedError(
                    f"{option} {name}: no such field (the fields: {', '.join(fields)})."
                )
            return name

        self.refuse_overlaps()
        for name in self.drop:
            del fields[known(name, "--drop")]
        for old, new in self.rename.items():
            if new in fields:
                raise RefusedError(f"--rename {old}={new}: there is a field {new!r} already.")
            if kind_of(fields[known(old, "--rename")]) == "refs":
                raise RefusedError(
                    f"--rename {old}={new}: a refs field's links are a table of their own, which "
                    "this does not rename; keep its name, or drop it and add another (its links "
                    "are lost)."
                )
            # in its place: the order of the fields is the order of the columns
            fields = {
                (new if name == old else name): (new + token[len(old) :] if name == old else token)
                for name, token in fields.items()
            }
        for token in self.alter:
            name = known(token.split(":")[0], "--alter")
            if token == fields[name]:
                raise RefusedError(f"--alter {token}: that is its spec already; nothing to change.")
            if "refs" in (kind_of(token), kind_of(fields[name])):
                raise RefusedError(
                    f"--alter {name}: a refs field stays as it is (its links are a table of their "
                    "own); drop it and add another."
                )
            if kind_of(token) == "email" != kind_of(fields[name]):
                raise RefusedError(
                    f"--alter {name}: the values it holds were not normalized as addresses; add "
                    "an email field, copy the values through the API, then drop this one."
                )
            fields[name] = token
        for token in self.add:
            if (name := token.split(":")[0]) in fields:
                raise RefusedError(f"--add {name}: there is a field {name!r} already (--alter?).")
            fields[name] = token
        return " ".join(fields.values())

    def refuse_overlaps(self) -> None:
        """One change per field: a field renamed, dropped, altered or added twice in one call
        would need the steps in an order the migration cannot tell."""
        named = [token.split(":")[0] for token in self.add + self.alter]
        named += self.drop + list(self.rename) + list(self.rename.values())
        if twice := sorted({name for name in named if named.count(name) > 1}):
            raise RefusedError(
                f"{twice[0]!r} appears in two changes at once; make them one after the other."
            )

    def summary(self) -> str:
        parts = []
        if self.add:
            parts.append("add " + ", ".join(token.split(":")[0] for token in self.add))
        if self.rename:
            parts.append(", ".join(f"rename {old} to {new}" for old, new in self.rename.items()))
        if self.alter:
            parts.append("alter " + ", ".join(token.split(":")[0] for token in self.alter))
        if self.drop:
            parts.append("drop " + ", ".join(self.drop))
        if self.owned:
            parts.append("owned by their creators")
        return "; ".join(parts)


class ModelConflictError(RefusedError):
    """The user's edits in the model and the change meet: no table to compare (exit 1)."""


def checked_fills(name: str, table: Table, fills: dict[str, str]) -> dict[str, str]:
    """The --fill values by column (a reference's column is its name + `_id`), each checked as
    the API checks the field in a create (bounds, length, enum values, an address normalized),
    and written as that value."""
    schemas = importlib.import_module(f"app.schemas.{name}")
    create = next(
        cls
        for cls in vars(schemas).values()
        if isinstance(cls, type) and issubclass(cls, BaseModel) and cls.__name__.endswith("Create")
    )
    attributes = {info.alias or key: key for key, info in create.model_fields.items()}
    checked = {}
    for field_name, given in fills.items():
        column = field_name if field_name in table.columns else f"{field_name}_id"
        if column not in attributes:
            checked[column] = given  # not a field of the API (refused as unused later)
            continue
        value = validated(create, attributes[column], given, field_name)
        checked[column] = json.dumps(value).lower() if isinstance(value, bool) else str(value)
    return checked


def validated(create: type[BaseModel], attribute: str, given: str, field_name: str) -> object:
    """`given` as the create body's field `attribute` takes it: read as JSON (a number, true),
    else as text."""
    candidates: list[object] = [given]
    with contextlib.suppress(ValueError):
        candidates.insert(0, json.loads(given))
    problem = ""
    for candidate in candidates:
        body = create.model_construct()
        try:
            create.__pydantic_validator__.validate_assignment(body, attribute, candidate)
        except ValidationError as error:
            problem = problem or error.errors()[0]["msg"]
            continue
        return getattr(body, attribute)
    raise RefusedError(f"--fill {field_name}={given}: {problem}.")


def kind_of(token: str) -> str:
    """A field's kind, from its spec: `email` for `contact:email!`."""
    kind = re.match(r"[a-z]*", token.partition(":")[2])
    return kind[0] if kind else ""


def pairs(values: list[str], option: str) -> dict[str, str]:
    """NAME=VALUE arguments as a mapping; refused when one has no `=`."""
    found = {}
    for value in values:
        name, equals, rest = value.partition("=")
        if not equals or not name:
            raise RefusedError(f"{option} {value}: write it as NAME=VALUE.")
        found[name] = rest
    return found


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.change_resource",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", help="the resource, e.g. customer")
    parser.add_argument(
        "--add", default="", help='new fields, e.g. "phone:str(30)? vip:bool=false"'
    )
    parser.add_argument("--drop", action="append", default=[], help="a field to drop (repeatable)")
    parser.add_argument(
        "--rename", action="append", default=[], help="OLD=NEW: a field's new name (repeatable)"
    )
    parser.add_argument("--alter", default="", help='fields with a new spec, e.g. "tier:int>=0<=9"')
    parser.add_argument(
        "--fill",
        action="append",
        default=[],
        help="FIELD=VALUE: for rows already there, when FIELD becomes required (repeatable)",
    )
    parser.add_argument(
        "--owned", action="store_true", help="records come to belong to their creators (auth)"
    )
    args = parser.parse_args(argv)
    if not (args.add or args.drop or args.rename or args.alter or args.owned):
        parser.error("nothing to change: give --add, --drop, --rename, --alter or --owned")
    return args


def answers_of(name: str) -> str:
    """The answers file recording the resource: the service's for its own resource."""
    if read_yaml(SERVICE_ANSWERS).get("resource") == name:
        return SERVICE_ANSWERS
    if not (PROJECT_DIR / answers_file(name)).exists():
        raise RefusedError(
            f"{answers_file(name)} is missing: {name!r} was not added by add_resource."
        )
    return answers_file(name)


def column_renames(table: Table, renames: dict[str, str]) -> dict[str, str]:
    """Field renames as column renames: a reference's column is its name + `_id`."""
    return {
        (old if old in table.columns else f"{old}_id"): (
            new if old in table.columns else f"{new}_id"
        )
        for old, new in renames.items()
    }


def refuse_unless_ownable(answers_name: str, answers: dict[str, Any]) -> None:
    if read_yaml(SERVICE_ANSWERS).get("auth") != "jwt":
        raise RefusedError("--owned needs a service with auth (copier update --data auth=jwt).")
    if answers_name == SERVICE_ANSWERS:
        raise RefusedError(
            "--owned: the service's own resource is owned exactly when the service has auth."
        )
    if answers.get("owned"):
        raise RefusedError("--owned: its records belong to their creators already.")


def ownership(table: str) -> dict[str, Any]:
    """What makes a table's rows owned: its rows already there go to the inactive legacy owner
    that turning auth on creates too (docs/template/auth.md says how to hand them over)."""
    email = LEGACY_OWNER
    create = [
        "INSERT INTO users (email, password_hash, is_active, version) ",
        f"SELECT {email}, '!', false, 1 ",  # a password hash no password matches
        f'WHERE EXISTS (SELECT FROM "{table}") ',
        f"AND NOT EXISTS (SELECT FROM users WHERE email = {email})",
    ]
    code = "op.execute(\n" + "\n".join(f"    {part!r}" for part in create) + "\n)"
    return {
        "sql_fills": {"owner_id": LEGACY_OWNER_ID},
        "preparation": [code],
    }


def new_answers(
    answers: dict[str, Any], answers_name: str, change: dict[str, Any], registry: dict[str, Any]
) -> dict[str, Any]:
    """The answers after the change; a resource's known resources are the service's now, as
    references may name resources added since."""
    if answers_name != SERVICE_ANSWERS:
        resources = registry.get("resources") or {}
        change = change | {"known_resources": {n: e["plural"] for n, e in resources.items()}}
    return answers | change


def with_links(
    table_change: TableChange, links: tuple[list[str], list[str], list[str]]
) -> list[Migration]:
    """The table's migrations (`TableChange.migrations`), with its links' tables created and
    dropped in the first, which runs in a transaction (one of its own when the table's change
    needs only the second)."""
    migrations = table_change.migrations()
    upgrade, downgrade, dropped = links
    if not upgrade:
        return migrations
    findings = {"ban-drop-table": DROP_REASON} if dropped else {}
    if table_change.migration().steps:
        steps, undo_steps, first_findings = migrations[0]
        first = (steps + upgrade, downgrade + undo_steps, first_findings | findings)
        return [first, *migrations[1:]]
    return [(upgrade, downgrade, findings), *migrations]


def undo() -> None:
    git("reset", "--hard", "--quiet")
    git("clean", "-fd", "--quiet")


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    name: str = args.name
    try:
        change = SpecChange(
            add=args.add.split(),
            drop=args.drop,
            rename=pairs(args.rename, "--rename"),
            alter=args.alter.split(),
            owned=args.owned,
        )
        fills = pairs(args.fill, "--fill")
        registry = read_yaml(REGISTRY)
        refuse_unknown(name, registry)
        answers_name = answers_of(name)
        answers = read_yaml(answers_name)
        spec = change.applied_to(str(answers.get("resource_fields", "")))
        if change.owned:
            refuse_unless_ownable(answers_name, answers)
        refuse_unless_clean("changing")
        scripts = migration_scripts()
        head = the_head(scripts)
        plural = plural_of(name, registry)
        old = current_metadata().tables[plural]
        old_links = link_tables(name)
    except RefusedError as refused:
        print(f"Nothing was changed: {refused}", file=sys.stderr)
        return 2

    data: dict[str, Any] = {"resource_fields": spec} | ({"owned": True} if change.owned else {})
    shown = " ".join(f"{key}={value}" for key, value in data.items())
    print(f"Rendering {name} again with {shown}", flush=True)
    try:
        after = new_answers(answers, answers_name, data, registry)
        merged = three_way.rerender(answers_name, answers, after)
        if in_models := [path for path in merged.conflicts if path.startswith("app/models/")]:
            raise ModelConflictError(
                f"your edits in {in_models[0]} and the change meet (a conflict): move your own "
                "code in the model away from its fields (e.g. above them), commit, and try again."
            )
        new = current_metadata().tables[plural]
        new_links = link_tables(name)
        fills = checked_fills(name, new, fills)
        renames = column_renames(old, change.rename)
        owner = ownership(plural) if change.owned else {}
        table_change = TableChange(old, new, renames, fills, **owner)
        notes = table_change.migration().notes
        migrations = with_links(table_change, link_changes(old_links, new_links))
    except (RefusedError, copier_run.CopierError) as error:
        undo()
        print(f"Nothing was changed: {error}", file=sys.stderr)
        failed = isinstance(error, ModelConflictError | copier_run.CopierError)
        return 1 if failed and not getattr(error, "refused", False) else 2
    except Exception as error:  # whatever else broke: the tree goes back as it was
        undo()
        print(f"Nothing was changed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1

    print(f"Changed the resource {name!r}: {change.summary()}.")
    print(*(f"  rendered  {path}" for path in merged.changed), sep="\n")
    summary = textwrap.fill(f"{change.summary()}.", width=96)
    messages = [
        f"Change {name}.\n\n{summary}",
        f"Change {name}, second part: check the rows, build the indexes.\n\n"
        "Outside a transaction, so that the table keeps serving (app/db/migration_ops.py).",
    ]
    for message, (upgrade, downgrade, findings) in zip(messages, migrations, strict=False):
        code = (function_body(upgrade), function_body(downgrade))
        migration = write_migration(scripts, head, message, code, findings)
        head = migration.revision
        print(f"  wrote     {Path(migration.path).relative_to(PROJECT_DIR)}")
    if change.owned:
        registry["resources"][name]["owned"] = True
    if migrations or change.owned:
        write_registry(registry, head)
    else:
        print("  the table stays as it is: no migration")
    for note in notes:
        print(f"  {note}")
    if merged.conflicts:
        print("Resolve the conflicts first (your edits and the change meet):")
        print(*(f"  {path}" for path in merged.conflicts), sep="\n")
        return 1
    print(
        "Next: review with `git diff`, then `uv run python -m tools.db migrate`, `uv run pytest`."
    )
    if change.rename:
        names = " -e ".join(change.rename)
        print(f"Look for what still names the old fields: git grep -n -w -e {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
