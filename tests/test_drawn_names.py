"""Any resource the questions accept renders clean code: hypothesis draws resource names, plurals
and field specs from the grammar of includes/names.jinja and includes/fields.jinja, adds each
resource to a service made with the defaults (in process, tests/support/resources.py), and
asserts that `ruff check` and `ruff format --check` accept the render; a sample of the drawn
resources, added together to one service, also passes `mypy --strict`.

The names it draws are the ones the validators accept, read from the same Jinja, so a name freed
there is drawn here at once. Every run draws new examples from a seed the header of the run
prints (`--names-seed` replays one); a failure shows the answers that reproduce it.
"""

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import pytest
from hypothesis import HealthCheck, Phase, assume, given, note, seed, settings
from hypothesis import strategies as st

from tests.support.environments import Environments
from tests.support.paths import TEMPLATE_ROOT
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

EXAMPLES = 40
MYPY_SAMPLE = 4
# Field names whose Python attribute takes a trailing underscore (includes/fields.jinja).
RENAMED_ATTRIBUTES = ["json", "copy", "class", "from", "metadata", "registry", "validate", "l"]
# The service's own resource, which drawn fields may reference.
SERVICE_RESOURCE, SERVICE_PLURAL = "task", "tasks"


@cache
def jinja_module(name: str) -> Any:
    """The variables and macros of includes/<name>.jinja, as Copier's environment renders them."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_ROOT),
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"],
        autoescape=False,  # noqa: S701 (renders Python source, never HTML)
    )
    return environment.get_template(f"includes/{name}.jinja").module


def plural_of(name: str) -> str:
    return str(jinja_module("names").pluralize(name))


def name_refused(name: str, plural: bool = False) -> bool:
    module = jinja_module("names")
    return bool(str(module.identifier_errors("name", name, plural=plural)))


def field_name_refused(name: str) -> bool:
    """Whether the field spec's validator refuses `name`, whatever its type."""
    return bool(str(jinja_module("fields").field_errors(f"{name}:text", "resource")))


def spec_refused(spec: str, resource: str) -> bool:
    """Whether the validator refuses a resource's whole spec: a name some kinds cannot take (a
    list parameter's, for a field filtering by equality), an enum class another name has."""
    known = {SERVICE_RESOURCE: SERVICE_PLURAL}
    return bool(str(jinja_module("fields").field_errors(spec, resource, known)))


# ---- The grammar. ----

first_words = st.from_regex(r"[a-z][a-z0-9]{0,11}", fullmatch=True)
next_words = st.from_regex(r"[a-z0-9]{1,11}", fullmatch=True)


def snake_case(max_size: int) -> st.SearchStrategy[str]:
    """snake_case identifiers of 1 to `max_size` characters, in one to five words."""
    words = st.tuples(first_words, st.lists(next_words, max_size=4))
    return words.map(lambda w: "_".join([w[0], *w[1]])).filter(lambda s: len(s) <= max_size)


@st.composite
def resource_names(draw: st.DrawFn) -> tuple[str, str | None]:
    """A resource and the plural given for it (None: the default plural)."""
    taken = {SERVICE_RESOURCE, SERVICE_PLURAL}
    resource = draw(snake_case(30).filter(lambda n: n not in taken and not name_refused(n)))
    if draw(st.booleans()):
        default = plural_of(resource)
        if default in taken or default == resource or name_refused(default, plural=True):
            pass  # then the plural must be given
        else:
            return resource, None
    allowed = snake_case(30).filter(
        lambda p: p not in taken and p != resource and not name_refused(p, plural=True)
    )
    return resource, draw(allowed)


def numbers(low: int, high: int, fractions: bool) -> st.SearchStrategy[str]:
    """Numbers from `low` to `high` as a spec writes them: whole, or halves when `fractions`."""
    whole = st.integers(low, high).map(str)
    if not fractions or low == high:
        return whole
    return whole | st.integers(low, high - 1).map(lambda n: str(n + 0.5))


