"""Adding resources to a rendered service with `python -m tools.add_resource` (Copier in
resource mode): the service then passes all its checks, updates stay clean, and bad names or
field specs are refused before anything is written."""

import re
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

# Added, then removed again: a bin is on a shelf, and belongs to its creator.
SHELF = "label:str(40)! rows:int>=1"
BIN = "shelf:ref(shelf) note:text?"
# The removed tables as PostgreSQL holds them: columns in order, constraints, indexes.
TABLE_DEFINITIONS = """
    SELECT string_agg(line, E'\\n' ORDER BY line) FROM (
        SELECT concat_ws(' ', c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
                         a.attnotnull, a.attidentity, pg_get_expr(d.adbin, d.adrelid)) AS line
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relname IN ('shelves', 'bins') AND a.attnum > 0 AND NOT a.attisdropped
        UNION ALL
        SELECT concat_ws(' ', conrelid::regclass, conname, pg_get_constraintdef(oid))
        FROM pg_constraint WHERE conrelid::regclass::text IN ('shelves', 'bins')
        UNION ALL
        SELECT indexdef FROM pg_indexes WHERE tablename IN ('shelves', 'bins')
    ) AS lines
"""

# Between them, every field kind; `order` refers to `customer`.
CUSTOMER = "name:str(100) email:email! vip:bool=false since:date? tier:int>=0<=5=0"
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
    refused = tool(project, "add_resource", "gadget", "--fields", "title:str")
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith("Nothing was added: 'title:str' is not a valid field.")
    assert git("status", "--porcelain", "--untracked-files=all", cwd=project.path) == ""


def remove_resource(project: Project, name: str, plural: str) -> str:
    """`tools.remove_resource NAME`, committed; the command's report."""
    added = git(
        "log", "--format=%H", "-1", "--", f".copier-answers.resource-{name}.yml", cwd=project.path
    )
    output = project.uv_run("python", "-m", "tools.remove_resource", name)
    commit(project.path, f"Remove {name}")
    # Every file adding it wrote is gone again, but its create migration (history).
    written = git("show", "--name-only", "--format=", added, cwd=project.path).split()
    own = [path for path in written if name in path or plural in path]
    left = [path for path in own if (project.path / path).exists()]
    assert len(own) == 11, own  # copier.yml's resource_files, the registry aside
    assert left == [path for path in own if path.startswith("alembic/versions/")], output
    return output


