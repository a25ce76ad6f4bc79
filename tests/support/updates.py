"""`copier update` as the tests run it, and what it may leave behind."""

from pathlib import Path
from typing import Any

import yaml
from copier import VcsRef, run_update

from tests.support.git import git
from tests.support.postgres import PostgresServer
from tests.support.project import Project
from tests.support.releases import upcoming_version


def target_ref() -> str:
    """The version updates go to: the working tree, tagged with the upcoming version if any."""
    return upcoming_version() or "HEAD"


def update(
    project: Project, ref: str | VcsRef, answers_file: str | None = None, **answers: Any
) -> None:
    """`copier update` of the service, or of the added resource whose answers are in
    `answers_file`."""
    run_update(
        project.path,
        answers_file=answers_file,
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


def recorded_answers(project: Project) -> dict[str, Any]:
    answers: dict[str, Any] = yaml.safe_load((project.path / ".copier-answers.yml").read_text())
    return answers


def recorded_commit(project: Project) -> str:
    return str(recorded_answers(project)["_commit"])


def passes_its_checks(project: Project, postgres: PostgresServer, database: str) -> None:
    """The project's own CI: lint, format, types, its suite on a new database named `database`,
    and the migrations from the command line on another."""
    project.uv_run("ruff", "check", ".")
    project.uv_run("ruff", "format", "--check", ".")
    project.uv_run("mypy")
    url = postgres.create_database(database)
    project.uv_run("pytest", "-q", "-p", "no:cacheprovider", env={"TEST_DATABASE_URL": url})
    cli = {"DATABASE_URL": postgres.create_database(f"{database}_cli")}
    for command in (("upgrade", "head"), ("check",), ("downgrade", "base"), ("upgrade", "head")):
        project.uv_run("alembic", *command, env=cli)


def owned_paths(project_path: Path, patterns: list[str]) -> set[Path]:
    """Files matching copier.yml's `_skip_if_exists`: the project owns them once created."""
    return {
        path.relative_to(project_path)
        for pattern in patterns
        for path in project_path.glob(pattern)
        if path.is_file()
    }
