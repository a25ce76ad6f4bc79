"""An existing project, with a resource of its own and rows in its database, turns each option on
and off with `copier update --data`: the option's files appear and disappear, Alembic keeps a
single head (an option's migration chains after the project's own), the rows stay, and the
project passes its checks each time. The options are listed in tests/support/options.py; those
that add deployment files, not code, are turned on and off together."""

from pathlib import Path
from typing import Any

import pytest
from copier import VcsRef

from tests.support.environments import Environments
from tests.support.git import commit
from tests.support.options import Toggle, toggle_runs
from tests.support.postgres import PostgresServer
from tests.support.project import start
from tests.support.pythons import python_for
from tests.support.questions import Answer
from tests.support.releases import versioned_clone
from tests.support.updates import (
    conflicts,
    passes_its_checks,
    recorded_answers,
    update,
)

pytestmark = pytest.mark.slow

RESOURCE, FIELDS = "note", "body:text pinned:bool=false"
ROWS = (  # a row in the template's resource and one in the project's own: (insert, read back)
    (
        "INSERT INTO tasks (title, done, version) VALUES ('kept', false, 1)",
        "SELECT title FROM tasks",
    ),
    (
        "INSERT INTO notes (body, pinned, version) VALUES ('kept', true, 1)",
        "SELECT body FROM notes",
    ),
)
# The same task where auth is on from the start: tasks then belong to a user.
OWNED_TASK = (
    "WITH owner AS (INSERT INTO users (email, password_hash, version) "
    "VALUES ('rows@example.com', '!', 1) RETURNING id) "
    "INSERT INTO tasks (title, done, version, owner_id) SELECT 'kept', false, 1, id FROM owner"
)


def copier_answer(value: Answer) -> Any:
    """`value` as Copier takes it: a multiselect's tuple as a list."""
    return list(value) if isinstance(value, tuple) else value


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return versioned_clone(tmp_path_factory.mktemp("toggles") / "template")


@pytest.mark.parametrize(
    "toggles", toggle_runs(), ids=lambda toggles: "+".join(t.option for t in toggles)
)
def test_options_turned_on_then_off_on_update(
    template: Path,
    tmp_path: Path,
    postgres: PostgresServer,
    environments: Environments,
    toggles: tuple[Toggle, ...],
) -> None:
    name = "_".join(toggle.option for toggle in toggles)
    requires = {key: value for toggle in toggles for key, value in toggle.requires}
    off = {toggle.option: copier_answer(toggle.off) for toggle in toggles}
    project = start(
        template, tmp_path / "project", {"project_name": f"Toggle {name}"} | requires | off, None
    )
    python = python_for(recorded_answers(project)["python_version"])
    project = environments.sync(project, python)
    project.uv_run("python", "-m", "tools.add_resource", RESOURCE, "--fields", FIELDS)
    commit(project.path, f"Add the {RESOURCE} resource")
    data = {"DATABASE_URL": postgres.create_database(f"toggle_{name}_data")}
    project.uv_run("alembic", "upgrade", "head", env=data)
    for insert, _ in ROWS:
        owned = requires.get("auth") == "jwt" and insert.startswith("INSERT INTO tasks")
        postgres.query(data["DATABASE_URL"], OWNED_TASK if owned else insert)

    for on in (True, False) if all(toggle.can_turn_off for toggle in toggles) else (True,):
        answers = {t.option: copier_answer(t.on if on else t.off) for t in toggles}
        for toggle in toggles:
            if on and toggle.head_question:
                answers[toggle.head_question] = project.uv_run("alembic", "heads").split()[0]
        update(project, VcsRef.CURRENT, **answers)
        assert conflicts(project) == []
        if on and any(toggle.update_resources for toggle in toggles):
            commit(project.path, f"{name}: on")
            for added in sorted(project.path.glob(".copier-answers.resource-*.yml")):
                update(project, VcsRef.CURRENT, answers_file=added.name)
            assert conflicts(project) == []
        files = [path for toggle in toggles for path in toggle.files]
        assert [path for path in files if (project.path / path).exists() != on] == []
        for command in () if on else [c for toggle in toggles for c in toggle.after_off]:
            project.run(*command)
        project = environments.sync(project, python)
        assert project.uv_run("alembic", "heads").count("(head)") == 1
        project.uv_run("alembic", "upgrade", "head", env=data)
        for _, read in ROWS:
            assert postgres.query(data["DATABASE_URL"], read) == "kept"
        for query, output in [row for t in toggles for row in t.rows_after_on] if on else []:
            assert postgres.query(data["DATABASE_URL"], query) == output
        passes_its_checks(project, postgres, f"toggle_{name}_{'on' if on else 'off'}")
        commit(project.path, f"{name}: {'on' if on else 'off'}")
