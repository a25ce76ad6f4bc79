"""The commonest REST nouns, with fields under everyday names, give a project that passes
`ruff check` and `ruff format --check`; a sample also passes `mypy` and its whole suite against
PostgreSQL.

The renders run in process through Copier's API, in resource mode beside one service rendered
once (the files `tools.add_resource` writes are the files every resource has), so references
are covered too; one ruff call checks them all. A failure prints the answers that reproduce it.
"""

import datetime
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest.mock import patch

import jinja2
import pytest
from copier import run_copy

from tests.support.paths import TEMPLATE_ROOT
from tests.support.postgres import PostgresServer
from tests.support.project import Project
from tests.support.pythons import python_for

Answers = dict[str, str]

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
# Every field kind, under everyday names that Python, SQL or the generated code also use (json is
# still refused as a field name: it would shadow pydantic's BaseModel.json).
EVERYDAY_FIELDS = (
    "name:str(100) status:str(20)=open type:text? date:date? payload:json? select:bool=false "
    "order:int>=0 user:ref(task) amount:decimal(10,2)>=0 ratio:float? big:bigint? "
    "at:datetime=now key:uuid=random"
)
# ---- Rendering, fast enough for a hundred names. ----


@contextmanager
def compiled_once() -> Iterator[None]:
    """Reuse compiled Jinja code across renders. Copier builds a new Jinja environment for every
    render and compiles each template again, most of a render's time; the compiled code depends
    only on the source and the environment's options, which are the same in all these renders."""
    original = jinja2.Environment.compile
    cache: dict[tuple[Any, ...], Any] = {}

    def compile_once(self: jinja2.Environment, source: Any, *args: Any) -> Any:
        key = (source, *args)
        if key not in cache:
            cache[key] = original(self, source, *args)
        return cache[key]

    with patch.object(jinja2.Environment, "compile", compile_once):
        yield


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template's files outside git, so that Copier copies them instead of cloning."""
    copy = tmp_path_factory.mktemp("names") / "template"
    copy.mkdir()
    shutil.copy2(TEMPLATE_ROOT / "copier.yml", copy)
    for folder in ("includes", "template"):
        shutil.copytree(TEMPLATE_ROOT / folder, copy / folder)
    return copy


@pytest.fixture(scope="module")
def service(template: Path) -> Path:
    """A service with every default (its resource: task), rendered once."""
    destination = template.parent / "service"
    with warnings.catch_warnings(), compiled_once():
        warnings.simplefilter("ignore")
        data = {"project_name": "Names"}
        run_copy(str(template), destination, data=data, defaults=True, quiet=True)
    return destination


def add_resource(template: Path, service: Path, destination: Path, answers: Answers) -> Path:
    """A copy of `service` with the resource of `answers` added, as tools.add_resource adds it."""
    shutil.copytree(service, destination)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_copy(
            str(template),
            destination,
            answers_file=f".copier-answers.resource-{answers['resource']}.yml",
            data=answers,
            defaults=True,
            overwrite=True,
            quiet=True,
        )
    return destination


def reproduce(answers: Answers) -> str:
    data = " ".join(f"--data '{key}={value}'" for key, value in answers.items())
    return f"uv run python -m tools.add_resource (or copier copy) with {data}"


def ruff_failures(renders: dict[Path, Answers]) -> list[str]:
    """Renders whose Python `ruff check` or `ruff format --check` refuses, with their answers;
    one ruff call per check for all of them (each render's own pyproject.toml applies)."""
    failures = []
    paths = [str(path) for path in renders]
    for check in (["check", "--output-format=concise"], ["format", "--check"]):
        command = [sys.executable, "-m", "ruff", *check, *paths]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        output = result.stdout + result.stderr
        for path, answers in renders.items():
            found = [line for line in output.splitlines() if f"{path}/" in line]
            if found:
                failures.append(f"ruff {check[0]}: {reproduce(answers)}\n  " + "\n  ".join(found))
    return failures


def render_all(
    template: Path, service: Path, work: Path, many: list[Answers]
) -> dict[Path, Answers]:
    renders = {}
    with compiled_once():
        for answers in many:
            renders[add_resource(template, service, work / answers["resource"], answers)] = answers
    return renders


def noun_answers(noun: str) -> Answers:
    return {"resource": noun, "resource_fields": EVERYDAY_FIELDS}


# ---- The tests. ----


def test_common_rest_nouns_and_everyday_field_names_render_clean_code(
    template: Path, service: Path, tmp_path: Path
) -> None:
    renders = render_all(template, service, tmp_path, [noun_answers(noun) for noun in COMMON_NOUNS])
    failures = ruff_failures(renders)
    assert not failures, "\n".join(failures)


def rotating(names: list[str], count: int) -> list[str]:
    """`count` names, different each day, so that successive CI runs cover the whole list."""
    start = datetime.date.today().toordinal() * count % len(names)
    return (names + names)[start : start + count]


@pytest.mark.slow
def test_a_sample_of_nouns_passes_mypy_and_its_whole_suite(
    template: Path, service: Path, tmp_path: Path, postgres: PostgresServer
) -> None:
    for noun in rotating(COMMON_NOUNS, 2):
        with compiled_once():
            path = add_resource(template, service, tmp_path / noun, noun_answers(noun))
        project = Project(path)
        project.sync(python_for("3.13"))
        project.uv_run("mypy")
        database = postgres.create_database(f"names_{noun}")
        env = {"TEST_DATABASE_URL": database}
        project.uv_run("pytest", "-q", "-p", "no:cacheprovider", env=env)
