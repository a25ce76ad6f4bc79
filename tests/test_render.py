"""What every rendered variant must look like on disk, before running anything in it."""

import re
from pathlib import Path

import yaml

from tests.conftest import TEMPLATE_ROOT, Variant

JINJA_LEFTOVER = re.compile(r"\{\{|\{%|\{#|%\}|#\}")
# GitHub Actions expressions look like Jinja and must survive rendering untouched.
GITHUB_EXPRESSION = re.compile(r"\$\{\{[^}]*\}\}")
EMPTY_ALLOWED = {"__init__.py", "py.typed"}
TEMPLATE_REPO_ONLY = {"copier.yml", "includes", "CHANGELOG.md", ".ci", "template"}
QUESTION_SPECS = {
    name: spec
    for name, spec in yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text()).items()
    if not name.startswith("_")
}
# A service records the questions asked when creating one; computed values (`when: false`),
# questions about adding a resource and secrets are never recorded in it.
SECRETS = {name for name, spec in QUESTION_SPECS.items() if spec.get("secret")}
QUESTIONS = {
    name
    for name, spec in QUESTION_SPECS.items()
    if spec.get("when") in (None, "{{ kind == 'service' }}")
} - SECRETS


def test_no_jinja_is_left_unrendered(variant: Variant) -> None:
    leftovers = [
        f"{path}: {match.group()}"
        for path, text in variant.project.text_files().items()
        for match in JINJA_LEFTOVER.finditer(GITHUB_EXPRESSION.sub("", text))
    ]
    assert leftovers == []


def test_no_file_is_empty_unless_meant_to_be(variant: Variant) -> None:
    empty = [
        path
        for path, text in variant.project.text_files().items()
        if not text.strip() and path.name not in EMPTY_ALLOWED
    ]
    assert empty == []


def test_nothing_of_the_template_repository_leaks(variant: Variant) -> None:
    paths = variant.project.text_files()
    assert not [path for path in paths if path.suffix == ".jinja"]
    assert not TEMPLATE_REPO_ONLY & {path.parts[0] for path in paths}


def test_the_answers_file_records_every_question_and_the_source(variant: Variant) -> None:
    recorded = yaml.safe_load((variant.project.path / ".copier-answers.yml").read_text())
    questions = {key for key in recorded if not key.startswith("_")}
    assert questions == QUESTIONS
    assert not questions & SECRETS
    assert Path(recorded["_src_path"]).is_absolute()
    assert recorded["_commit"]
    assert {key: recorded[key] for key in variant.answers} == variant.answers


def test_the_resource_files_carry_its_names(variant: Variant) -> None:
    resource, plural = variant.answers["resource"], variant.answers["resource_plural"]
    expected = [
        f"app/models/{resource}.py",
        f"app/schemas/{resource}.py",
        f"app/repos/{resource}.py",
        f"app/services/{resource}.py",
        f"app/api/v1/routes/{plural}.py",
        f"alembic/versions/0001_create_{plural}.py",
        f"tests/api/test_{plural}.py",
        f"tests/services/test_{resource}_service.py",
        f"tests/factories/{resource}.py",
    ]
    assert [path for path in expected if not (variant.project.path / path).is_file()] == []
