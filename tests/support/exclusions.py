"""copier.yml's `_exclude` rendered for some answers and matched the way Copier matches it, and the
paths of a resource's files (`resource_files`), so that tests can check that no exclusion takes a
file a resource has, whatever the resource is named.

Copier renders each `_exclude` entry with the answers (and, on `copier update`, the new version's
entries with the *old* version's answers: variables newer than the project may be undefined),
splits it into lines and matches the paths it renders with a gitignore-style PathSpec in which the
last matching line wins.
"""

import hashlib
import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import yaml
from copier._tools import cast_to_bool  # Copier's own reading of a rendered bool
from pathspec import PathSpec

from tests.support.paths import COPIER_YML, TEMPLATE_ROOT
from tests.support.questions import Questions, read_questions

# The answers a project made from 0.1.0 or 0.2.0 records: what the new `_exclude` sees when
# `copier update` re-renders such a project's version (every newer variable undefined).
OLD_ANSWERS: dict[str, Any] = {"use_docker": False, "github_actions": False}


def every_option(on: bool) -> dict[str, Any]:
    """Every option of copier.yml off (False, the first choice: `none`, no multiselect choice)
    or on (True, the last choice, every multiselect choice)."""
    answers: dict[str, Any] = {}
    for option in read_questions(COPIER_YML).options:
        if option.type == "bool":
            answers[option.name] = on
        else:
            value = option.values[-1] if on else option.values[0]
            answers[option.name] = list(value) if isinstance(value, tuple) else value
    return answers


ALL_OFF, ALL_ON = every_option(on=False), every_option(on=True)
# Every way a render sees the exclusions: a service made or updated with every option off or on,
# an update re-rendering an old version, a resource added or updated.
CONTEXTS: dict[str, dict[str, Any]] = {
    "old version re-rendered on update": OLD_ANSWERS | {"_copier_operation": "update"},
    **{
        f"service, options {state}, {operation}": answers
        | {"kind": "service", "_copier_operation": operation}
        for state, answers in (("off", ALL_OFF), ("on", ALL_ON))
        for operation in ("copy", "update")
    },
    **{
        f"resource, {operation}": ALL_OFF | {"kind": "resource", "_copier_operation": operation}
        for operation in ("copy", "update")
    },
}
# The folders a resource's files go to: any file of the template there may share a path with one.
RESOURCE_FOLDERS = (
    "app/models",
    "app/schemas",
    "app/repos",
    "app/services",
    "app/api/v1/routes",
    "alembic/versions",
    "tests/factories",
    "tests/api",
    "tests/api/contracts",
    "tests/services",
)
# Stands for the other name while one of singular and plural is under test.
OTHER = "zz_other"


@cache
def questions() -> Questions:
    return read_questions(COPIER_YML)


@cache
def copier_yml() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(COPIER_YML.read_text())
    return spec


@cache
def compiled(template: str) -> Any:
    return questions().jinja.from_string(template)


def render(template: str, context: Mapping[str, Any]) -> str:
    return str(compiled(template).render(**context))


def listed_resource_files(singular: str, plural: str, kind: str) -> list[str]:
    """`resource_files` of copier.yml, for the resource named so."""
    revision = (
        "0001"
        if kind == "service"
        else hashlib.sha1(singular.encode(), usedforsecurity=False).hexdigest()[:12]
    )
    context = {
        "resource": singular,
        "resource_plural": plural,
        "migration_revision": revision,
        "_copier_conf": {"answers_file": f".copier-answers.resource-{singular}.yml"},
    }
    listed: list[str] = yaml.safe_load(render(copier_yml()["resource_files"]["default"], context))
    return listed


def own_files(listed: list[str], name: str) -> list[str]:
    """The files of `listed` whose paths take `name`: not the registry or the answers file,
    which a resource renders as a part of the service."""
    return [path for path in listed if name in path and not path.startswith(".copier")]


def exclusion_spec(context: Mapping[str, Any]) -> PathSpec[Any]:
    lines = [
        line
        for entry in copier_yml()["_exclude"]
        for line in re.split(r"\r\n|\r|\n", render(entry, context))
    ]
    return PathSpec.from_lines("gitignore", lines)


