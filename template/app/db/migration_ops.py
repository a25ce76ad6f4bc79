"""Schema changes that keep a live table serving, for migrations (tools.change_resource writes
them with these): each takes only brief locks where a plain ALTER would block reads or writes
for as long as PostgreSQL scans or rewrites the table.

A change comes in two migrations:
- the first, in one transaction, makes the changes that only touch the catalog: columns added,
  dropped, renamed; CHECK and foreign keys added NOT VALID (not checked against the rows yet),
  and NOT NULL prepared as such a CHECK;
- the second works on the rows outside any transaction (`outside_the_transaction`): fills
  them in batches where a column becomes required, VALIDATE takes a lock that lets reads and
  writes go on, and indexes are built CONCURRENTLY; then, in
  a new transaction, it turns what was proven into UNIQUE constraints and NOT NULL columns,
  which PostgreSQL then accepts without scanning again.
Validating in the transaction that added the constraint would hold that transaction's
exclusive lock for the whole scan (squawk's `constraint-missing-not-valid`).

Everything here writes the same SQL in offline mode (`alembic upgrade head --sql`), and what
runs outside a transaction can run again after a failure: a second try of the migration
starts where the first one stopped.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import op
from sqlalchemy import text

# Fail fast instead of queueing behind long transactions while holding locks; a statement that
# runs longer than STATEMENT_TIMEOUT belongs in a batched backfill, not in a schema migration.
LOCK_TIMEOUT = "10s"
STATEMENT_TIMEOUT = "15min"


def time_limits(scope: str = "LOCAL") -> list[str]:
    """The statements that bound a transaction's waits (scope LOCAL) or a session's (SESSION)."""
    return [
        f"SET {scope} lock_timeout = '{LOCK_TIMEOUT}'",
        f"SET {scope} statement_timeout = '{STATEMENT_TIMEOUT}'",
    ]


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _alter(table: str, change: str) -> None:
    op.execute(f"ALTER TABLE {quoted(table)} {change}")


# ---- In the migration's transaction: catalog changes only. ----


def add_check(table: str, name: str, condition: str) -> None:
    """A CHECK that new rows must pass at once, and the rows already there once validated."""
    _alter(table, f"ADD CONSTRAINT {quoted(name)} CHECK ({condition}) NOT VALID")


def add_foreign_key(table: str, name: str, column: str, target: str, on_delete: str) -> None:
    """A foreign key from `table`.`column` to `target`.id, NOT VALID until validated."""
    _alter(
        table,
        f"ADD CONSTRAINT {quoted(name)} FOREIGN KEY ({quoted(column)}) "
        f"REFERENCES {quoted(target)} (id) ON DELETE {on_delete} NOT VALID",
    )


def drop_constraint(table: str, name: str) -> None:
    _alter(table, f"DROP CONSTRAINT IF EXISTS {quoted(name)}")


def rename_constraint(table: str, name: str, new_name: str) -> None:
    _alter(table, f"RENAME CONSTRAINT {quoted(name)} TO {quoted(new_name)}")


def rename_index(name: str, new_name: str) -> None:
    op.execute(f"ALTER INDEX {quoted(name)} RENAME TO {quoted(new_name)}")


def not_null_check(table: str, column: str) -> str:
    """The name of the CHECK that proves `column` holds no NULL before it becomes NOT NULL."""
    return f"ck_{table}_{column}_not_null"[:63]


def prepare_not_null(table: str, column: str) -> None:
    add_check(table, not_null_check(table, column), f"{quoted(column)} IS NOT NULL")


# ---- Outside a transaction: reading the rows, building indexes; each can run again. ----


@contextmanager
def outside_the_transaction() -> Iterator[None]:
    """The block runs in autocommit mode, with the migration's time limits for the session;
    the transaction before it is committed, and a new one (with the limits) begins after."""
    with op.get_context().autocommit_block():
        for statement in time_limits("SESSION"):
            op.execute(statement)
        yield
        op.execute("RESET lock_timeout")
        op.execute("RESET statement_timeout")
    for statement in time_limits():
        op.execute(statement)


def validate(table: str, name: str) -> None:
    _alter(table, f"VALIDATE CONSTRAINT {quoted(name)}")


def fill_nulls(table: str, column: str, value: str, batch: int = 10_000) -> None:
    """Rows without a value in `column` get `value` (SQL: a literal, or a subquery), `batch`
    rows per statement: run outside the transaction, each batch commits on its own and holds
    its rows' locks only that long. Offline, one statement."""
    update = (
        f"UPDATE {quoted(table)} SET {quoted(column)} = {value} "  # noqa: S608  (a literal)
        f"WHERE {quoted(column)} IS NULL"
    )
    if op.get_context().as_sql:
        op.execute(update)
        return
    rows = f"SELECT ctid FROM {quoted(table)} WHERE {quoted(column)} IS NULL LIMIT {batch:d}"  # noqa: S608
    batched = f"{update} AND ctid = ANY(ARRAY({rows}))"
    while op.get_bind().execute(text(batched)).rowcount:
        pass


def create_index(name: str, table: str, column: str, *, unique: bool = False) -> None:
    """CREATE [UNIQUE] INDEX CONCURRENTLY; one a failed try left (invalid) is dropped first."""
    kind = "UNIQUE INDEX" if unique else "INDEX"
    op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {quoted(name)}")
    op.execute(
        f"CREATE {kind} CONCURRENTLY IF NOT EXISTS {quoted(name)} "
        f"ON {quoted(table)} ({quoted(column)})"
    )


def drop_index(name: str) -> None:
    op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {quoted(name)}")


# ---- In the transaction after: what the rows proved. ----


def add_unique(table: str, name: str) -> None:
    """The UNIQUE constraint `name` on the unique index of that name (`create_index`)."""
    _alter(table, f"ADD CONSTRAINT {quoted(name)} UNIQUE USING INDEX {quoted(name)}")


def set_not_null(table: str, column: str) -> None:
    """SET NOT NULL, which a validated `prepare_not_null` CHECK spares its scan (PostgreSQL
    12+), and that CHECK goes."""
    _alter(table, f"ALTER COLUMN {quoted(column)} SET NOT NULL")
    drop_constraint(table, not_null_check(table, column))
