"""The migrations' SQL passes squawk, a linter for PostgreSQL migrations, with every rule on.

squawk reads the offline SQL (`alembic upgrade head --sql`), the script a DBA would run. Findings
accepted, each for a reason:
- `prefer-text-field` on `alembic_version.version_num`: Alembic's own table, not ours;
- anything in tables other tools own (`app.db.unmanaged`, e.g. procrastinate's job queue): their
  schema is copied verbatim from the tool's release, and its upgrades come from there;
- `prefer-bigint-over-int` on a column whose field spec says `int`: the user asked for INTEGER;
- `varchar(n)` on a column the model declares as a `str(n)` field (text with a length CHECK),
  and an integer `version`: what the migrations of template versions before 0.3.0 created, and
  applied migrations never change (current ones write text and bigint). `alembic/env.py`
  accepts the same two as equal to the model's types;
- `adding-not-nullable-field` on `owner_id` (the auth option): its migration fills the column
  in every row of an existing table first, an UPDATE that costs more than the scan.
"""

import io
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import CheckConstraint, Integer, Table

import app.models  # noqa: F401  (registers every table on the metadata)
from app.db.base import Base
from app.db.unmanaged import is_managed
from tests.database import alembic_config

OFFLINE_URL = "postgresql+asyncpg://offline@localhost/offline"
# Names that are SQL reserved words (order, user, group, ...) come quoted.
CREATE_TABLE = re.compile(r'^CREATE TABLE "?(\w+)"? \(', re.MULTILINE)


@dataclass(frozen=True)
class Finding:
    rule: str
    table: str
    column: str
    message: str
    statement: str = ""


@pytest.fixture(scope="module")
def offline_sql() -> str:
    """What `alembic upgrade head --sql` prints (run in this process: no database involved)."""
    config = alembic_config()
    config.attributes["database_url"] = OFFLINE_URL
    config.output_buffer = buffer = io.StringIO()
    command.upgrade(config, "head", sql=True)
    return buffer.getvalue()


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
    findings = []
    for found in json.loads(result.stdout or "[]"):
        line = found["line"]
        tables = CREATE_TABLE.findall("\n".join(lines[: line + 1]))
        column = lines[line].split()[0].strip('"') if lines[line].startswith("    ") else ""
        table = tables[-1] if tables else ""
        findings.append(Finding(found["rule_name"], table, column, found["message"], lines[line]))
    return findings


def has_length_check(table: Table, column: str) -> bool:
    """Whether the model declares `column` as a str(n) field: text with a `<column>_len` CHECK."""
    return any(
        isinstance(constraint, CheckConstraint) and str(constraint.name).endswith(f"_{column}_len")
        for constraint in table.constraints
    )


def accepted(finding: Finding) -> bool:
    """Whether the finding is one of those this module's docstring accepts."""
    if (finding.table, finding.column) == ("alembic_version", "version_num"):
        return finding.rule == "prefer-text-field"
    if finding.rule == "adding-not-nullable-field":
        return "ALTER COLUMN owner_id SET NOT NULL" in finding.statement
    if finding.table and not is_managed(finding.table):
        return True
    table = Base.metadata.tables.get(finding.table)
    column = table.columns.get(finding.column) if table is not None else None
    if table is None or column is None:
        return False
    if finding.rule == "prefer-text-field":
        return has_length_check(table, column.name)
    if finding.rule == "prefer-bigint-over-int":
        return type(column.type) is Integer or column.name == "version"
    return False


def test_squawk_finds_nothing_but_the_accepted_findings(offline_sql: str) -> None:
    assert "CREATE TABLE" in offline_sql
    assert [finding for finding in squawk(offline_sql) if not accepted(finding)] == []


def test_squawk_is_not_blind() -> None:
    findings = squawk("ALTER TABLE t ADD COLUMN c varchar(10);\n")
    assert {"prefer-text-field", "require-lock-timeout"} <= {f.rule for f in findings}


def test_the_offline_sql_bounds_its_waits(offline_sql: str) -> None:
    begin = offline_sql.index("BEGIN;")
    first_statement = offline_sql.index("CREATE TABLE")
    assert re.search(r"SET LOCAL lock_timeout = '\w+';", offline_sql[begin:first_statement])
    assert re.search(r"SET LOCAL statement_timeout = '\w+';", offline_sql[begin:first_statement])
