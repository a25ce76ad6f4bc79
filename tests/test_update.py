"""`copier update` from every release converges to a fresh render and keeps users' work; a
conflicting edit is shown, never lost; re-rendering any preset changes nothing."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import VcsRef, run_copy

from tests.support.combinations import Combination, combination_set
from tests.support.environments import Environments
from tests.support.git import GIT_IDENTITY, commit, git
from tests.support.paths import COPIER_YML
from tests.support.postgres import PostgresServer
from tests.support.project import Project, start
from tests.support.pythons import python_for
from tests.support.releases import (
    Release,
    manual_steps,
    releases,
    upcoming_version,
    versioned_clone,
)
from tests.support.updates import (
    conflicts,
    owned_paths,
    passes_its_checks,
    recorded_answers,
    recorded_commit,
    target_ref,
    update,
)

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
# A section users append to their README, the commonest edit: the README's last line never changes
# and nothing is added after it (docs/updating.md, "Your README"), so it merges cleanly.
OUR_NOTES = "\n## Our notes\n\nDeploys go out on Tuesdays; ask #payments first.\n"


ADDED_RESOURCE = ("note", "body:text pinned:bool=false")
OWNED: list[str] = yaml.safe_load(COPIER_YML.read_text())["_skip_if_exists"]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return versioned_clone(tmp_path_factory.mktemp("update") / "template")


def earlier_releases() -> list[Release]:
    """The releases before the working tree's version, newest first."""
    earlier = releases() if upcoming_version() else releases()[1:]
    if not earlier:
        pytest.fail("CHANGELOG.md records no earlier release to update from")
    return earlier


# The whole suite of an updated project with users' edits runs for the last two releases (most
# users are one or two behind); convergence to a fresh render is checked from every release.
UPDATE_SOURCES = earlier_releases()[:2]
CONVERGING_PRESETS = ("default", "minimal")


def create(template: Path, destination: Path, ref: str, **answers: Any) -> Project:
    return start(template, destination, ANSWERS | answers, ref)


def comparable(project: Project) -> dict[Path, str]:
    """The project's files, but the answers file's `_commit` line (the version differs)."""
    files = project.text_files()
    answers = Path(".copier-answers.yml")
    files[answers] = "".join(
        line for line in files[answers].splitlines(keepends=True) if not line.startswith("_commit:")
    )
    return files


@pytest.mark.parametrize("preset", CONVERGING_PRESETS)
@pytest.mark.parametrize("release", earlier_releases(), ids=lambda release: release.version)
def test_update_from_a_release_converges_to_a_fresh_render(
    template: Path, tmp_path: Path, release: Release, preset: str
) -> None:
    """Updating a project made from `release` gives what rendering this version with the same
    answers gives, but for the files the project owns once made (`_skip_if_exists`: .env and
    migrations), which the update leaves as they were, and the notes appended to its README,
    which stay below the template's text."""
    data = combination_set().named(preset).copier_data()
    project = start(template, tmp_path / "project", data, release.version)
    readme = project.path / "README.md"
    # 0.1.0 without GitHub Actions ended its README on a line 0.2.0 changed (docs/updating.md).
    notes = "" if (release.version, data.get("github_actions")) == ("0.1.0", False) else OUR_NOTES
    readme.write_text(readme.read_text() + notes)
    commit(project.path, "Our notes")
    before = project.text_files()

    update(project, target_ref())

    assert conflicts(project) == []
    answers = {key: value for key, value in recorded_answers(project).items() if key[0] != "_"}
    run_copy(str(template), tmp_path / "fresh", data=answers, vcs_ref=target_ref(), quiet=True)
    assert readme.read_text().endswith(notes)
    readme.write_text(readme.read_text().removesuffix(notes))  # compared with the fresh render
    updated, fresh = comparable(project), comparable(Project(tmp_path / "fresh"))
    owned = owned_paths(project.path, OWNED) | owned_paths(tmp_path / "fresh", OWNED)
    assert {path: updated.get(path) for path in owned} == {path: before.get(path) for path in owned}
    compared = (set(updated) | set(fresh)) - owned
    assert sorted(str(path) for path in compared if updated.get(path) != fresh.get(path)) == []