@st.composite
def bounds_and_default(draw: st.DrawFn, kind: str) -> tuple[str, str]:
    """Bounds (>=, >, <=, <) and a default that meets them, for a numeric kind."""
    span = {"int": 2_000_000_000, "bigint": 9_000_000_000_000_000, "float": 1_000_000}[kind]
    lo = draw(st.none() | st.integers(-span, span - 2))
    hi = draw(st.none() | st.integers(lo + 2 if lo is not None else 2 - span, span))
    text = ""
    if lo is not None:
        text += draw(st.sampled_from([">=", ">"])) + str(lo)
    if hi is not None:
        text += draw(st.sampled_from(["<=", "<"])) + str(hi)
    default = ""
    if draw(st.booleans()):
        low = lo + 1 if lo is not None else -span
        high = hi - 1 if hi is not None else span
        default = "=" + draw(numbers(low, high, fractions=kind == "float"))
    return text, default


TEXT_DEFAULTS = st.from_regex(r"[A-Za-z0-9_.@-]{1,12}", fullmatch=True)
# Enum values: lowercase identifiers, now and then one a StrEnum or Python holds dear.
ENUM_VALUES = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True) | st.sampled_from(
    ["name", "value", "mro", "none", "true", "class", "self"]
)


@st.composite
def field_types(draw: st.DrawFn, kind: str) -> tuple[str, str, str]:
    """The type, bounds and default of a field of `kind`."""
    if kind == "str":
        length = draw(st.integers(1, 500) | st.just(10_485_760))
        default = draw(st.none() | TEXT_DEFAULTS.filter(lambda d: len(d) <= length))
        return f"str({length})", "", f"={default}" if default else ""
    if kind == "text":
        default = draw(st.none() | TEXT_DEFAULTS)
        return "text", "", f"={default}" if default else ""
    if kind in ("int", "bigint", "float"):
        bounds, default = draw(bounds_and_default(kind))
        return kind, bounds, default
    if kind == "decimal":
        precision = draw(st.integers(1, 38))
        scale = draw(st.integers(0, precision))
        bounds = draw(st.sampled_from(["", ">=0"]))
        default = ""
        if draw(st.booleans()):
            digits = "0" if precision == scale else "1" * (precision - scale)
            default = "=" + digits + ("." + "5" * scale if scale else "")
        return f"decimal({precision},{scale})", bounds, default
    if kind in ("ref", "refs"):
        return f"{kind}({SERVICE_RESOURCE})", "", ""
    if kind == "enum":
        values = draw(st.lists(ENUM_VALUES, min_size=1, max_size=8, unique=True))
        default = draw(st.none() | st.sampled_from(values))
        return f"enum({','.join(values)})", "", f"={default}" if default else ""
    fixed = {"bool": ["true", "false"], "date": ["today"], "datetime": ["now"], "uuid": ["random"]}
    default = draw(st.none() | st.sampled_from(fixed.get(kind, [""])))
    return kind, "", f"={default}" if default else ""


KINDS = ["str", "text", "int", "bigint", "float", "decimal", "bool", "date", "datetime", "uuid"]
KINDS += ["json", "ref", "refs", "enum", "email"]


@dataclass(frozen=True)
class Field:
    name: str
    spec: str
    column: str = field(compare=False)


@st.composite
def fields(draw: st.DrawFn) -> Field:
    kind = draw(st.sampled_from(KINDS))
    # Now and then a name Python, pydantic or SQLAlchemy takes, which the attribute renames.
    name = draw(
        (snake_case(25) | st.sampled_from(RENAMED_ATTRIBUTES)).filter(
            lambda n: not field_name_refused(n)
        )
    )
    type_, bounds, default = draw(field_types(kind))
    flags = "" if kind == "refs" else draw(st.sampled_from(["", "?"]))  # links take no flags
    if kind not in ("json", "bool", "refs") and draw(st.booleans()):
        flags = draw(st.sampled_from([flags + "!", "!" + flags]))
    column = {"ref": f"{name}_id", "refs": f"{name}_ids"}.get(kind, name)
    return Field(name, f"{name}:{type_}{bounds}{flags}{default}", column)


