"""Running Copier for the resource commands, with the template this project was made from:
a refused answer (a bad name or field spec) becomes one line, a failure the last line of
Copier's traceback."""

import os
import re
import subprocess
from pathlib import Path

import yaml

from tools.resource_project import PROJECT_DIR

COPIER = ["uvx", "--from", "copier>=9.19", "copier"]
# Copier's answer to a refused name or field spec, inside its traceback.
REFUSED = re.compile(r"Validation error for question '\w+': (.+)")
# Copier re-renders a resource's old version away from the project, where the service's files
# it reads are missing, and warns about each (MissingFileWarning), harmlessly.
QUIET_WARNINGS = "ignore:File not found; returning empty dict"


class CopierError(Exception):
    """Copier did not finish: `refused` when it refused an answer (the message is Copier's),
    otherwise the last line of its report."""

    def __init__(self, message: str, *, refused: bool) -> None:
        super().__init__(message)
        self.refused = refused


def data_options(data: dict[str, str]) -> list[str]:
    return [option for key, value in data.items() for option in ("--data", f"{key}={value}")]


def run_copier(arguments: list[str], *, quiet: bool = False) -> str:
    """Copier with `arguments`, in the project; what it reported (standard error)."""
    command = [*COPIER, *arguments]
    environment = os.environ | {"PYTHONWARNINGS": QUIET_WARNINGS}
    result = subprocess.run(
        command,
        cwd=PROJECT_DIR,
        env=environment,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL if quiet else None,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        if refused := REFUSED.findall(result.stderr):
            raise CopierError(refused[-1], refused=True)
        last = result.stderr.strip().splitlines()[-1:] or [f"exit status {result.returncode}"]
        raise CopierError(last[0], refused=False)
    return result.stderr


def update(answers_file: str, version: str, data: dict[str, str] | None = None) -> str:
    """`copier update` of the answers file to the template's `version`, with answers `data`
    changed (the others as recorded); Copier's report."""
    arguments = ["update", "--defaults", "--quiet", "--vcs-ref", version]
    arguments += ["--answers-file", answers_file, *data_options(data or {})]
    return run_copier(arguments, quiet=True)


def render(answers_file: str, version: str, answers: dict[str, object], destination: Path) -> None:
    """`copier copy` of the template at `version` into `destination` with every answer given
    (`answers`, as an answers file records them, plus `_src_path`): the project as those
    answers make it, or, with a resource's answers file, that resource's files."""
    data_file = destination.with_suffix(".answers.yml")
    given = {key: value for key, value in answers.items() if not key.startswith("_")}
    data_file.write_text(yaml.safe_dump(given))
    arguments = ["copy", "--defaults", "--overwrite", "--quiet", "--vcs-ref", version]
    arguments += ["--answers-file", answers_file, "--data-file", str(data_file)]
    run_copier([*arguments, str(answers["_src_path"]), str(destination)], quiet=True)
