"""The migration between two versions of a resource's table (the model before and after
tools.change_resource re-rendered it), written so that a live table keeps serving: see
app/db/migration_ops.py for how each step avoids long locks.

Hand-written rather than Alembic's autogenerate, which compares the models with a database and
would leave CHECK constraints out, write a rename as a drop and an add (losing the column's
values), add a NOT NULL column that existing rows cannot fill, and build indexes and
constraints under locks that stop writes.

The downgrade is the same comparison the other way round: the table as it was, from the table
as it is now. A column that went takes its values with it; the downgrade recreates it empty.
"""

import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from alembic.autogenerate import render_python_code
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKeyConstraint,
    Table,
    UniqueConstraint,
    literal,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import CompileError
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import TypeEngine

from app.db.migration_ops import not_null_check
from tools.resource_project import RefusedError

# SQLAlchemy's dialect constructor has no annotations.
DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class Constraint:
    """A CHECK, UNIQUE, foreign key or index of the table, by what it does, not its name."""

    kind: str  # check, unique, foreign_key, index
    column: str  # the column it is on; a CHECK's first column in its condition
    definition: str  # the condition, the referenced table, ... as SQL

    def renamed(self, renames: dict[str, str]) -> "Constraint":
        """The same constraint once the columns in `renames` (old -> new) are renamed."""
        definition = self.definition
        for old, new in renames.items():
            definition = definition.replace(f'"{old}"', f'"{new}"')
        return Constraint(self.kind, renames.get(self.column, self.column), definition)


def compiled(element: ClauseElement | TypeEngine[Any]) -> str:
    return str(element.compile(dialect=DIALECT))


def server_default_sql(column: Column[Any]) -> str | None:
    default = column.server_default
    arg = getattr(default, "arg", None)
    if arg is None:
        return None
    return compiled(arg) if isinstance(arg, ClauseElement) else str(arg)


def constraints_of(table: Table) -> dict[str, Constraint]:
    """The table's constraints and indexes by name, but its primary key."""
    found: dict[str, Constraint] = {}
    for constraint in sorted(table.constraints, key=lambda constraint: str(constraint.name)):
        name = str(constraint.name)
        if isinstance(constraint, CheckConstraint):
            condition = compiled(constraint.sqltext)
            column = condition.split('"')[1] if '"' in condition else ""
            found[name] = Constraint("check", column, condition)
        elif isinstance(constraint, UniqueConstraint):
            found[name] = Constraint("unique", constraint.columns.keys()[0], "")
        elif isinstance(constraint, ForeignKeyConstraint):
            element = constraint.elements[0]
            target = f"{element.column.table.name} ON DELETE {element.ondelete or 'NO ACTION'}"
            found[name] = Constraint("foreign_key", element.parent.name, target)
    for index in sorted(table.indexes, key=lambda index: str(index.name)):
        kind = "unique_index" if index.unique else "index"
        found[str(index.name)] = Constraint(kind, next(iter(index.columns)).name, "")
    return found


def value_of(column: Column[Any], given: str) -> object:
    """`given` (a --fill value) as the column's Python type; refused when it is not one."""
    python_type = column.type.python_type
    readers: dict[type, Callable[[str], Any]] = {
        bool: lambda v: {"true": True, "false": False}[v],
        date: date.fromisoformat,
        datetime: datetime.fromisoformat,
        uuid.UUID: uuid.UUID,
        Decimal: Decimal,
        int: int,
        float: float,
        str: str,
    }
    try:
        return readers.get(python_type, json.loads)(given)
    except (KeyError, ValueError, InvalidOperation):
        raise RefusedError(
            f"--fill {column.name}={given}: not a value of its type ({python_type.__name__})."
        ) from None


def sql_literal(column: Column[Any], given: str) -> str:
    value = value_of(column, given)
    if isinstance(value, float) and not math.isfinite(value):
        raise RefusedError(f"--fill {column.name}={given}: a number is finite.")
    try:
        rendered = literal(value, column.type).compile(
            dialect=DIALECT, compile_kwargs={"literal_binds": True}
        )
    except CompileError:
        raise RefusedError(
            f"--fill {column.name}: {column.type} values cannot be given on the command line; "
            "add the field optional and set it through the API."
        ) from None
    return str(rendered)


