"""Writes docs/question-reference.md from copier.yml, so the reference cannot drift from it.

    uv run python -m tools.questions_reference          # rewrite the page after changing copier.yml
    uv run python -m tools.questions_reference --check  # exit 1 when the page is out of date

Everything on the page comes from copier.yml (help, type, choices, default, validator, when it is
asked) or from rendering the template: each answer's default as `copier copy --defaults` gives it,
and, for yes/no and multiple-choice questions, the files each answer adds (one render per answer).
tests/test_docs.py runs the check, so a question added without regenerating the page fails CI.
"""

import argparse
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from copier import run_copy

ROOT = Path(__file__).resolve().parent.parent
COPIER_YML = ROOT / "copier.yml"
PAGE = ROOT / "docs" / "question-reference.md"
EXAMPLE_FOLDER = "my-service"  # defaults derived from the destination folder's name use this
# Computed answers that list files by path; a question named in a path "names" that file.
FILE_LISTS = ("resource_files",)
PLACEHOLDER = re.compile(r"\{\{\s*([\w.]+)[^}]*\}\}")
WHEN = {
    None: "when creating a service and when adding a resource",
    "{{ kind == 'service' }}": "when creating a service",
    "{{ kind == 'resource' }}": "when adding a resource",
    "{{ kind == 'service' and jobs == 'procrastinate' }}": (
        "when creating a service with `jobs: procrastinate`"
    ),
    "{{ kind == 'service' and auth == 'jwt' }}": "when creating a service with `auth: jwt`",
    "{{ kind == 'service' and auth == 'jwt' and auth_api_keys }}": (
        "when creating a service with `auth: jwt` and `auth_api_keys`"
    ),
    "{{ kind == 'resource' and auth == 'jwt' }}": (
        "when adding a resource to a service with `auth: jwt`"
    ),
    "{{ kind == 'service' and auth == 'jwt' and tenancy == 'organizations' }}": (
        "when creating a service with `auth: jwt` and `tenancy: organizations`"
    ),
    "{{ kind == 'resource' and auth == 'jwt' and tenancy == 'organizations' }}": (
        "when adding a resource to a service with `tenancy: organizations`"
    ),
}

Files = frozenset[str]


@dataclass(frozen=True)
class Question:
    name: str
    spec: Mapping[str, Any]

    @property
    def computed(self) -> bool:
        """Never asked, never recorded: derived from the other answers."""
        return self.spec.get("when") is False

    @property
    def recorded_only(self) -> bool:
        return self.spec.get("ask") is False

    @property
    def for_service(self) -> bool:
        return self.spec.get("when") in (None, "{{ kind == 'service' }}")

    @property
    def choices(self) -> list[Any]:
        """The values of the choices (`choices` may map labels to values)."""
        choices = self.spec.get("choices", [])
        return list(choices.values() if isinstance(choices, Mapping) else choices)

    @property
    def alternatives(self) -> list[Any]:
        """Every answer a yes/no or multiple-choice question takes; none for free text. For a
        multiselect, each choice alone, as a tuple (a hashable answer)."""
        if self.spec.get("type") == "bool":
            return [True, False]
        if self.spec.get("multiselect"):
            return [(choice,) for choice in self.choices]
        return self.choices


def questions(config: Mapping[str, Any]) -> list[Question]:
    return [Question(name, spec) for name, spec in config.items() if not name.startswith("_")]


def render(answers: Mapping[str, Any]) -> tuple[Files, dict[str, Any]]:
    """The files of a service rendered from this checkout with `answers`, and its answers file."""
    with tempfile.TemporaryDirectory() as parent:
        destination = Path(parent) / EXAMPLE_FOLDER
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Copier warns that uncommitted changes are included
            data = {
                name: list(value) if isinstance(value, tuple) else value
                for name, value in answers.items()
            }
            run_copy(str(ROOT), destination, data=data, defaults=True, quiet=True)
        files = frozenset(
            str(path.relative_to(destination))
            for path in destination.rglob("*")
            if path.is_file() and ".git" not in path.relative_to(destination).parts
        )
        recorded = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    return files, recorded


Variation = tuple[str, Any] | None  # one question's answer changed from its default, or none


@dataclass(frozen=True)
class Renders:
    """The files of every render the page needs (by variation), and the default answers."""

    files: dict[Variation, Files]
    example: dict[str, Any]

    def files_by_answer(self, question: Question) -> dict[Any, Files]:
        """For each answer of `question`, the files rendered only with that answer."""
        rendered = {
            value: self.files[variation(question, value)] for value in question.alternatives
        }
        # Against the default render too: a multiselect's default (none) is not an alternative.
        common = frozenset.intersection(self.files[None], *rendered.values())
        return {value: files - common for value, files in rendered.items()}


def variation(question: Question, value: Any) -> Variation:
    return None if value == question.spec.get("default") else (question.name, value)