@st.composite
def resources(draw: st.DrawFn) -> Answers:
    """Answers that add a resource: its name, maybe its plural, one to six fields."""
    resource, plural = draw(resource_names())
    # Distinct columns whose type names differ too (a_1 and a1 would both name A1Input).
    type_name = jinja_module("names").pascal
    drawn = draw(
        st.lists(fields(), min_size=1, max_size=6, unique_by=lambda f: str(type_name(f.column)))
    )
    answers = {"resource": resource}
    if plural is not None:
        answers["resource_plural"] = plural
    answers["resource_fields"] = " ".join(f.spec for f in drawn)
    assume(not spec_refused(answers["resource_fields"], resource))
    return answers


# ---- The tests. ----


def test_drawn_resources_render_clean_code(
    request: pytest.FixtureRequest,
    template_files: Path,
    default_service: Path,
    tmp_path: Path,
    environments: Environments,
) -> None:
    drawn: list[Answers] = []

    @seed(request.config.getoption("--names-seed"))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,  # the seed alone decides what a run draws
        # No shrinking: each step renders again (minutes on CI's 2 cores); the failing example
        # as drawn reproduces the failure, with the seed.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(resources())
    def renders_clean(answers: Answers) -> None:
        note(reproduce(answers))
        destination = tmp_path / f"drawn-{len(drawn)}"
        shutil.rmtree(destination, ignore_errors=True)
        with compiled_once():
            add_to_copy(template_files, default_service, destination, answers)
        failures = ruff_failures({destination: answers})
        assert not failures, "\n".join(failures)
        drawn.append(answers)

    renders_clean()
    assert len(drawn) >= EXAMPLES

    # A sample, added one after the other to one service, through mypy.
    project = tmp_path / "sample"
    shutil.copytree(default_service, project)
    taken = {SERVICE_RESOURCE, SERVICE_PLURAL}
    sample: list[Answers] = []
    for answers in drawn:
        names = {answers["resource"], answers.get("resource_plural", "")} - {""}
        names |= {plural_of(answers["resource"])} if "resource_plural" not in answers else set()
        if len(sample) < MYPY_SAMPLE and not names & taken:
            taken |= names
            sample.append(answers)
            with compiled_once():
                add_resource(template_files, project, answers)
    synced = environments.sync(Project(project), python_for("3.13"))
    command = ["uv", "run", "--no-sync", "mypy"]
    mypy = subprocess.run(command, cwd=project, env=synced.environ, capture_output=True, text=True)
    assert mypy.returncode == 0, (
        "mypy refuses one of:\n" + "\n".join(map(reproduce, sample)) + "\n" + mypy.stdout
    )


# Resources and refs fields whose links' names would meet if built by plain concatenation:
# holder's x (to line_item) and x_line (to item); note's x_y and note_x's y; refresh's tokens and
# auth's refresh_tokens.
LINKED = [
    ("holder", "x"),
    ("holder", "x_line"),
    ("note", "x_y"),
    ("note_x", "y"),
    ("refresh", "tokens"),
]
OTHER_TABLES = {"users", "refresh_tokens", "password_reset_tokens", "login_failures", "api_keys"}


def test_links_tables_constraints_and_indexes_have_names_of_their_own() -> None:
    """Link tables, their keys and their index are named so that no two links, resources or
    auth's tables share one (includes/fields.jinja, `links_json`), whatever the names."""
    targets = {"line_item": "line_items", "item": "items", "tag": "tags", "task": "tasks"}
    names: list[str] = []
    for resource, field_name in LINKED:
        spec = f"n:int {field_name}:refs({SERVICE_RESOURCE})"
        assert not spec_refused(spec, resource), spec
        fields = jinja_module("fields")
        (link,) = json.loads(str(fields.links_json(spec, resource, targets)))
        table, own, other = link["table"], link["own_column"], link["other_column"]
        names += [table, f"pk_{table}", f"fk_{table}_{own}", f"fk_{table}_{other}"]
        names.append(f"ix_{table}_{other}")
    assert len(names) == len(set(names)), sorted(names)
    assert not set(names) & (OTHER_TABLES | set(targets.values()))