def python_code(operation: ops.MigrateOperation) -> str:
    """An Alembic operation as autogenerate writes it."""
    context = MigrationContext.configure(dialect_name="postgresql")
    code = render_python_code(ops.UpgradeOps(ops=[operation]), migration_context=context)
    return "\n".join(
        line.strip() for line in code.splitlines() if not line.strip().startswith("# ###")
    )


def call(function: str, *arguments: object, **options: object) -> str:
    """A call of a function of app/db/migration_ops.py, as code."""
    written = [repr(argument) for argument in arguments]
    written += [f"{key}={value!r}" for key, value in options.items()]
    return f"migration_ops.{function}({', '.join(written)})"


def plain_column(column: Column[Any], *, nullable: bool, default: str | None) -> Column[Any]:
    """The column without the constraints and indexes that are added on their own."""
    server_default = text(default) if default is not None else None
    return Column(column.name, column.type, nullable=nullable, server_default=server_default)


@dataclass
class Migration:
    """One direction's steps, in the phases app/db/migration_ops.py describes: `steps` in the
    migration's transaction, `outside` it (validations, index builds), `after` in a new one;
    `undo_after` undoes `outside` and `after` alone. `findings`: the migration-lint findings
    the steps bring (rule -> why); `notes`: what happens to the rows already there."""

    steps: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    undo_after: list[str] = field(default_factory=list)
    undo_outside: list[str] = field(default_factory=list)
    not_null_checks: list[str] = field(default_factory=list)
    filled: set[str] = field(default_factory=set)
    built_indexes: list[str] = field(default_factory=list)
    findings: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, step: str | ops.MigrateOperation) -> None:
        self.steps.append(step if isinstance(step, str) else python_code(step))

    def validated(self, table: str, name: str) -> None:
        self.outside.append(call("validate", table, name))

    def not_null(self, table: str, column: str, fill: str | None = None) -> None:
        """`column` becomes NOT NULL once its rows are proven to have values; `fill` (SQL) gives
        them one first, in batches outside the transaction (an UPDATE of every row inside it
        would hold the table's exclusive lock for as long)."""
        self.add(call("prepare_not_null", table, column))
        if fill is not None:
            self.outside.append(call("fill_nulls", table, column, fill))
        self.validated(table, not_null_check(table, column))
        self.not_null_checks.append(call("drop_constraint", table, not_null_check(table, column)))
        self.after.append(call("set_not_null", table, column))
        self.undo_after.append(f"op.alter_column({table!r}, {column!r}, nullable=True)")
        self.undo_after.append(call("prepare_not_null", table, column))

    def second_upgrade(self) -> list[str]:
        """The second migration's upgrade: `outside`, then `after`."""
        return outside_block(self.outside) + self.after

    def second_downgrade(self) -> list[str]:
        """What undoes the second migration alone."""
        return self.undo_after[::-1] + outside_block(self.undo_outside[::-1])

    def whole(self) -> list[str]:
        """All of it in one migration (a downgrade, run less often and not linted)."""
        return self.steps + self.second_upgrade()


def outside_block(steps: list[str]) -> list[str]:
    """`steps` as code in a `with migration_ops.outside_the_transaction():` block."""
    if not steps:
        return []
    block = "\n".join(f"    {line}" for step in steps for line in step.splitlines())
    return ["with migration_ops.outside_the_transaction():\n" + block]