def render_all(service_questions: Iterable[Question]) -> Renders:
    """The default render and one per other answer of each question, two or more at a time."""
    variations: list[Variation] = [None]
    for question in service_questions:
        variations += [variation(question, value) for value in question.alternatives]
    variations = list(dict.fromkeys(variations))
    answers = [dict([changed]) if changed else {} for changed in variations]
    with ProcessPoolExecutor(max_workers=min(len(answers), os.cpu_count() or 1)) as pool:
        results = list(pool.map(render, answers))
    files = {changed: files for changed, (files, _) in zip(variations, results, strict=True)}
    return Renders(files, example=results[0][1])


def named_files(question: Question, config: Mapping[str, Any]) -> list[str]:
    """Paths of FILE_LISTS that contain the answer, with each answer shown as <name>."""
    paths = []
    for listing in FILE_LISTS:
        for line in str(config[listing]["default"]).splitlines():
            path = line.removeprefix("- ").strip()
            if question.name in PLACEHOLDER.findall(path):
                paths.append(PLACEHOLDER.sub(r"<\1>", path))
    return paths


def code(value: Any) -> str:
    value = list(value) if isinstance(value, tuple) else value  # a multiselect's answer
    text = yaml.safe_dump(value, default_flow_style=True).removesuffix("\n...\n").strip()
    if isinstance(value, str):
        text = value
    fence = "``" if "`" in text else "`"
    padding = " " if fence == "``" else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def block(text: str, language: str = "jinja") -> list[str]:
    """A code block; Jinja that YAML folded into one line gets a line per statement again."""
    return ["", f"```{language}", re.sub(r"\s+(?=\{%)", "\n", text.strip()), "```", ""]


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def answer_lines(question: Question, config: Mapping[str, Any], renders: Renders) -> list[str]:
    spec = question.spec
    lines = [f"### `{question.name}`", "", " ".join(str(spec.get("help", "")).split()), ""]
    asked = "recorded, never asked" if question.recorded_only else "asked " + WHEN[spec.get("when")]
    lines.append(f"- **When:** {asked}")
    lines.append(f"- **Type:** `{spec.get('type', 'str')}`")
    if "choices" in spec:
        many = " (any number of them: a list)" if spec.get("multiselect") else ""
        lines.append("- **Choices:** " + ", ".join(map(code, question.choices)) + many)
    default = spec.get("default")
    if question.name in renders.example:
        lines.append(
            f"- **Default** (`copier copy --defaults` into `{EXAMPLE_FOLDER}/`): "
            + code(renders.example[question.name])
        )
    elif not is_template(default):
        lines.append(f"- **Default:** {code(default)}")
    if question.alternatives and question.for_service:
        added = renders.files_by_answer(question)
        adds = [
            f"{code(value)} adds " + ", ".join(code(name) for name in sorted(names))
            for value, names in added.items()
            if names
        ]
        lines.append("- **Files it adds:** " + ("; ".join(adds) or "none; it changes contents"))
    if named := named_files(question, config):
        lines.append("- **Names the files:** " + ", ".join(code(path) for path in named))
    if is_template(default):
        lines += ["- **Default, as computed in `copier.yml`:**", *block(str(default))]
    if "validator" in spec:
        lines += ["- **Validation** (the message is the refusal; no message, accepted):"]
        lines += block(spec["validator"])
    return [*lines, ""]


def computed_lines(computed: Iterable[Question]) -> list[str]:
    lines = ["## Computed values", "", "Never asked, never recorded: derived on every render.", ""]
    for question in computed:
        lines += [f"### `{question.name}`", "", f"- **Type:** `{question.spec.get('type')}`"]
        lines += ["- **Computed as:**", *block(str(question.spec.get("default")))]
    return lines


def render_page() -> str:
    config = yaml.safe_load(COPIER_YML.read_text())
    everything = questions(config)
    asked = [question for question in everything if not question.computed]
    recorded = [question for question in asked if question.recorded_only]
    renders = render_all(question for question in asked if question.for_service)
    lines = [
        "# Question reference",
        "",
        "<!-- Generated from copier.yml by `uv run python -m tools.questions_reference`:",
        "     edit copier.yml, then run that command; tests/test_docs.py fails when stale. -->",
        "",
        "Every question of `copier.yml`, in the order Copier asks them, as Copier sees it. "
        "[Answering the questions](questions.md) explains them with examples; this page is "
        "generated from the template itself, so it is always complete.",
        "",
        "## Questions",
        "",
    ]
    for question in asked:
        if question not in recorded:
            lines += answer_lines(question, config, renders)
    lines += ["## Recorded without asking", ""]
    for question in recorded:
        lines += answer_lines(question, config, renders)
    lines += computed_lines(question for question in everything if question.computed)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).rstrip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is out of date")
    page = render_page()
    if parser.parse_args().check:
        if PAGE.read_text() != page:
            print(f"{PAGE} is out of date: run `uv run python -m tools.questions_reference`")
            return 1
        return 0
    PAGE.write_text(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
