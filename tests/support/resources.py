"""Resources added to a rendered service in process, fast enough for a hundred names, and the
ruff checks of what they render.

The renders run through Copier's API in resource mode beside one service rendered once (the files
`tools.add_resource` writes are the files every resource has), so references are covered too.
"""

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
from copier import run_copy

from tests.support.paths import TEMPLATE_ROOT

Answers = dict[str, str]


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


def template_copy(folder: Path) -> Path:
    """The template's files in `folder`, outside git, so that Copier copies them instead of
    cloning."""
    copy = folder / "template"
    copy.mkdir()
    shutil.copy2(TEMPLATE_ROOT / "copier.yml", copy)
    for name in ("includes", "template"):
        shutil.copytree(TEMPLATE_ROOT / name, copy / name)
    return copy


def render_service(template: Path, destination: Path, answers: Answers) -> Path:
    with warnings.catch_warnings(), compiled_once():
        warnings.simplefilter("ignore")
        run_copy(str(template), destination, data=answers, defaults=True, quiet=True)
    return destination


def add_resource(template: Path, project: Path, answers: Answers) -> Path:
    """`project` with the resource of `answers` added, as tools.add_resource adds it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_copy(
            str(template),
            project,
            answers_file=f".copier-answers.resource-{answers['resource']}.yml",
            data=answers,
            defaults=True,
            overwrite=True,
            quiet=True,
        )
    return project


def add_to_copy(template: Path, service: Path, destination: Path, answers: Answers) -> Path:
    """A copy of `service` with the resource of `answers` added."""
    shutil.copytree(service, destination)
    return add_resource(template, destination, answers)


def reproduce(answers: Answers) -> str:
    """The command that adds the same resource to a service made with the defaults."""
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