@dataclass(frozen=True)
class TableChange:
    """From table `old` to `new` (the same table name), renaming the columns in `renames` (old
    name -> new name); `fills` gives the rows already there a value for a column that becomes
    required without a default (column -> value, as written on the command line)."""

    old: Table
    new: Table
    renames: dict[str, str] = field(default_factory=dict)
    fills: dict[str, str] = field(default_factory=dict)
    # Columns filled by SQL of the tool's own rather than a value given (owner_id: the legacy
    # owner), with the steps that come first (creating that owner).
    sql_fills: dict[str, str] = field(default_factory=dict)
    preparation: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.new.name

    def reversed(self) -> "TableChange":
        renames = {new: old for old, new in self.renames.items()}
        return TableChange(self.new, self.old, renames)

    def migrations(self) -> list[tuple[list[str], list[str], dict[str, str]]]:
        """The migrations' upgrade and downgrade code and accepted lint findings: one, or two
        when rows must be checked or indexes built (app/db/migration_ops.py). The first one's
        downgrade takes the table back whether the second ran or not (its drops are IF
        EXISTS)."""
        forward = self.migration()
        backward = self.reversed().migration(restoring=True)
        # After the table is back: an index the second migration left invalid, or never
        # turned into a constraint, stays otherwise (`alembic check` reports it).
        leftovers = outside_block([call("drop_index", name) for name in forward.built_indexes])
        first_down = forward.not_null_checks + backward.whole() + leftovers
        first = (forward.steps, first_down, forward.findings)
        if not forward.second_upgrade():
            return [first] if forward.steps else []
        findings = {
            "prefer-robust-stmts": (
                "it runs outside a transaction, and can run again after a failure: VALIDATE "
                "of a valid constraint does nothing, and each index is dropped IF EXISTS first"
            )
        }
        if forward.not_null_checks:
            findings["adding-not-nullable-field"] = (
                "SET NOT NULL after a validated CHECK (column IS NOT NULL), which PostgreSQL "
                "12+ trusts instead of scanning the table under an exclusive lock"
            )
            findings["ban-drop-constraint"] = (
                "the CHECK (column IS NOT NULL) goes once the column is NOT NULL: it says the same"
            )
        second = (forward.second_upgrade(), forward.second_downgrade(), findings)
        return [first, second] if forward.steps else [second]

    def migration(self, *, restoring: bool = False) -> Migration:
        """The steps from `old` to `new`; `restoring` when they undo a change (a downgrade),
        which recreates a dropped required column empty instead of asking for a fill."""
        migration = Migration()
        old_constraints = {
            name: constraint.renamed(self.renames)
            for name, constraint in constraints_of(self.old).items()
        }
        new_constraints = constraints_of(self.new)
        kept = {
            name: definition
            for name, definition in old_constraints.items()
            if definition in new_constraints.values()
        }
        dropped_columns = [
            column.name
            for column in self.old.columns
            if column.name not in self.renames and column.name not in self.new.columns
        ]
        for name, constraint in old_constraints.items():
            if name not in kept and constraint.column not in dropped_columns:
                self._drop_constraint(migration, name, constraint)
        self._rename(migration, kept, new_constraints)
        for name in dropped_columns:
            migration.add(ops.DropColumnOp.from_column_and_tablename(None, self.name, Column(name)))
            migration.findings["ban-drop-column"] = (
                "a field was dropped (tools.change_resource): its values go with it"
            )
        renamed_to = set(self.renames.values())
        for column in self.new.columns:
            before_name = next((o for o, n in self.renames.items() if n == column.name), None)
            before = self.old.columns.get(before_name or column.name)
            if before is None and column.name not in renamed_to:
                self._add_column(migration, column, restoring=restoring)
            elif before is not None:
                self._alter_column(migration, before, column)
        for name, constraint in new_constraints.items():
            if constraint not in kept.values():
                self._add_constraint(migration, name, constraint)
        if unused := sorted(set(self.fills) - migration.filled):
            raise RefusedError(
                f"--fill {unused[0]}: the field does not become required here (--fill is for a "
                "new required field without a default, or an optional one made required)."
            )
        return migration

    def _drop_constraint(self, migration: Migration, name: str, constraint: Constraint) -> None:
        if constraint.kind in ("index", "unique_index"):
            migration.outside.append(call("drop_index", name))
        else:
            migration.add(call("drop_constraint", self.name, name))
            migration.findings["ban-drop-constraint"] = (
                "a field's CHECK, UNIQUE or foreign key changed or went with its spec "
                "(tools.change_resource); a changed one is added again below"
            )

    def _rename(
        self, migration: Migration, kept: dict[str, Constraint], new: dict[str, Constraint]
    ) -> None:
        """Renamed columns, and the constraints whose names follow theirs."""
        for old, new_name in self.renames.items():
            migration.add(f"op.alter_column({self.name!r}, {old!r}, new_column_name={new_name!r})")
            migration.findings["renaming-column"] = (
                "a field was renamed (tools.change_resource): code still using the old name "
                "fails once this runs; deploy the code that uses the new one with it"
            )
        by_definition = {constraint: name for name, constraint in new.items()}
        for name, constraint in kept.items():
            if (new_name := by_definition[constraint]) != name:
                if constraint.kind in ("index", "unique_index"):
                    migration.add(call("rename_index", name, new_name))
                else:
                    migration.add(call("rename_constraint", self.name, name, new_name))
                migration.findings["renaming-object"] = (
                    "a renamed field's constraints follow its name (tools.change_resource)"
                )

    def _add_column(self, migration: Migration, column: Column[Any], *, restoring: bool) -> None:
        default = server_default_sql(column)
        if column.nullable or default is not None:
            plain = plain_column(column, nullable=bool(column.nullable), default=default)
            migration.add(ops.AddColumnOp.from_column_and_tablename(None, self.name, plain))
            return
        if restoring or column.name in self.sql_fills:
            plain = plain_column(column, nullable=True, default=None)
            migration.add(ops.AddColumnOp.from_column_and_tablename(None, self.name, plain))
            if restoring:  # the values are gone: the table must be empty
                migration.not_null(self.name, column.name)
                return
            migration.steps += self.preparation
            migration.not_null(self.name, column.name, self.sql_fills[column.name])
            return
        if column.name not in self.fills:
            raise RefusedError(
                f"{column.name!r} is required and has no default: give the rows already in "
                f"{self.name} a value (--fill {column.name}=VALUE), a default, or add it "
                "optional (?)."
            )
        fill = sql_literal(column, self.fills[column.name])
        migration.filled.add(column.name)
        plain = plain_column(column, nullable=False, default=fill)
        migration.add(ops.AddColumnOp.from_column_and_tablename(None, self.name, plain))
        migration.add(f"op.alter_column({self.name!r}, {column.name!r}, server_default=None)")
        migration.findings["ban-drop-default"] = (
            "the default that filled the rows already there goes: the field has none"
        )
        migration.notes.append(f"rows already in {self.name} get {column.name} = {fill}")

    def _alter_column(self, migration: Migration, before: Column[Any], after: Column[Any]) -> None:
        name = after.name
        if compiled(before.type) != compiled(after.type):
            cast = f'"{name}"::{compiled(after.type)}'
            alter = ops.AlterColumnOp(
                self.name, name, modify_type=after.type, existing_type=before.type
            )
            # Alembic does not write the USING clause it takes: added to its call.
            migration.add(python_code(alter)[:-1] + f", postgresql_using={cast!r})")
            migration.findings["changing-column-type"] = (
                "a field's type changed (tools.change_resource): PostgreSQL rewrites the table "
                "under an exclusive lock, or refuses when a value does not convert"
            )
        if (default := server_default_sql(after)) != server_default_sql(before):
            value = f"sa.text({default!r})" if default is not None else "None"
            migration.add(f"op.alter_column({self.name!r}, {name!r}, server_default={value})")
            if default is None:
                migration.findings["ban-drop-default"] = (
                    "a field's default went with its spec (tools.change_resource): clients "
                    "that leave it out get a 422 instead"
                )
        if before.nullable and not after.nullable:
            fill = None
            if name in self.fills:
                fill = sql_literal(after, self.fills[name])
                migration.filled.add(name)
                migration.notes.append(f"rows of {self.name} without {name} get {fill}")
            migration.not_null(self.name, name, fill)
        elif after.nullable and not before.nullable:
            migration.add(f"op.alter_column({self.name!r}, {name!r}, nullable=True)")

    def _add_constraint(self, migration: Migration, name: str, constraint: Constraint) -> None:
        table, column = self.name, constraint.column
        if constraint.kind == "check":
            migration.add(call("add_check", table, name, constraint.definition))
            migration.validated(table, name)
        elif constraint.kind == "foreign_key":
            target, on_delete = constraint.definition.split(" ON DELETE ")
            migration.add(call("add_foreign_key", table, name, column, target, on_delete))
            migration.validated(table, name)
        elif constraint.kind == "unique":
            migration.outside.append(call("create_index", name, table, column, unique=True))
            migration.built_indexes.append(name)
            migration.after.append(call("add_unique", table, name))
            migration.undo_after.append(call("drop_constraint", table, name))
        else:
            unique = constraint.kind == "unique_index"
            migration.outside.append(call("create_index", name, table, column, unique=unique))
            migration.built_indexes.append(name)
            migration.undo_outside.append(call("drop_index", name))
