"""Adding resources to a rendered service with `python -m tools.add_resource` (Copier in
resource mode): the service then passes all its checks, updates stay clean, and bad names or
field specs are refused before anything is written."""

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import VcsRef, run_copy, run_update

from tests.support.git import commit, git
from tests.support.postgres import PostgresServer
from tests.support.project import Project, start
from tests.support.pythons import python_for
from tests.support.releases import versioned_clone

# Between them, every field kind; `order` refers to `customer`.
CUSTOMER = "name:str(100) email:str(200)! vip:bool=false since:date? tier:int>=0<=5=0"
ORDER = (
    "customer:ref(customer) note:text? total:decimal(10,2)>=0 quantity:int>=1 weight:float>0? "
    "serial:bigint? placed_at:datetime=now token:uuid=random data:json? sku:str(40)!"
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return versioned_clone(tmp_path_factory.mktemp("resources") / "template")


def service(template: Path, destination: Path) -> Project:
    """A service with every option that adds code (its tests then cover the new resources)."""
    answers = {
        "project_name": "Shop",
        "observability": ["otel", "prometheus"],
        "jobs": "procrastinate",
        "auth": "jwt",
    }
    return start(template, destination, answers, ref=None)


def add_resource(project: Project, name: str, fields: str, *options: str) -> None:
    output = project.uv_run(
        "python", "-m", "tools.add_resource", name, "--fields", fields, *options
    )
    # Copier's report without the registry's false conflict, and the next step said once.
    assert "conflict" not in output, output
    assert output.count("uv run alembic upgrade head") == 1, output
    commit(project.path, f"Add {name}")


def assert_one_line_refusal(project: Project) -> None:
    """A bad field spec: Copier's traceback around the message becomes the message; exit 2."""
    command = ["uv", "run", "--no-sync", "python", "-m", "tools.add_resource", "gadget"]
    refused = subprocess.run(
        [*command, "--fields", "title:str"],
        cwd=project.path,
        env=project.environ,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith("Nothing was added: 'title:str' is not a valid field.")
    assert git("status", "--porcelain", "--untracked-files=all", cwd=project.path) == ""


@pytest.mark.slow
def test_added_resources_pass_every_check_and_update_cleanly(
    template: Path, tmp_path: Path, postgres: PostgresServer
) -> None:
    project = service(template, tmp_path / "shop")
    project.sync(python_for("3.13"))
    add_resource(project, "customer", CUSTOMER)
    add_resource(project, "order", ORDER, "--owned")  # each order belongs to its creator

    assert_one_line_refusal(project)

    registry = yaml.safe_load((project.path / ".copier-resources.yml").read_text())
    assert set(registry["resources"]) == {"task", "customer", "order"}
    owned = {name for name, entry in registry["resources"].items() if entry.get("owned")}
    assert owned == {"order"}  # the service's own task is owned by its answers (auth=jwt)
    assert 'ForeignKey("customers.id"' in (project.path / "app/models/order.py").read_text()
    project.uv_run("ruff", "check", ".")
    project.uv_run("ruff", "format", "--check", ".")
    project.uv_run("mypy")
    database = postgres.create_database("shop_resources")
    project.uv_run("pytest", "-q", "-p", "no:cacheprovider", env={"TEST_DATABASE_URL": database})
    cli_database = postgres.create_database("shop_resources_cli")
    for command in (("upgrade", "head"), ("check",), ("downgrade", "base")):
        project.uv_run("alembic", *command, env={"DATABASE_URL": cli_database})

    for answers_file in (".copier-answers.yml", ".copier-answers.resource-order.yml"):
        run_update(
            project.path,
            answers_file=answers_file,
            vcs_ref=VcsRef.CURRENT,
            defaults=True,
            overwrite=True,
            quiet=True,
        )
        assert git("status", "--porcelain", "--untracked-files=all", cwd=project.path) == ""


@pytest.fixture(scope="module")
def shop(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A service with one added resource, for the refusals below."""
    project = service(template, tmp_path_factory.mktemp("shop") / "shop")
    run_copy(
        str(template),
        project.path,
        answers_file=".copier-answers.resource-customer.yml",
        data={"resource": "customer", "resource_fields": CUSTOMER},
        defaults=True,
        overwrite=True,
        quiet=True,
    )
    commit(project.path, "Add customer")
    return project


def refusal(template: Path, project: Project, answers: dict[str, Any]) -> str:
    name = answers.get("resource", "widget")
    with pytest.raises(ValueError, match="Validation error") as refused:
        run_copy(
            str(template),
            project.path,
            answers_file=f".copier-answers.resource-{name}.yml",
            data={"resource": "widget", "resource_fields": "label:str(20)"} | answers,
            defaults=True,
            overwrite=True,
            quiet=True,
        )
    assert git("status", "--porcelain", "--untracked-files=all", cwd=project.path) == ""
    return str(refused.value)


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"resource": "customer"}, "already has a resource 'customer'"),
        ({"resource": "task"}, "already has a resource 'task'"),
        ({"resource_plural": "customers"}, "already uses the plural 'customers'"),
        ({"resource": "import"}, "is a Python keyword"),
        ({"resource": "base"}, "collides with a name the generated project already uses"),
        ({"resource": "user"}, "has 'user' of its own"),  # the service has auth
        ({"resource_plural": "api_keys"}, "has 'api_keys' of its own"),
        ({"resource_plural": "health"}, "collides with a name the generated project"),
        ({"resource": "Widget"}, "snake_case identifier"),
        ({"resource_fields": "owner:ref(supplier)"}, "ref(supplier) names no existing resource"),
        ({"resource_fields": "parent:ref(widget)"}, "cannot reference itself"),
        ({"resource_fields": "customer:ref(customer) customer_id:int"}, "defined twice"),
        ({"resource_fields": "price:decimal(8,2)<=100"}, "the only bound a decimal takes is >=0"),
        ({"resource_fields": "label"}, "is not a valid field"),
        ({"after_revision": "not a revision"}, "is not an Alembic revision id"),
    ],
)
def test_bad_resources_are_refused_before_anything_is_written(
    template: Path, shop: Project, answers: dict[str, Any], message: str
) -> None:
    assert message in refusal(template, shop, answers)


def test_the_command_refuses_a_name_whose_module_exists(shop: Project) -> None:
    (shop.path / "app/models/gadget.py").write_text('"""Written by hand."""\n')
    try:
        shop.sync(python_for("3.13"))
        with pytest.raises(AssertionError, match="exists already"):
            shop.uv_run("python", "-m", "tools.add_resource", "gadget", "--fields", "x:int")
    finally:
        (shop.path / "app/models/gadget.py").unlink()


def test_the_command_help_is_complete(shop: Project) -> None:
    shop.sync(python_for("3.13"))
    shown = shop.uv_run("python", "-m", "tools.add_resource", "--help")
    assert '--fields "customer:ref(customer) total_cents:int>=0"' in shown
    assert "The field-spec grammar is in the\nREADME." in shown  # the last line
