"""The commonest REST nouns, with fields under everyday names, give a project that passes
`ruff check`, `ruff format --check` and `mypy --strict`, and whose `app.main` imports and builds
its app, with auth and without; a sample also passes its whole suite against PostgreSQL. No
exclusion of copier.yml takes a resource's file, and a name the service's own files take is
refused, whatever the name.

The renders run in process (tests/support/resources.py): per auth setting, one service with every
noun added to it, checked by one ruff, one mypy (sharing the environment's cache) and one import.
A failure prints the answers that reproduce it. tests/test_drawn_names.py draws names and fields
from the grammar instead.
"""

import datetime
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from copier import VcsRef

from tests.support.environments import Environments
from tests.support.exclusions import (
    excluded_resource_files,
    names_in_resource_folders,
    unrefused_collisions,
)
from tests.support.git import commit
from tests.support.paths import TEMPLATE_ROOT
from tests.support.postgres import PostgresServer
from tests.support.project import Project, start
from tests.support.pythons import python_for
from tests.support.releases import versioned_clone
from tests.support.resources import (
    Answers,
    add_resource,
    add_to_copy,
    compiled_once,
    render_service,
    reproduce,
    ruff_failures,
)
from tests.support.updates import update

# app.main builds its app without connecting: the URL only has to be one.
UNUSED_DATABASE = "postgresql+asyncpg://names:unused@127.0.0.1:9/names"

# The commonest REST resource nouns (the template's own example, task, is the service's).
COMMON_NOUNS = [
    "account", "address", "article", "author", "booking", "category", "channel", "client",
    "comment", "company", "contact", "contract", "coupon", "course", "customer", "device",
    "document", "employee", "event", "file", "group", "image", "invoice", "item", "job",
    "location", "member", "message", "note", "notification", "order", "organization", "page",
    "payment", "permission", "photo", "plan", "post", "product", "profile", "project",
    "property", "question", "report", "review", "role", "session", "setting", "shipment",
    "status", "subscription", "tag", "team", "ticket", "token", "transaction", "user", "vendor",
    "version", "webhook",
]  # fmt: skip
# Every field kind, under everyday names that Python, SQL, pydantic or SQLAlchemy also use (json,
# from, validate and metadata are attributes json_, from_, validate_ and metadata_ in Python);
# `user` references the service's own resource, and `linked` links to it (many-to-many).
EVERYDAY_FIELDS = (
    "name:str(100) status:str(20)=open type:text? date:date? json:json? select:bool=false "
    "order:int>=0 user:ref({referenced}) amount:decimal(10,2)>=0 ratio:float? big:bigint? "
    "at:datetime=now key:uuid=random from:date? validate:int>=0 metadata:json? copy:str(30)? "
    "linked:refs({referenced})"
)


def noun_answers(noun: str, referenced: str = "task") -> Answers:
    return {"resource": noun, "resource_fields": EVERYDAY_FIELDS.format(referenced=referenced)}


# The service's own resource per auth setting: without auth, `user` (the second commonest noun),
# which auth's modules once took the files of; with auth, the default (auth has its own users).
SERVICES = {
    "none": {"resource": "user", "resource_plural": "users"},
    "jwt": {"auth": "jwt", "auth_api_keys": "true", "auth_registration": "true"},
}


# ---- The tests. ----


@pytest.mark.slow
@pytest.mark.parametrize("auth", SERVICES)
def test_every_common_noun_passes_ruff_mypy_and_builds_the_app(
    template_files: Path, tmp_path: Path, environments: Environments, auth: str
) -> None:
    project = render_service(
        template_files, tmp_path / "service", {"project_name": "Names", **SERVICES[auth]}
    )
    service_resource = SERVICES[auth].get("resource", "task")
    added, refused = [], {}
    with compiled_once():
        for index, noun in enumerate(n for n in COMMON_NOUNS if n != service_resource):
            answers = noun_answers(noun, referenced=service_resource)
            if auth == "jwt":  # owned and not, as `tools.add_resource --owned` chooses
                answers["owned"] = "true" if index % 2 else "false"
            try:
                add_resource(template_files, project, answers)
            except ValueError as error:
                refused[noun] = str(error)
            else:
                added.append(answers)
    # With auth, only the nouns auth's own modules and tables take are refused, with a reason.
    assert sorted(refused) == ([] if auth == "none" else ["token", "user"])
    assert all("With auth=jwt the service has" in message for message in refused.values())
    failures = ruff_failures({project: added[0]})
    assert not failures, "\n".join(failures)
    synced = environments.sync(Project(project), python_for("3.13"))
    mypy = subprocess.run(
        ["uv", "run", "--no-sync", "mypy"],
        cwd=project,
        env=synced.environ,
        capture_output=True,
        text=True,
    )
    assert mypy.returncode == 0, "\n".join(map(reproduce, added)) + "\n" + mypy.stdout
    # Every resource's routes, services, repositories, schemas and models, imported by app.main.
    build = "from app.main import create_app; create_app()"
    synced.uv_run("python", "-c", build, env={"DATABASE_URL": UNUSED_DATABASE})


