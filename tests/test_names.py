"""The commonest REST nouns, with fields under everyday names, give a project that passes
`ruff check` and `ruff format --check`; a sample also passes `mypy` and its whole suite against
PostgreSQL.

The renders run in process (tests/support/resources.py), each a resource added beside one
service rendered once; one ruff call checks them all. A failure prints the answers that
reproduce it. tests/test_drawn_names.py draws names and fields from the grammar instead.
"""

import datetime
import re
from pathlib import Path

import pytest

from tests.support.paths import TEMPLATE_ROOT
from tests.support.postgres import PostgresServer
from tests.support.project import Project
from tests.support.pythons import python_for
from tests.support.resources import Answers, add_to_copy, compiled_once, ruff_failures

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


def reserved(name: str) -> set[str]:
    """The words of one of includes/names.jinja's lists."""
    names = (TEMPLATE_ROOT / "includes/names.jinja").read_text()
    found = re.search(rf"set {name} = \[(.*?)\]", names, re.DOTALL)
    assert found, name
    return set(re.findall(r'"(\w+)"', found.group(1)))


def test_no_plural_can_replace_one_of_the_templates_own_api_test_modules() -> None:
    """tests/api/test_<plural>.py sits beside the template's own modules there: each of their
    names must be refused as a plural (a new module there must be added to the list)."""
    modules = (TEMPLATE_ROOT / "template/tests/api").glob("test_*.py*")
    own = {path.name.split(".")[0].removeprefix("test_") for path in modules} - {
        "{{ resource_plural }}"
    }
    assert own - reserved("RESERVED_PLURALS") - reserved("RESERVED_NAMES") == set()
