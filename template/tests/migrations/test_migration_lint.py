"""The migrations' SQL passes squawk, a linter for PostgreSQL migrations, with every rule on.

squawk reads the offline SQL (`alembic upgrade head --sql`), the script a DBA would run. Findings
accepted, each for a reason:
- `prefer-text-field` on `alembic_version.version_num`: Alembic's own table, not ours;
- anything in tables other tools own (`app.db.unmanaged`, e.g. procrastinate's job queue): their
  schema is copied verbatim from the tool's release, and its upgrades come from there;
- `prefer-bigint-over-int` on a column whose field spec says `int` (the user asked for
  INTEGER), or says `bigint` now (an earlier migration's INTEGER, changed since);
- `varchar(n)` on a column the model declares as a `str(n)` field (text with a length CHECK),
  and an integer `version`: what the migrations of template versions before 0.3.0 created, and
  applied migrations never change (current ones write text and bigint). `alembic/env.py`
  accepts the same two as equal to the model's types;
- `adding-not-nullable-field` on `owner_id` (the auth option): its migration fills the column
  in every row of an existing table first, an UPDATE that costs more than the scan;
- whatever a migration lists in its own `ACCEPTED_FINDINGS` (rule -> reason), findings reviewed
  for that migration (`tools.remove_resource` accepts its `ban-drop-table` so), and anything
  in a table a later migration drops that no model has any more: migrations never change once
  applied, and the model that said why a finding was fine is gone with the table; the same for
  the type of a column a later migration renamed or dropped (`tools.change_resource`).

Each finding names the migration (revision) and the table its statement is about.
"""

import io
import json
import re
import subprocess
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import BigInteger, CheckConstraint, Integer, Table

import app.models  # noqa: F401  (registers every table on the metadata)
from app.db.base import Base
from app.db.unmanaged import is_managed
from tests.database import alembic_config

OFFLINE_URL = "postgresql+asyncpg://offline@localhost/offline"
# Names that are SQL reserved words (order, user, group, ...) come quoted.
CREATE_TABLE = re.compile(r'^CREATE TABLE "?(\w+)"? \(', re.MULTILINE)
# The table a statement is about, from its first line.
STATEMENT_TABLE = re.compile(
    r"^(?:CREATE TABLE|ALTER TABLE(?: ONLY)?(?: IF EXISTS)?|DROP TABLE(?: IF EXISTS)?"
    r'|CREATE (?:UNIQUE )?INDEX(?: CONCURRENTLY)?(?: IF NOT EXISTS)? "?\w+"? ON(?: ONLY)?'
    r"|COMMENT ON (?:TABLE|COLUMN)|INSERT INTO|UPDATE|DELETE FROM|TRUNCATE(?: TABLE)?)"
    r' "?(\w+)"?'
)
CREATE_INDEX = re.compile(
    r"^CREATE (?:UNIQUE )?INDEX(?: CONCURRENTLY)?(?: IF NOT EXISTS)?"
    r' "?(\w+)"? ON(?: ONLY)? "?(\w+)"?',
    re.MULTILINE,
)
DROP_INDEX = re.compile(r'^DROP INDEX(?: CONCURRENTLY)?(?: IF EXISTS)? "?(\w+)"?')
DROP_TABLE = re.compile(r'^DROP TABLE(?: IF EXISTS)? "?(\w+)"?', re.MULTILINE)
# The column an ALTER TABLE statement adds, or gives a new type.
ADD_COLUMN = re.compile(r'\b(?:ADD COLUMN (?:IF NOT EXISTS )?|ALTER COLUMN )"?(\w+)"?')
# Alembic marks where each migration starts in the offline SQL.
RUNNING = re.compile(r"^-- Running upgrade .*-> (\w+)$")


@dataclass(frozen=True)
class Finding:
    rule: str
    table: str
    column: str
    message: str
    statement: str = ""
    revision: str = ""


@pytest.fixture(scope="module")
def offline_sql() -> str:
    """What `alembic upgrade head --sql` prints (run in this process: no database involved)."""
    config = alembic_config()
    config.attributes["database_url"] = OFFLINE_URL
    config.output_buffer = buffer = io.StringIO()
    command.upgrade(config, "head", sql=True)
    return buffer.getvalue()


def statement_start(lines: list[str], line: int) -> int:
    """The first line of the statement `line` is in (statements are separated by blank lines
    and end with a semicolon)."""
    start = line
    while start > 0 and lines[start - 1].strip() and not lines[start - 1].endswith(";"):
        start -= 1
    return start


def table_of(lines: list[str], line: int, index_tables: dict[str, str]) -> str:
    """The table the statement at `line` is about; for a statement this cannot read, the last
    table created before it."""
    head = lines[statement_start(lines, line)]
    if found := STATEMENT_TABLE.match(head):
        return found[1]
    if (dropped := DROP_INDEX.match(head)) and dropped[1] in index_tables:
        return index_tables[dropped[1]]
    tables = CREATE_TABLE.findall("\n".join(lines[: line + 1]))
    return tables[-1] if tables else ""


def revision_of(lines: list[str], line: int) -> str:
    """The migration whose upgrade wrote `line`."""
    for earlier in reversed(lines[: line + 1]):
        if found := RUNNING.match(earlier):
            return found[1]
    return ""


