"""`copier update` keeps users' work: from the previous release to this working tree, across a
conflicting edit, without changes, and when an answer changes."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import VcsRef, run_update

from tests.conftest import PostgresServer, python_for
from tests.git import commit, git
from tests.project import Project, start
from tests.releases import Release, manual_steps, releases, upcoming_version, versioned_clone

ANSWERS = {"project_name": "Update Check"}

NEW_ENDPOINT = '''"""Numbers about the service, added by its developers."""

from fastapi import APIRouter
from pydantic import BaseModel

router = APIRouter(prefix="/stats", tags=["stats"])


class Stats(BaseModel):
    uptime_seconds: int


@router.get("", response_model=Stats)
async def read_stats() -> Stats:
    return Stats(uptime_seconds=42)
'''
NEW_ENDPOINT_TEST = """from httpx import AsyncClient


async def test_stats(client: AsyncClient) -> None:
    response = await client.get("/api/v1/stats")
    assert response.json() == {"uptime_seconds": 42}
"""
# What the developers record for their endpoint in projects that have API contracts (0.2.0 on).
NEW_ENDPOINT_CONTRACT = {
    "models": {"Stats": {"uptime_seconds": "integer"}},
    "operations": {
        "GET /api/v1/stats": {
            "body": None,
            "parameters": [],
            "returns": "Stats",
            "statuses": ["200"],
        },
    },
}
OWN_PARAGRAPH = "Owned by the payments team; page them before changing the schema."


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return versioned_clone(tmp_path_factory.mktemp("update") / "template")


def earlier_releases() -> list[Release]:
    """The releases before the working tree's version, newest first."""
    earlier = releases() if upcoming_version() else releases()[1:]
    if not earlier:
        pytest.fail("CHANGELOG.md records no earlier release to update from")
    return earlier


# Projects are updated from the last two releases: most users are one or two behind.
UPDATE_SOURCES = earlier_releases()[:2]


def target_ref() -> str:
    return upcoming_version() or "HEAD"


def create(template: Path, destination: Path, ref: str, **answers: Any) -> Project:
    return start(template, destination, ANSWERS | answers, ref)


def update(project: Project, ref: str | VcsRef, **answers: Any) -> None:
    run_update(
        project.path,
        data=answers,
        vcs_ref=ref,
        defaults=True,
        overwrite=True,
        unsafe=True,  # template migrations, when a release has them, need --trust
        quiet=True,
    )


def conflicts(project: Project) -> list[str]:
    """Everything `copier update` may leave behind unresolved (it exits 0 even then)."""
    found = [
        f"{path}: conflict markers"
        for path, text in project.text_files().items()
        if any(line.startswith(("<<<<<<< ", ">>>>>>> ")) for line in text.splitlines())
    ]
    found += [f"{path}: rejected hunks" for path in project.path.rglob("*.rej")]
    unmerged = git("diff", "--name-only", "--diff-filter=U", cwd=project.path)
    found += [f"{path}: unmerged in git" for path in unmerged.splitlines()]
    return found


def recorded_commit(project: Project) -> str:
    answers = yaml.safe_load((project.path / ".copier-answers.yml").read_text())
    return str(answers["_commit"])


def passes_its_checks(project: Project, postgres: PostgresServer) -> None:
    project.uv_run("ruff", "check", ".")
    project.uv_run("ruff", "format", "--check", ".")
    project.uv_run("mypy")
    database = postgres.create_database(f"update_{project.path.name}")
    project.uv_run("pytest", "-q", "-p", "no:cacheprovider", env={"TEST_DATABASE_URL": database})


def make_typical_user_edits(project: Project) -> None:
    path = project.path
    (path / "app/api/v1/routes/stats.py").write_text(NEW_ENDPOINT)
    (path / "tests/api/test_stats.py").write_text(NEW_ENDPOINT_TEST)
    if (contracts := path / "tests/api/contracts").is_dir():
        (contracts / "stats.json").write_text(json.dumps(NEW_ENDPOINT_CONTRACT))
    with (path / ".env").open("a") as env:
        env.write("REQUIRE_IF_MATCH=true\n")
    readme = (path / "README.md").read_text().splitlines(keepends=True)
    readme.insert(1, f"\n{OWN_PARAGRAPH}\n")
    (path / "README.md").write_text("".join(readme))
    (path / "compose.yaml").unlink()
    commit(path, "Our own changes")


@pytest.mark.slow
@pytest.mark.parametrize("previous", UPDATE_SOURCES, ids=lambda release: release.version)
def test_update_from_an_earlier_release_keeps_user_work(
    template: Path, tmp_path: Path, postgres: PostgresServer, previous: Release
) -> None:
    project = create(template, tmp_path / "project", previous.version)
    make_typical_user_edits(project)
    env_before = (project.path / ".env").read_text()

    update(project, target_ref())

    assert conflicts(project) == []
    assert recorded_commit(project) != previous.version
    assert recorded_commit(project).startswith(target_ref() if upcoming_version() else "")
    assert (project.path / "app/api/v1/routes/stats.py").read_text() == NEW_ENDPOINT
    assert OWN_PARAGRAPH in (project.path / "README.md").read_text()
    assert (project.path / ".env").read_text() == env_before
    assert not (project.path / "compose.yaml").exists()
    project.sync(python_for("3.13"))
    for step in manual_steps(after=previous.version, up_to=upcoming_version()):
        project.run("sh", "-c", step)
    passes_its_checks(project, postgres)


