"""docs/architecture.md "Where a new field goes", followed on a fresh render: every line the test
adds is shown in the guide as written, and the project then passes all its checks."""

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.paths import TEMPLATE_ROOT
from tests.support.postgres import PostgresServer
from tests.support.project import Project, start
from tests.support.pythons import python_for

GUIDE = (TEMPLATE_ROOT / "docs" / "architecture.md").read_text()


@dataclass(frozen=True)
class Edit:
    """One line the guide tells the developer to add, below an existing line of a file."""

    path: str
    below: str  # the whole existing line, without its newline
    line: str
    imports: tuple[str, ...] = ()


EDITS = [
    Edit(
        "app/models/task.py",
        "    done: Mapped[bool] = mapped_column("
        'Boolean(), nullable=False, server_default=text("false"))',
        "    due: Mapped[date | None] = mapped_column(Date(), nullable=True)",
        ("from datetime import date", "from sqlalchemy import Date"),
    ),
    Edit(
        "app/schemas/task.py",
        "    done: bool = False",
        "    due: IsoDate | None = None  # in TaskCreate",
        ("from datetime import date", "from app.schemas.base import IsoDate"),
    ),
    Edit(
        "app/schemas/task.py",
        "    done: bool | MISSING = MISSING",
        "    due: IsoDate | MISSING | None = MISSING  # in TaskUpdate",
    ),
    Edit("app/schemas/task.py", "    done: bool", "    due: date | None  # in TaskRead"),
    Edit(
        "tests/factories/task.py",
        '        "done": i % 2 == 0,',
        '        "due": (date(2026, 1, 1) + timedelta(days=i)).isoformat(),',
        ("from datetime import date, timedelta",),
    ),
]
TIDY = "uv run ruff check --fix . && uv run ruff format ."
MIGRATION = 'uv run alembic revision --autogenerate -m "add due to tasks"'
CONTRACT = "UPDATE_CONTRACTS=1 uv run pytest tests/api/shared/test_contract.py"
ADDED_COLUMN = re.compile(
    r"""op\.add_column\(\s*["']tasks["'],\s*"""
    r"""sa\.Column\(["']due["'], sa\.Date\(\), nullable=True\)"""
)


def apply(project: Project, edit: Edit) -> None:
    path = project.path / edit.path
    lines = path.read_text().splitlines()
    assert lines.count(edit.below) == 1, f"{edit.path} has no single line {edit.below!r}"
    lines.insert(lines.index(edit.below) + 1, edit.line)
    lines[1:1] = ["", *edit.imports]  # below the module docstring; ruff sorts them
    path.write_text("\n".join(lines) + "\n")


def test_the_guide_shows_every_step_the_test_takes() -> None:
    for edit in EDITS:
        assert edit.line.strip() in GUIDE, edit.line
    for command in (TIDY, MIGRATION, CONTRACT):
        assert command in GUIDE, command


@pytest.mark.slow
def test_a_field_added_as_the_guide_says_passes_every_check(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    project = start(TEMPLATE_ROOT, tmp_path / "project", {"project_name": "Guide"}, ref=None)
    project.sync(python_for("3.13"))
    for edit in EDITS:
        apply(project, edit)
    project.run("sh", "-c", TIDY)

    migrated = {"DATABASE_URL": postgres.create_database("field_guide_dev")}
    project.uv_run("alembic", "upgrade", "head", env=migrated)
    project.run("sh", "-c", MIGRATION, env=migrated)
    (migration,) = (project.path / "alembic/versions").glob("*_add_due_to_tasks.py")
    assert ADDED_COLUMN.search(migration.read_text()), migration.read_text()

    tests = {"TEST_DATABASE_URL": postgres.create_database("field_guide_test")}
    project.run("sh", "-c", CONTRACT, env=tests)
    contract = (project.path / "tests/api/contracts/tasks.json").read_text()
    assert '"due?": "string(date)|null"' in contract

    project.uv_run("ruff", "check", ".")
    project.uv_run("ruff", "format", "--check", ".")
    project.uv_run("mypy")
    project.uv_run("pytest", "-q", "-p", "no:cacheprovider", env=tests)
