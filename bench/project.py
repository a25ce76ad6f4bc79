"""The project under test: the template's default answers rendered from this checkout, with its
development environment installed, plus what the harness runs in it (orjson for R0)."""

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.errors import HarnessError
from tests.support.paths import TEMPLATE_ROOT
from tests.support.project import ISOLATED_ENV, Project
from tests.support.pythons import python_for

PROJECT_NAME = "Bench"
REFERENCE_EXTRAS = ("orjson",)  # what R0 needs beyond the project's own dependencies

# Cursors made by the rendered project's own encoder, one per id read from standard input.
ENCODE_CURSORS = """
import sys
from app.core.cursor import encode_cursor
print("\\n".join(encode_cursor("id", [int(line)]) for line in sys.stdin))
"""


@dataclass(frozen=True)
class RenderedProject:
    project: Project
    render_seconds: float

    @property
    def path(self) -> Path:
        return self.project.path

    @property
    def python(self) -> Path:
        return self.path / ".venv" / "bin" / "python"

    def run_python(self, *args: str, env: dict[str, str] | None = None, stdin: str = "") -> str:
        """Run the project's interpreter in the project directory; returns standard output."""
        result = subprocess.run(
            [str(self.python), *args],
            cwd=self.path,
            env=ISOLATED_ENV | (env or {}),
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            command = " ".join(args)
            raise HarnessError(f"`python {command}` failed in {self.path}:\n{result.stderr}")
        return result.stdout

    def migrate(self, database_url: str) -> None:
        self.run_python("-m", "alembic", "upgrade", "head", env={"DATABASE_URL": database_url})

    def cursors_after(self, ids: list[int]) -> list[str]:
        """The cursors of the pages that start right after each id, in the project's own format."""
        output = self.run_python("-c", ENCODE_CURSORS, stdin="".join(f"{id_}\n" for id_ in ids))
        return output.split()


def render(
    target: Path,
    extras: tuple[str, ...] = REFERENCE_EXTRAS,
    answers: dict[str, str] | None = None,
    vcs_ref: str = "HEAD",
) -> RenderedProject:
    """`copier copy --defaults` of this checkout's commit `vcs_ref` into `target` (with `answers`
    beside the defaults), timed, then `uv sync` and the `extras` installed beside the project's
    dependencies."""
    command = [sys.executable, "-m", "copier", "copy", "--defaults", f"--vcs-ref={vcs_ref}"]
    command += ["--quiet"]
    for name, value in ({"project_name": PROJECT_NAME} | (answers or {})).items():
        command += ["-d", f"{name}={value}"]
    command += [str(TEMPLATE_ROOT), str(target)]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    render_seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise HarnessError(f"copier copy failed:\n{result.stderr}")
    project = Project(target)
    version = (target / ".python-version").read_text().strip()
    try:
        python = python_for(version)
    except pytest.fail.Exception as error:
        raise HarnessError(str(error)) from error
    project.sync(python)
    install = [
        "uv",
        "pip",
        "install",
        "--quiet",
        "--python",
        str(target / ".venv" / "bin" / "python"),
    ]
    if extras:
        project.run(*install, *extras)
    return RenderedProject(project, render_seconds)