def test_a_conflicting_edit_is_shown_inline_never_overwritten(tmp_path: Path) -> None:
    template = versioned_clone(tmp_path / "template")  # this test adds a release of its own
    readme = template / "template" / "README.md.jinja"
    lines = readme.read_text().splitlines(keepends=True)
    assert lines[2] == "{{ description }}\n"
    lines[2] = "{{ description }} Now with a template-side edit.\n"
    readme.write_text("".join(lines))
    git("commit", "--quiet", "--all", "-m", "Edit the README intro", cwd=template)
    git("tag", "999.0.0", cwd=template)

    project = create(template, tmp_path / "project", "HEAD~1")
    readme_path = project.path / "README.md"
    user_lines = readme_path.read_text().splitlines(keepends=True)
    user_lines[2] = "Our own description of the service.\n"
    readme_path.write_text("".join(user_lines))
    commit(project.path, "Describe the service our way")

    update(project, "999.0.0")

    text = readme_path.read_text()
    assert "<<<<<<< " in text
    assert ">>>>>>> " in text
    assert "Our own description of the service." in text
    assert "Now with a template-side edit." in text
    assert git("diff", "--name-only", "--diff-filter=U", cwd=project.path) == "README.md"


def test_re_rendering_with_the_same_answers_changes_nothing(template: Path, tmp_path: Path) -> None:
    project = create(template, tmp_path / "project", target_ref())
    update(project, VcsRef.CURRENT)
    assert git("status", "--porcelain", "--untracked-files=all", cwd=project.path) == ""


@pytest.mark.slow
def test_changing_answers_adds_and_removes_their_files(
    template: Path, tmp_path: Path, postgres: PostgresServer
) -> None:
    project = create(template, tmp_path / "project", target_ref())
    update(project, VcsRef.CURRENT, use_docker=False, github_actions=False, python_version="3.12")

    assert conflicts(project) == []
    for path in ("Dockerfile", "compose.yaml", ".dockerignore", ".github"):
        assert not (project.path / path).exists(), path
    assert (project.path / ".python-version").read_text() == "3.12\n"
    project.sync(python_for("3.12"))
    passes_its_checks(project, postgres)

    commit(project.path, "Without Docker and GitHub Actions")
    update(project, VcsRef.CURRENT, use_docker=True)
    assert (project.path / "Dockerfile").is_file()


def psql(postgres: PostgresServer, database_url: str, statement: str) -> str:
    """Run `statement` on the database at `database_url`; its rows, unaligned."""
    command = [str(postgres.psql), database_url.replace("+asyncpg", ""), "-At", "-c", statement]
    result = subprocess.run(command, check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.slow
def test_turning_observability_on_keeps_the_data_and_passes_every_check(
    template: Path, tmp_path: Path, postgres: PostgresServer
) -> None:
    previous = UPDATE_SOURCES[0]
    project = create(template, tmp_path / "project", previous.version)
    project.sync(python_for("3.13"))
    database = postgres.create_database("update_observability")
    project.uv_run("alembic", "upgrade", "head", env={"DATABASE_URL": database})
    psql(postgres, database, "INSERT INTO tasks (title, done, version) VALUES ('kept', true, 1)")
    commit(project.path, "Lock the dependencies")  # uv sync wrote uv.lock

    update(project, target_ref(), observability=["otel", "prometheus"])

    assert conflicts(project) == []
    answers = yaml.safe_load((project.path / ".copier-answers.yml").read_text())
    assert answers["observability"] == ["otel", "prometheus"]
    for path in ("app/core/telemetry.py", "app/api/metrics.py", "tests/observability"):
        assert (project.path / path).exists(), path
    project.sync(python_for("3.13"))
    for step in manual_steps(after=previous.version, up_to=upcoming_version()):
        project.run("sh", "-c", step)
    project.uv_run("alembic", "upgrade", "head", env={"DATABASE_URL": database})
    assert psql(postgres, database, "SELECT title FROM tasks") == "kept"
    passes_its_checks(project, postgres)

    commit(project.path, "With observability")
    update(project, VcsRef.CURRENT, observability=[])
    assert not (project.path / "app/core/telemetry.py").exists()
    assert not (project.path / "tests/observability").exists()
    assert "opentelemetry" not in (project.path / "pyproject.toml").read_text()


def test_check_update_reports_the_newer_release(template: Path, tmp_path: Path) -> None:
    previous = earlier_releases()[0]
    project = create(template, tmp_path / "project", previous.version)
    output = subprocess.run(
        [sys.executable, "-m", "copier", "check-update", "--output-format", "json"],
        cwd=project.path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    report = json.loads(output)
    assert report["current_version"] == previous.version
    assert report["update_available"] is True
    assert report["latest_version"] == (upcoming_version() or releases()[0].version)
