"""The questions: derived defaults, and validators that refuse bad answers with a useful message."""

from pathlib import Path
from typing import Any

import pytest
from copier import run_copy

from tests.support.paths import TEMPLATE_ROOT

VALID = {"project_name": "Acme Orders"}


def render(destination: Path, answers: dict[str, Any]) -> dict[str, Any]:
    """Answers recorded by a copy with `answers` (no --trust: the template must not need it)."""
    worker = run_copy(
        str(TEMPLATE_ROOT),
        destination,
        data=VALID | answers,
        defaults=True,
        unsafe=False,
        quiet=True,
        vcs_ref="HEAD",
    )
    return dict(worker.answers.combined)


def refusal(tmp_path: Path, answers: dict[str, Any]) -> str:
    with pytest.raises(ValueError, match=r"Validation error|Invalid choice") as refused:
        render(tmp_path / "project", answers)
    assert not (tmp_path / "project" / "app").exists()
    return str(refused.value)


@pytest.mark.parametrize(
    ("resource", "plural"),
    [
        ("task", "tasks"),
        ("category", "categories"),
        ("person", "people"),
        ("box", "boxes"),
        ("day", "days"),
        ("line_item", "line_items"),
        ("child", "children"),
    ],
)
def test_the_plural_is_derived_from_the_resource(
    tmp_path: Path, resource: str, plural: str
) -> None:
    assert render(tmp_path, {"resource": resource})["resource_plural"] == plural


def test_the_name_is_derived_from_the_destination_folder(tmp_path: Path) -> None:
    destination = tmp_path / "acme-orders"
    run_copy(str(TEMPLATE_ROOT), destination, defaults=True, quiet=True, vcs_ref="HEAD")
    answers = (destination / ".copier-answers.yml").read_text()
    assert "project_name: Acme Orders\n" in answers
    assert "project_slug: acme-orders\n" in answers


def test_the_slug_is_derived_from_the_name(tmp_path: Path) -> None:
    answers = render(tmp_path, {"project_name": "  Acme: Orders & Invoices! "})
    assert answers["project_slug"] == "acme-orders-invoices"


def test_an_overridden_plural_is_used(tmp_path: Path) -> None:
    answers = render(tmp_path, {"resource": "sheep", "resource_plural": "sheep_flock"})
    assert (tmp_path / "app/api/v1/routes/sheep_flock.py").is_file()
    assert answers["resource_plural"] == "sheep_flock"


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"project_name": "  "}, "must not be empty"),
        ({"project_name": "Acme\nOrders"}, "one line without control characters"),
        ({"description": "Orders.\tAnd more."}, "one line without control characters"),
        ({"project_slug": "Acme Orders"}, "must be kebab-case"),
        ({"project_slug": "acme--orders"}, "must be kebab-case"),
        ({"project_slug": "1acme"}, "must be kebab-case"),
        ({"author_name": ""}, "must not be empty"),
        ({"author_email": "nobody"}, "is not an email address"),
        ({"author_email": "a@b"}, "is not an email address"),
        ({"python_version": "3.11"}, "Invalid choice"),
        ({"observability": ["zipkin"]}, "Invalid choice"),
        ({"observability": ["otel", "datadog"]}, "Invalid choice"),
        (
            {"kubernetes": True, "use_docker": False},
            "Kubernetes manifests run the service's Docker",
        ),
        ({"resource": ""}, "must not be empty"),
        ({"resource": "Task"}, "snake_case identifier"),
        ({"resource": "line-item"}, "snake_case identifier"),
        ({"resource": "2fa"}, "snake_case identifier"),
        ({"resource": "line__item"}, "snake_case identifier"),
        ({"resource": "class"}, "Python keyword"),
        ({"resource": "import"}, "Python keyword"),
        ({"resource": "base"}, "collides with a name the generated project already uses"),
        ({"resource": "conftest"}, "collides with a name the generated project already uses"),
        ({"resource": "a" * 31}, "longer than 30 characters"),
        ({"resource": "sheep", "resource_plural": "sheep"}, "must differ from the singular"),
        ({"resource_plural": "Tasks"}, "snake_case identifier"),
        ({"resource": "health_check", "resource_plural": "health"}, "collides with a name"),
        ({"auth": "basic"}, "Invalid choice"),
        ({"auth": "jwt", "resource": "user"}, "has 'user' of its own"),
        ({"auth": "jwt", "resource": "member", "resource_plural": "users"}, "'users' of its own"),
        ({"auth": "jwt", "resource_fields": "owner_id:int"}, "owner_id column of its own"),
        ({"auth": "jwt", "resource_fields": "owner:ref(task)"}, "owner_id column of its own"),
        ({"auth": "jwt", "auth_after_revision": "0001 x"}, "is not an Alembic revision id"),
        (
            {"auth": "jwt", "auth_api_keys": True, "auth_api_keys_after_revision": "a;b"},
            "is not an Alembic revision id",
        ),
        ({"resource": "i"}, "ruff's E742"),
        ({"jobs": "celery"}, "Invalid choice"),
        ({"jobs": "procrastinate", "jobs_after_revision": "0001 head"}, "not an Alembic revision"),
        ({"tenancy": "organizations"}, "Tenancy needs users: answer auth=jwt"),
        (
            {"auth": "jwt", "tenancy": "organizations", "resource": "organization"},
            "has 'organization' of its own",
        ),
        (
            {"auth": "jwt", "tenancy": "organizations", "resource_plural": "memberships"},
            "has 'memberships' of its own",
        ),
        (
            {"auth": "jwt", "tenancy": "organizations", "tenancy_after_revision": "x y"},
            "is not an Alembic revision id",
        ),
        (
            {"auth": "jwt", "tenancy": "organizations", "resource_fields": "sku:str(20)!"},
            "cannot have unique fields yet (sku",
        ),
    ],
)
def test_bad_answers_are_refused(tmp_path: Path, answers: dict[str, Any], message: str) -> None:
    assert message in refusal(tmp_path, answers)