def tool(project: Project, name: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    """`python -m tools.NAME ARGUMENTS` in the project, whatever its exit status."""
    command = ["uv", "run", "--no-sync", "python", "-m", f"tools.{name}", *arguments]
    return subprocess.run(
        command, cwd=project.path, env=project.environ, capture_output=True, text=True, check=False
    )


def assert_removal_refused(project: Project, name: str, refusal: str) -> None:
    refused = tool(project, "remove_resource", name)
    assert (refused.returncode, refused.stderr) == (2, f"Nothing was removed: {refusal}\n")
    assert git("status", "--porcelain", "--untracked-files=all", cwd=project.path) == ""


def add_and_remove_again(project: Project, postgres: PostgresServer, database: str) -> None:
    """Two resources added and removed with tools.remove_resource: refused while the other
    refers to it; the migrations drop the tables, and their downgrades recreate them as they
    were (on the database at `database`)."""
    add_resource(project, "shelf", SHELF)
    add_resource(project, "bin", BIN, "--owned")
    environment = {"DATABASE_URL": database}
    project.uv_run("alembic", "upgrade", "head", env=environment)
    created = postgres.query(database, TABLE_DEFINITIONS)
    assert "bins 1 id bigint" in created
    assert "fk_bins_owner_id FOREIGN KEY (owner_id) REFERENCES users(id)" in created

    assert_removal_refused(
        project,
        "shelf",
        "'shelf' is referred to by bin (a ref or refs field); remove or change those first.",
    )
    assert_removal_refused(
        project,
        "task",
        "'task' is the service's own resource: its answers "
        "are the service's (.copier-answers.yml), and the auth, jobs and tests code use it; keep "
        "it, or remove it by hand (docs/template/resources.md).",
    )
    output = remove_resource(project, "bin", "bins")
    assert "deleted  app/models/bin.py" in output, output
    assert "uv run python -m tools.db migrate" in output, output
    remove_resource(project, "shelf", "shelves")
    registry = yaml.safe_load((project.path / ".copier-resources.yml").read_text())
    assert set(registry["resources"]) == {"task"}
    # Its create migration remains under the id the name gives: the name is not taken again.
    again = tool(project, "add_resource", "shelf", "--fields", SHELF)
    assert again.returncode == 2, again.stderr
    assert re.fullmatch(
        r"A resource 'shelf' existed before \(its migration \w{12} remains\); "
        r"pick another name.\n",
        again.stderr,
    ), again.stderr

    # The caller runs `alembic upgrade head` and `alembic check` on this database again.
    project.uv_run("alembic", "upgrade", "head", env=environment)
    assert postgres.query(database, TABLE_DEFINITIONS) == ""
    project.uv_run("alembic", "downgrade", "-2", env=environment)
    assert postgres.query(database, TABLE_DEFINITIONS) == created


# A user's own code in a resource's service, which changing the resource must keep.
USER_EDIT = (
    "\n\ndef loyalty_tier(points: int) -> str:  # the user's own rule\n    return str(points)\n"
)
# A customer as its first migration stored it, and what the changes below leave of it.
CUSTOMER_ROW = (
    "INSERT INTO customers (name, email, tier, version) VALUES ('Ada', 'ada@example.com', 3, 1)"
)
CUSTOMER_READ = "SELECT full_name, email, tier, points, phone, code FROM customers"


def change_resource(project: Project, name: str, *arguments: str) -> str:
    """`tools.change_resource NAME ARGUMENTS`, committed; the command's report."""
    output = project.uv_run("python", "-m", "tools.change_resource", name, *arguments)
    assert "conflict" not in output.lower(), output
    commit(project.path, f"Change {name}")
    return output


def change_resources(project: Project, postgres: PostgresServer, database: str) -> None:
    """Week two: fields added, renamed, altered and dropped on a customer with a row in the
    database and the user's own code in its service, which becomes owned; a reference renamed,
    an enum and links to customers (many-to-many) added on the orders that refer to it; a field
    added to the service's own resource. The row keeps its values and goes to the legacy owner,
    the edit stays, and the caller's checks (ruff, mypy, the suite with its migration tests and
    lint) cover the result."""
    service = project.path / "app/services/customer.py"
    service.write_text(service.read_text() + USER_EDIT)
    commit(project.path, "The user's own rule")
    environment = {"DATABASE_URL": database}
    project.uv_run("alembic", "upgrade", "head", env=environment)
    postgres.query(database, CUSTOMER_ROW)

    refused = tool(project, "change_resource", "customer", "--add", "code:str(12)!")
    assert (refused.returncode, refused.stderr) == (
        2,
        "Nothing was changed: 'code' is required and has no default: give the rows already in "
        "customers a value (--fill code=VALUE), a default, or add it optional (?).\n",
    )
    assert git("status", "--porcelain", "--untracked-files=all", cwd=project.path) == ""
    output = change_resource(
        project,
        "customer",
        "--add",
        "phone:str(30)? points:int>=0 code:str(12)?!",
        "--rename",
        "name=full_name",
        "--alter",
        "tier:int>=0<=9=1",
        "--drop",
        "since",
        "--fill",
        "points=5",
        "--owned",
    )
    assert "rows already in customers get points = 5" in output, output
    change_resource(
        project,
        "order",
        "--rename",
        "customer=buyer",
        "--add",
        "status:enum(open,paid)=open recipient:refs(customer)",
    )
    change_resource(project, "task", "--add", "priority:int>=0=0")

    assert service.read_text().endswith(USER_EDIT)
    project.uv_run("alembic", "upgrade", "head", env=environment)
    assert postgres.query(database, CUSTOMER_READ) == "Ada|ada@example.com|3|5||"
    owner = "SELECT email FROM users WHERE id = (SELECT owner_id FROM customers)"
    assert postgres.query(database, owner) == "legacy-owner@example.invalid"
    model = (project.path / "app/models/order.py").read_text()
    assert "buyer_id: Mapped[int]" in model, model
    assert 'recipient_links = Table(\n    "order__recipient"' in model, model


@pytest.mark.slow
def test_added_resources_pass_every_check_and_update_cleanly(
    template: Path, tmp_path: Path, postgres: PostgresServer
) -> None:
    project = service(template, tmp_path / "shop")
    project.sync(python_for("3.13"))
    cli_database = postgres.create_database("shop_resources_cli")
    # The suite, ruff, mypy and the migration tests below see the removals' migrations too.
    add_and_remove_again(project, postgres, cli_database)
    add_resource(project, "customer", CUSTOMER)
    add_resource(project, "order", ORDER, "--owned")  # each order belongs to its creator
    change_resources(project, postgres, cli_database)

    assert_one_line_refusal(project)

    registry = yaml.safe_load((project.path / ".copier-resources.yml").read_text())
    assert set(registry["resources"]) == {"task", "customer", "order"}
    owned = {name for name, entry in registry["resources"].items() if entry.get("owned")}
    assert owned == {"order", "customer"}  # task is owned by its answers (auth=jwt)
    assert 'ForeignKey("customers.id"' in (project.path / "app/models/order.py").read_text()
    project.uv_run("ruff", "check", ".")
    project.uv_run("ruff", "format", "--check", ".")
    project.uv_run("mypy")
    database = postgres.create_database("shop_resources")
    project.uv_run("pytest", "-q", "-p", "no:cacheprovider", env={"TEST_DATABASE_URL": database})
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
        ({"resource_fields": "customer:refs(customer)"}, "at least one field besides its refs"),
        ({"resource_fields": "x:int customer:ref(customer) customer:refs(customer)"}, "twice"),
        ({"resource_fields": "x:int part:refs(widget)"}, "cannot reference itself"),
        ({"resource_fields": "x:int customer:refs(customer)?"}, "a refs field takes no bounds"),
        ({"resource_fields": "price:decimal(8,2)<=100"}, "the only bound a decimal takes is >=0"),
        ({"resource_fields": "label"}, "is not a valid field"),
        ({"after_revision": "not a revision"}, "is not an Alembic revision id"),
    ],
)
def test_bad_resources_are_refused_before_anything_is_written(
    template: Path, shop: Project, answers: dict[str, Any], message: str
) -> None:
    assert message in refusal(template, shop, answers)


