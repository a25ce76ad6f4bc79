"""Schema changes that keep a live table serving, for migrations (tools.change_resource writes
them): each takes only brief locks where a plain ALTER would block reads or writes for as long
as PostgreSQL scans or rewrites the table.

- a CHECK or foreign key is added NOT VALID (instant), then validated (reads the table under a
  lock that lets reads and writes go on);
- an index is built CONCURRENTLY, outside the migration's transaction (the transaction so far
  is committed first, and a new one begins after it, with the same time limits);
- a column becomes NOT NULL through a validated CHECK, which PostgreSQL then trusts instead of
  scanning under an exclusive lock.

Each also works in offline mode (`alembic upgrade head --sql`), where it writes the same SQL.
"""

from alembic import op

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


def add_check(table: str, name: str, condition: str) -> None:
    """ADD CONSTRAINT ... CHECK (condition): NOT VALID, then VALIDATE."""
    op.execute(
        f"ALTER TABLE {quoted(table)} ADD CONSTRAINT {quoted(name)} CHECK ({condition}) NOT VALID"
    )
    op.execute(f"ALTER TABLE {quoted(table)} VALIDATE CONSTRAINT {quoted(name)}")


def add_foreign_key(table: str, name: str, column: str, target: str, on_delete: str) -> None:
    """A foreign key from `table`.`column` to `target`.id: NOT VALID, then VALIDATE."""
    op.execute(
        f"ALTER TABLE {quoted(table)} ADD CONSTRAINT {quoted(name)} FOREIGN KEY "
        f"({quoted(column)}) REFERENCES {quoted(target)} (id) ON DELETE {on_delete} NOT VALID"
    )
    op.execute(f"ALTER TABLE {quoted(table)} VALIDATE CONSTRAINT {quoted(name)}")


def _outside_the_transaction(statements: list[str]) -> None:
    """`statements` in autocommit mode, with the migration's time limits for the session, then
    a new transaction with them again (CONCURRENTLY cannot run inside a transaction)."""
    with op.get_context().autocommit_block():
        for statement in [*time_limits("SESSION"), *statements]:
            op.execute(statement)
        op.execute("RESET lock_timeout")
        op.execute("RESET statement_timeout")
    for statement in time_limits():
        op.execute(statement)


def create_index(name: str, table: str, column: str, *, unique: bool = False) -> None:
    """CREATE [UNIQUE] INDEX CONCURRENTLY; one left invalid by a failed earlier try is dropped
    first."""
    kind = "UNIQUE INDEX" if unique else "INDEX"
    _outside_the_transaction(
        [
            f"DROP INDEX CONCURRENTLY IF EXISTS {quoted(name)}",
            f"CREATE {kind} CONCURRENTLY {quoted(name)} ON {quoted(table)} ({quoted(column)})",
        ]
    )


def drop_index(name: str) -> None:
    _outside_the_transaction([f"DROP INDEX CONCURRENTLY IF EXISTS {quoted(name)}"])


def add_unique(table: str, name: str, column: str) -> None:
    """A UNIQUE constraint on its index, built CONCURRENTLY first."""
    create_index(name, table, column, unique=True)
    op.execute(
        f"ALTER TABLE {quoted(table)} ADD CONSTRAINT {quoted(name)} UNIQUE USING INDEX "
        f"{quoted(name)}"
    )


def fill_nulls(table: str, column: str, value: str) -> None:
    """Rows without a value in `column` get `value` (SQL, a literal)."""
    op.execute(
        f"UPDATE {quoted(table)} SET {quoted(column)} = {value} "  # noqa: S608  (a literal, quoted names)
        f"WHERE {quoted(column)} IS NULL"
    )


def set_not_null(table: str, column: str) -> None:
    """ALTER COLUMN ... SET NOT NULL without the scan under an exclusive lock: a validated
    CHECK (column IS NOT NULL) proves it first, and goes once it has."""
    check = f"{table}_{column}_not_null"[:63]
    add_check(table, check, f"{quoted(column)} IS NOT NULL")
    op.execute(f"ALTER TABLE {quoted(table)} ALTER COLUMN {quoted(column)} SET NOT NULL")
    op.execute(f"ALTER TABLE {quoted(table)} DROP CONSTRAINT {quoted(check)}")