def names_in_resource_folders() -> set[str]:
    """The names the template's own files take in a resource's folders (test_x_service.py: x),
    their Jinja conditions dropped: the names a resource could collide on."""
    names = set()
    for folder in RESOURCE_FOLDERS:
        for path in (TEMPLATE_ROOT / "template" / folder).glob("*"):
            name = re.sub(r"\{%.*?%\}", "", path.name).removesuffix(".jinja")
            if path.is_file() and "{{" not in name:
                stem = name.split(".")[0]
                names |= {stem, stem.removeprefix("test_").removesuffix("_service")}
    return names


def refusal(name: str, plural: bool, auth: str, tenancy: str = "none") -> str:
    """What the resource questions say about `name` as the singular (or the plural)."""
    macros: Any = questions().jinja.get_template("includes/names.jinja").module
    question = "The plural" if plural else "The resource name"
    message = str(macros.identifier_errors(question, name, plural=plural))
    pair = ("", name) if plural else (name, "")
    if auth == "jwt":
        message += str(macros.auth_name_errors(*pair))
    if auth == "jwt" and tenancy == "organizations":
        message += str(macros.tenancy_name_errors(*pair))
    return message


def excluded_resource_files(names: set[str]) -> Iterator[str]:
    """Each file of a resource named in `names` (as singular or as plural) that an exclusion
    takes in some context, with the context; only names the questions accept there count."""
    for description, context in CONTEXTS.items():
        kind = context.get("kind", "service")
        shared_spec = exclusion_spec(context) if kind != "resource" else None
        for name in sorted(names):
            for plural in (False, True):
                auth, tenancy = context.get("auth", "none"), context.get("tenancy", "none")
                if refusal(name, plural, auth, tenancy):
                    continue
                singular, plural_name = (OTHER, name) if plural else (name, OTHER)
                listed = listed_resource_files(singular, plural_name, kind)
                spec = shared_spec or exclusion_spec(context | {"resource_files": listed})
                for path in own_files(listed, name):
                    if spec.match_file(path):
                        role = "plural" if plural else "resource"
                        yield f"{description}: {role} {name!r} loses {path}"


def with_computed_flags(context: Mapping[str, Any]) -> dict[str, Any]:
    """`context` with copier.yml's computed bools (jwt_auth, otel, ...) that file names use."""
    computed = dict(context)
    for name, question in copier_yml().items():
        computed_bool = isinstance(question, dict) and question.get("when") is False
        if computed_bool and question.get("type") == "bool":
            computed[name] = cast_to_bool(render(question["default"], computed))
    return computed


def service_files(context: Mapping[str, Any]) -> set[str]:
    """The paths of the template's files that are not a resource's (their names do not take the
    resource's), rendered in `context` as Copier renders them: a name that renders empty means no
    file; an excluded path, no file."""
    full = with_computed_flags(context)
    spec = exclusion_spec(full | {"resource_files": []})
    root = TEMPLATE_ROOT / "template"
    paths = set()
    for source in root.rglob("*"):
        relative = source.relative_to(root).as_posix().removesuffix(".jinja")
        if not source.is_file() or "{{" in relative:
            continue
        parts = [render(part, full) for part in relative.split("/")]
        path = "/".join(parts)
        if all(parts) and not spec.match_file(path):
            paths.add(path)
    return paths


def unrefused_collisions(names: set[str]) -> Iterator[str]:
    """Each name the questions accept as a resource's (singular or plural) although a file of
    the service already has one of the resource's paths, with or without every option."""
    for state, answers in (("off", ALL_OFF), ("on", ALL_ON)):
        taken = service_files(answers | {"kind": "service", "_copier_operation": "copy"})
        for name in sorted(names):
            for plural in (False, True):
                singular, plural_name = (OTHER, name) if plural else (name, OTHER)
                listed = listed_resource_files(singular, plural_name, "service")
                clashes = [path for path in own_files(listed, name) if path in taken]
                if clashes and not refusal(name, plural, answers["auth"], answers["tenancy"]):
                    role = "plural" if plural else "resource"
                    yield f"options {state}: {role} {name!r} is accepted but {clashes} exist"