def test_no_exclusion_takes_a_file_a_resource_has() -> None:
    """copier.yml's `_exclude` is keyed on paths no resource can have: a resource named like one
    of auth's modules (`user` without auth) keeps every file, in every context Copier renders
    the exclusions in (a new project, an update re-rendering an old version, a resource added)."""
    names = names_in_resource_folders() | set(COMMON_NOUNS) | set(IMPORTED_NAMES)
    assert list(excluded_resource_files(names)) == []


def test_a_name_the_services_own_files_take_is_refused() -> None:
    """Where the service has a file at one of a resource's paths (auth's app/models/user.py when
    auth is on, app/schemas/base.py always), the questions refuse the name."""
    names = names_in_resource_folders() | set(COMMON_NOUNS) | set(IMPORTED_NAMES)
    assert list(unrefused_collisions(names)) == []


def head(project: Project) -> str:
    """The project's Alembic head, as the registry records it (`uv run alembic heads`)."""
    registry = yaml.safe_load((project.path / ".copier-resources.yml").read_text())
    return str(registry["migration_head"])


def test_turning_auth_on_is_refused_while_an_added_resource_takes_an_auth_name(
    tmp_path: Path,
) -> None:
    """A service without auth may add a resource `user`; turning auth on afterwards would give
    auth's users the resource's files, so the update is refused, naming the resource."""
    template = versioned_clone(tmp_path / "template")
    project = start(template, tmp_path / "service", {"project_name": "Clash"}, "HEAD")
    add_resource(template, project.path, {"resource": "user", "resource_fields": "name:str(50)"})
    commit(project.path, "Add the user resource")
    with pytest.raises(ValueError, match="has a resource 'user' \\(plural 'users'\\)"):
        update(project, VcsRef.CURRENT, auth="jwt", auth_after_revision=head(project))
    assert (project.path / "app/models/user.py").read_text().count("name") >= 1  # untouched


# Resources whose class takes the name of something their own modules import (sqlalchemy's Text,
# Mapped, Table and Column, the base classes Entity, Repository and ResourceService, a link's
# class Link), or that routes and tests import beside the resource's classes (fastapi's Request,
# Response, Path and Query; the Id type).
IMPORTED_NAMES = [
    "text", "mapped", "table", "column", "entity", "repository", "resource", "link",
    "request", "response", "path", "query", "id",
]  # fmt: skip


@pytest.mark.slow
def test_resources_named_like_what_their_modules_import_pass_mypy(
    template_files: Path, default_service: Path, tmp_path: Path, environments: Environments
) -> None:
    project = tmp_path / "imported"
    shutil.copytree(default_service, project)
    added = [noun_answers(name) for name in IMPORTED_NAMES]
    with compiled_once():
        for answers in added:
            add_resource(template_files, project, answers)
    failures = ruff_failures({project: added[0]})
    assert not failures, "\n".join(failures)
    synced = environments.sync(Project(project), python_for("3.13"))
    command = ["uv", "run", "--no-sync", "mypy"]
    mypy = subprocess.run(command, cwd=project, env=synced.environ, capture_output=True, text=True)
    assert mypy.returncode == 0, "\n".join(map(reproduce, added)) + "\n" + mypy.stdout


def rotating(names: list[str], count: int) -> list[str]:
    """`count` names, different each day, so that successive CI runs cover the whole list."""
    start = datetime.date.today().toordinal() * count % len(names)
    return (names + names)[start : start + count]


@pytest.mark.slow
def test_a_sample_of_nouns_passes_mypy_and_its_whole_suite(
    template_files: Path, default_service: Path, tmp_path: Path, postgres: PostgresServer
) -> None:
    for noun in rotating(COMMON_NOUNS, 2):
        with compiled_once():
            path = add_to_copy(template_files, default_service, tmp_path / noun, noun_answers(noun))
        project = Project(path)
        project.sync(python_for("3.13"))
        project.uv_run("mypy")
        database = postgres.create_database(f"names_{noun}")
        env = {"TEST_DATABASE_URL": database}
        project.uv_run("pytest", "-q", "-p", "no:cacheprovider", env=env)


def test_the_templates_own_api_tests_leave_tests_api_to_the_resources() -> None:
    """tests/api/test_<plural>.py may take any plural: the template's own API tests live in
    tests/api/shared/, so tests/api/ holds nothing a plural could replace."""
    entries = {path.name for path in (TEMPLATE_ROOT / "template/tests/api").iterdir()}
    assert entries == {"__init__.py", "shared", "contracts", "test_{{ resource_plural }}.py.jinja"}


def test_no_more_than_fifteen_names_are_reserved_besides_keywords() -> None:
    names = (TEMPLATE_ROOT / "includes/names.jinja").read_text()
    found = re.search(r"set RESERVED_NAMES = \[(.*?)\]", names, re.DOTALL)
    assert found
    reserved = re.findall(r'"(\w+)"', found.group(1))
    assert 0 < len(reserved) <= 15, reserved
    for name in reserved:  # each with the reason in the comment above the list
        assert re.search(rf"- [\w, ]*\b{name}\b[\w, ]*:", names), name