@pytest.fixture(scope="module")
def team(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A service with tenancy: its resource, task, belongs to organizations."""
    answers = {"project_name": "Team", "auth": "jwt", "tenancy": "organizations"}
    return start(template, tmp_path_factory.mktemp("team") / "team", answers, ref=None)


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"scoped": True, "owned": True}, "belongs to a user (owned) or to an organization"),
        ({"resource_fields": "x:int job:ref(task)"}, "outside organizations cannot refer or link"),
        ({"resource_fields": "x:int jobs:refs(task)"}, "outside organizations cannot refer or"),
        ({"resource": "membership"}, "has 'membership' of its own"),
        ({"scoped": True, "resource_fields": "code:str(20)!"}, "cannot have unique fields yet"),
    ],
)
def test_with_tenancy_a_resource_outside_organizations_points_at_none_inside(
    template: Path, team: Project, answers: dict[str, Any], message: str
) -> None:
    assert message in refusal(template, team, answers)


def test_with_tenancy_a_scoped_resource_may_point_at_scoped_records(
    template: Path, team: Project
) -> None:
    run_copy(
        str(template),
        team.path,
        answers_file=".copier-answers.resource-widget.yml",
        data={"resource": "widget", "resource_fields": "x:int job:ref(task)", "scoped": True},
        defaults=True,
        overwrite=True,
        quiet=True,
    )
    model = (team.path / "app/models/widget.py").read_text()
    assert "class Widget(ScopedEntity):" in model
    migration = next((team.path / "alembic/versions").glob("*_create_widgets.py")).read_text()
    assert 'for statement in isolate("widgets"):' in migration
    git("checkout", "--", ".", cwd=team.path)
    git("clean", "-fdq", cwd=team.path)


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