@pytest.mark.parametrize("name", ["match", "type", "models", "settings", "status", "session"])
def test_names_once_reserved_are_accepted(tmp_path: Path, name: str) -> None:
    """Soft keywords and the everyday words the generated code once used itself."""
    assert render(tmp_path, {"resource": name})["resource"] == name


@pytest.mark.parametrize("plural", ["resources", "limits", "contract", "security", "fuzz"])
def test_plurals_named_like_the_templates_own_tests_are_accepted(
    tmp_path: Path, plural: str
) -> None:
    """The template's own API tests live in tests/api/shared/, out of the plurals' way."""
    answers = render(tmp_path, {"resource": "entry", "resource_plural": plural})
    assert answers["resource_plural"] == plural
    assert (tmp_path / f"tests/api/test_{plural}.py").is_file()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "needs at least one field"),
        ("title", "'title' is not a valid field"),
        ("title:string", "Types: str(n), text, int"),
        ("title:str", "'title:str' is not a valid field"),
        ("Title:text", "is not a valid field"),
        ("title:text title:int", "'title' is defined twice"),
        ("id:int", "'id' is reserved"),
        ("model_name:text", "'model_name' is reserved"),
        ("version:int", "'version' is reserved"),
        ("a_name_longer_than_the_limit:int", "longer than 25 characters"),
        ("limit:bool", "which the list's own 'limit' parameter takes"),
        ("q:uuid", "which the list's own 'q' parameter takes"),
        ("a1:str(5) a_1:str(5)", "would both name their input type A1Input"),
        ("name:str(0)", "str(n) needs 1 <= n"),
        ("price:decimal(3,4)", "decimal(p,s) needs"),
        ("price:decimal(6,2)=1.005", "a decimal(6,2) default has at most 4 digit(s) before"),
        ("price:decimal(4,2)=123", "at most 2 digit(s) before the point and 2 after, not '123'"),
        ("name:text>=3", "bounds (>=, <=, >, <) apply to numbers only"),
        ("count:int>=1.5", "bounds must be whole numbers"),
        ("count:int??", "repeat ? or ! at most once"),
        ("data:json!", "json fields cannot be unique"),
        # One row per value at most: a closed set is no identifier.
        ("status:enum(a,b)!", "enum fields cannot be unique"),
        ("done:bool=yes", "a bool default is true or false"),
        ("count:int=many", "default must be a whole number"),
        ("due:date=tomorrow", "the only date default is 'today'"),
        ("data:json=x", "json fields cannot have a default"),
        ("contact:email=a@b.example", "email fields cannot have a default"),
        ("contact:email>=1", "bounds (>=, <=, >, <) apply to numbers only, not to email"),
        ("code:str(3)=toolong", "is longer than str(3) holds"),
        ("stock:int>=0=-5", "is outside the field's bounds (>=0)"),
        ("ratio:float<1=1", "is outside the field's bounds (<1)"),
        ("name:str(10)=two words", "is not a valid field"),
        ("owner:ref(customer)", "ref(customer) names no existing resource"),
        ("title:text tag:refs(tag)", "refs(tag) names no existing resource"),
        ("title:text tag:refs(task)", "a resource cannot reference itself"),
        ("title:text tag:refs(tag)=1", "a refs field takes no bounds, ?, ! or default"),
        ("status:enum()", "enum(...) needs at least one value"),
        ("status:enum(draft,,archived)", "needs at least one value and no empty ones"),
        ("status:enum(draft,Published)", "'Published' is not a lowercase identifier"),
        ("status:enum(in-review)", "the enum value 'in-review' is not a lowercase identifier"),
        ("status:enum(" + "v" * 64 + ")", "is longer than 63 characters"),
        ("status:enum(draft,draft)", "the enum value 'draft' is listed twice"),
        ("status:enum(draft,published)=archived", "'archived' is not one of its values (draft, p"),
        ("status:enum(a,b)>=1", "bounds (>=, <=, >, <) apply to numbers only, not to enum"),
        ("sort:enum(a,b)", "which the list's own 'sort' parameter takes"),
        ("q:str(20)", "a str field of up to 200 characters filters lists by a query parameter"),
        ("read:enum(a,b)", "its enum class TaskRead (resource + field) would take a name"),
        ("status_input:enum(a) task_status:int", "both name their input type TaskStatusInput"),
    ],
)
def test_bad_field_specs_are_refused(tmp_path: Path, spec: str, message: str) -> None:
    assert message in refusal(tmp_path, {"resource_fields": spec})
