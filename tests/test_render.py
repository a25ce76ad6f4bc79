"""What every rendered combination must look like on disk, before running anything in it."""

import re
from pathlib import Path

import yaml
from copier._tools import cast_to_bool

from tests.support.combinations import Rendered
from tests.support.options import TOGGLES
from tests.support.paths import COPIER_YML
from tests.support.questions import read_questions

JINJA_LEFTOVER = re.compile(r"\{\{|\{%|\{#|%\}|#\}")
# GitHub Actions expressions look like Jinja and must survive rendering untouched.
GITHUB_EXPRESSION = re.compile(r"\$\{\{[^}]*\}\}")
# The template's docs, copied as they are: they show its Jinja (file names, answers' defaults).
VERBATIM_DOCS = "docs/template/"
EMPTY_ALLOWED = {"__init__.py", "py.typed"}
TEMPLATE_REPO_ONLY = {"copier.yml", "includes", "CHANGELOG.md", ".ci", "template"}
QUESTION_SPECS = {
    name: spec
    for name, spec in yaml.safe_load(COPIER_YML.read_text()).items()
    if not name.startswith("_")
}
QUESTIONS = read_questions(COPIER_YML)
SECRETS = {name for name, spec in QUESTION_SPECS.items() if spec.get("secret")}


def recorded_questions(rendered: Rendered) -> set[str]:
    """A service records the questions asked when creating it: its options and the free-text
    questions whose `when:` holds. Computed values, questions about adding a resource and
    secrets are never recorded in it."""
    options = rendered.combination.options
    asked = {
        name
        for name in QUESTIONS.free_text
        if cast_to_bool(QUESTIONS.render(QUESTION_SPECS[name].get("when", True), options, name))
    }
    return (asked | set(options)) - SECRETS


def test_no_jinja_is_left_unrendered(rendered: Rendered) -> None:
    leftovers = [
        f"{path}: {match.group()}"
        for path, text in rendered.project.text_files().items()
        if not str(path).startswith(VERBATIM_DOCS)
        for match in JINJA_LEFTOVER.finditer(GITHUB_EXPRESSION.sub("", text))
    ]
    assert leftovers == []


def test_no_file_is_empty_unless_meant_to_be(rendered: Rendered) -> None:
    empty = [
        path
        for path, text in rendered.project.text_files().items()
        if not text.strip() and path.name not in EMPTY_ALLOWED
    ]
    assert empty == []


def test_nothing_of_the_template_repository_leaks(rendered: Rendered) -> None:
    paths = rendered.project.text_files()
    assert not [path for path in paths if path.suffix == ".jinja"]
    assert not TEMPLATE_REPO_ONLY & {path.parts[0] for path in paths}


def test_the_answers_file_records_every_question_and_the_source(rendered: Rendered) -> None:
    recorded = yaml.safe_load((rendered.project.path / ".copier-answers.yml").read_text())
    questions = {key for key in recorded if not key.startswith("_")}
    assert questions == recorded_questions(rendered)
    assert not questions & SECRETS
    assert Path(recorded["_src_path"]).is_absolute()
    assert recorded["_commit"]
    assert {key: recorded[key] for key in rendered.answers} == rendered.answers


def test_the_resource_files_carry_its_names(rendered: Rendered) -> None:
    resource, plural = rendered.answers["resource"], rendered.answers["resource_plural"]
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
    assert [path for path in expected if not (rendered.project.path / path).is_file()] == []


def test_each_option_has_its_files_exactly_when_on(rendered: Rendered) -> None:
    """Checked where the option is fully on or off; a multiselect's other values (one choice of
    several) have their own file checks (tests/test_observability.py)."""
    wrong = []
    for toggle in TOGGLES:
        value = rendered.combination.options.get(toggle.option)
        if value not in (toggle.on, toggle.off):
            continue
        for path in toggle.files:
            if (rendered.project.path / path).exists() != (value == toggle.on):
                wrong.append(f"{path} ({toggle.option}={value})")
    assert wrong == []