def make_typical_user_edits(project: Project) -> None:
    """An own module with its test (and API contract, where projects record them), a README
    section, a setting in .env, a deleted optional file, and a resource added with the release's
    own command when it has one."""
    path = project.path
    (path / "app/api/v1/routes/stats.py").write_text(NEW_ENDPOINT)
    (path / "tests/api/test_stats.py").write_text(NEW_ENDPOINT_TEST)
    if (contracts := path / "tests/api/contracts").is_dir():
        (contracts / "stats.json").write_text(json.dumps(NEW_ENDPOINT_CONTRACT))
    with (path / ".env").open("a") as env:
        env.write("REQUIRE_IF_MATCH=true\n")
    readme = (path / "README.md").read_text().splitlines(keepends=True)
    readme.insert(1, f"\n{OWN_PARAGRAPH}\n")
    (path / "README.md").write_text("".join(readme) + OUR_NOTES)
    (path / "compose.yaml").unlink()
    commit(path, "Our own changes")
    if (path / "tools/add_resource.py").is_file():
        name, fields = ADDED_RESOURCE
        project.uv_run("python", "-m", "tools.add_resource", name, "--fields", fields)
        commit(path, f"Add the {name} resource")


@pytest.mark.slow
@pytest.mark.parametrize("previous", UPDATE_SOURCES, ids=lambda release: release.version)
def test_update_from_an_earlier_release_keeps_user_work(
    template: Path,
    tmp_path: Path,
    postgres: PostgresServer,
    environments: Environments,
    previous: Release,
) -> None:
    project = create(template, tmp_path / "project", previous.version)
    project = environments.sync(project, python_for("3.13"))
    make_typical_user_edits(project)
    kept = {
        path: project.text_files()[path] for path in project.text_files() if "note" in str(path)
    }
    env_before = (project.path / ".env").read_text()

    update(project, target_ref())

    assert conflicts(project) == []
    assert recorded_commit(project) != previous.version
    assert recorded_commit(project).startswith(target_ref() if upcoming_version() else "")
    assert (project.path / "app/api/v1/routes/stats.py").read_text() == NEW_ENDPOINT
    assert OWN_PARAGRAPH in (project.path / "README.md").read_text()
    assert (project.path / "README.md").read_text().endswith(OUR_NOTES)
    assert (project.path / ".env").read_text() == env_before
    assert not (project.path / "compose.yaml").exists()
    assert {path: project.text_files().get(path) for path in kept} == kept
    project = environments.sync(project, python_for("3.13"))
    commit(project.path, "Update from the template")  # as users do before the manual steps
    for step in manual_steps(after=previous.version, up_to=upcoming_version()):
        project.run("sh", "-c", step, env=GIT_IDENTITY)  # steps may commit, as users do
    passes_its_checks(project, postgres, f"update_from_{previous.version.replace('.', '_')}")


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


@pytest.mark.parametrize(
    "preset", combination_set().presets, ids=lambda combination: combination.name
)
def test_re_rendering_a_preset_with_the_same_answers_changes_nothing(
    template: Path, tmp_path: Path, preset: Combination
) -> None:
    project = start(template, tmp_path / "project", preset.copier_data(), target_ref())
    update(project, VcsRef.CURRENT)
    assert git("status", "--porcelain", "--untracked-files=all", cwd=project.path) == ""


def test_changing_the_python_version_on_update(template: Path, tmp_path: Path) -> None:
    project = create(template, tmp_path / "project", target_ref())
    update(project, VcsRef.CURRENT, python_version="3.12")
    assert conflicts(project) == []
    assert (project.path / ".python-version").read_text() == "3.12\n"
    assert 'requires-python = ">=3.12"' in (project.path / "pyproject.toml").read_text()


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