def squawk(sql: str) -> list[Finding]:
    squawk_binary = Path(sys.executable).parent / "squawk"
    result = subprocess.run(  # noqa: S603  (the squawk-cli of this project's environment)
        [squawk_binary, "--reporter", "json", "--stdin-filepath", "upgrade.sql"],
        input=sql,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    lines = sql.splitlines()
    index_tables = dict(CREATE_INDEX.findall(sql))
    findings = []
    for found in json.loads(result.stdout or "[]"):
        line = found["line"]
        column = lines[line].split()[0].strip('"') if lines[line].startswith("    ") else ""
        if added := ADD_COLUMN.search(lines[line]):
            column = added[1]
        findings.append(
            Finding(
                found["rule_name"],
                table_of(lines, line, index_tables),
                column,
                found["message"],
                lines[line],
                revision_of(lines, line),
            )
        )
    return findings


def accepted_by_their_migrations() -> dict[str, set[str]]:
    """The findings each migration accepts for itself (its `ACCEPTED_FINDINGS`), by revision."""
    scripts = ScriptDirectory.from_config(alembic_config())
    return {
        script.revision: set(getattr(script.module, "ACCEPTED_FINDINGS", {}))
        for script in scripts.walk_revisions()
    }


def dropped_tables(sql: str) -> set[str]:
    """Tables a migration drops that no model has: gone, with their history."""
    return set(DROP_TABLE.findall(sql)) - set(Base.metadata.tables)


def has_length_check(table: Table, column: str) -> bool:
    """Whether the model declares `column` as a str(n) field: text with a `<column>_len` CHECK."""
    return any(
        isinstance(constraint, CheckConstraint) and str(constraint.name).endswith(f"_{column}_len")
        for constraint in table.constraints
    )


# Findings about a column's type, which its field spec decides.
COLUMN_TYPE_RULES = ("prefer-bigint-over-int", "prefer-text-field")


def accepted(
    finding: Finding, by_migration: Mapping[str, Collection[str]], dropped: Collection[str]
) -> bool:
    """Whether the finding is one of those this module's docstring accepts."""
    if finding.rule in by_migration.get(finding.revision, ()):
        return True
    if finding.table in dropped:
        return True
    if (finding.table, finding.column) == ("alembic_version", "version_num"):
        return finding.rule == "prefer-text-field"
    if finding.rule == "adding-not-nullable-field":
        return "ALTER COLUMN owner_id SET NOT NULL" in finding.statement
    if finding.table and not is_managed(finding.table):
        return True
    table = Base.metadata.tables.get(finding.table)
    column = table.columns.get(finding.column) if table is not None else None
    if table is not None and column is None and finding.rule in COLUMN_TYPE_RULES:
        # a column the model no longer has: a later migration renamed or dropped it (the
        # migration tests hold the migrations to the models), and its new name has its own say
        return finding.column is not None
    if table is None or column is None:
        return False
    if finding.rule == "prefer-text-field":
        return has_length_check(table, column.name)
    if finding.rule == "prefer-bigint-over-int":
        # INTEGER where the field spec says `int`; or in a migration before a later one made
        # it BIGINT (tools.change_resource), which the migration tests hold to the model.
        return type(column.type) in (Integer, BigInteger) or column.name == "version"
    return False


def test_squawk_finds_nothing_but_the_accepted_findings(offline_sql: str) -> None:
    assert "CREATE TABLE" in offline_sql
    by_migration, dropped = accepted_by_their_migrations(), dropped_tables(offline_sql)
    refused = [f for f in squawk(offline_sql) if not accepted(f, by_migration, dropped)]
    assert refused == []


def test_squawk_is_not_blind() -> None:
    findings = squawk("ALTER TABLE t ADD COLUMN c varchar(10);\n")
    assert {"prefer-text-field", "require-lock-timeout"} <= {f.rule for f in findings}


def test_the_offline_sql_bounds_its_waits(offline_sql: str) -> None:
    begin = offline_sql.index("BEGIN;")
    first_statement = offline_sql.index("CREATE TABLE")
    assert re.search(r"SET LOCAL lock_timeout = '\w+';", offline_sql[begin:first_statement])
    assert re.search(r"SET LOCAL statement_timeout = '\w+';", offline_sql[begin:first_statement])


def test_findings_name_their_statement_s_table_and_migration() -> None:
    sql = (
        "-- Running upgrade  -> a1\n\nCREATE TABLE shelves (\n    id bigint\n);\n\n"
        "CREATE INDEX ix_shelves_id ON shelves (id);\n\n"
        "-- Running upgrade a1 -> b2\n\nCREATE TABLE bins (\n    id bigint\n);\n\n"
        "DROP INDEX ix_shelves_id;\n\nDROP TABLE shelves;\n"
    )
    found = {(f.rule, f.table, f.revision) for f in squawk(sql)}
    assert {
        ("ban-drop-table", "shelves", "b2"),
        ("require-concurrent-index-deletion", "shelves", "b2"),
    } <= found


def test_a_type_finding_on_a_column_the_models_no_longer_have_is_accepted() -> None:
    """An INTEGER column a later migration renamed or dropped: nothing is left to change (the
    renamed column is checked under its new name); other findings on it are not waved through."""
    table = next(name for name in Base.metadata.tables if is_managed(name))
    statement = f"ALTER TABLE {table} ADD COLUMN renamed_since INTEGER DEFAULT 0 NOT NULL;"
    finding = Finding("prefer-bigint-over-int", table, "renamed_since", "", statement, "r1")
    assert accepted(finding, {}, ())
    assert not accepted(replace(finding, rule="adding-field-with-default"), {}, ())
    assert not accepted(replace(finding, table="no_such_table"), {}, ())
