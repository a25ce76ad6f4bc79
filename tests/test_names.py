"""The commonest REST nouns, with fields under everyday names, give a project that passes
`ruff check` and `ruff format --check`; a sample also passes `mypy` and its whole suite against
PostgreSQL.

The renders run in process (tests/support/resources.py), each a resource added beside one
service rendered once; one ruff call checks them all. A failure prints the answers that
reproduce it. tests/test_drawn_names.py draws names and fields from the grammar instead.
"""

import datetime
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.environments import Environments
from tests.support.paths import TEMPLATE_ROOT
from tests.support.postgres import PostgresServer
from tests.support.project import Project
from tests.support.pythons import python_for
from tests.support.resources import (
    Answers,
    add_resource,
    add_to_copy,
    compiled_once,
    reproduce,
    ruff_failures,
)

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
# from, validate and metadata are attributes json_, from_, validate_ and metadata_ in Python).
EVERYDAY_FIELDS = (
    "name:str(100) status:str(20)=open type:text? date:date? json:json? select:bool=false "
    "order:int>=0 user:ref(task) amount:decimal(10,2)>=0 ratio:float? big:bigint? "
    "at:datetime=now key:uuid=random from:date? validate:int>=0 metadata:json? copy:str(30)?"
)


def render_all(
    template: Path, service: Path, work: Path, many: list[Answers]
) -> dict[Path, Answers]:
    renders = {}
    with compiled_once():
        for answers in many:
            path = add_to_copy(template, service, work / answers["resource"], answers)
            renders[path] = answers
    return renders


def noun_answers(noun: str) -> Answers:
    return {"resource": noun, "resource_fields": EVERYDAY_FIELDS}


# ---- The tests. ----


def test_common_rest_nouns_and_everyday_field_names_render_clean_code(
    template_files: Path, default_service: Path, tmp_path: Path
) -> None:
    renders = render_all(
        template_files, default_service, tmp_path, [noun_answers(n) for n in COMMON_NOUNS]
    )
    failures = ruff_failures(renders)
    assert not failures, "\n".join(failures)


# Resources whose class takes the name of something their own modules import (sqlalchemy's Text
# and Mapped, the base classes Entity, Repository and ResourceService), or that routes and tests
# import beside the resource's classes (fastapi's Request, Response, Path and Query; the Id type).
IMPORTED_NAMES = [
    "text", "mapped", "entity", "repository", "resource",
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
