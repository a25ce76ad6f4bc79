"""A rendered project on disk and the commands its developers run in it."""

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copier import run_copy

from tests.support.git import commit, git

# A developer's environment in the project: no virtualenv of ours leaking in, no database chosen
# for it (tests pass TEST_DATABASE_URL or DATABASE_URL explicitly), no Python downloads.
# pytest-xdist's worker variables would make a rendered suite think it is one of our workers.
LEAKS = {"VIRTUAL_ENV", "PYTHONPATH", "UV_PROJECT_ENVIRONMENT", "TEST_DATABASE_URL", "DATABASE_URL"}
ISOLATED_ENV = {
    key: value
    for key, value in os.environ.items()
    if key not in LEAKS and not key.startswith("PYTEST_")
} | {
    "UV_PYTHON_DOWNLOADS": "never",
    "NO_COLOR": "1",
}

# What running the tools leaves in a project (git ignores them).
TOOL_CACHES = {".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"}


@dataclass(frozen=True)
class Project:
    path: Path
    environment: Path | None = None  # a shared uv environment (tests/support/environments.py)

    @property
    def environ(self) -> dict[str, str]:
        """The environment variables of commands run in the project."""
        if self.environment is None:
            return ISOLATED_ENV
        # Projects sharing an environment share a mypy cache too: a cold `mypy --strict` spends
        # ~15 CPU-seconds on the dependencies, the same for all of them. mypy's incremental cache
        # checks each module's source hash, so a project's own modules are rechecked wherever
        # they differ, and it writes its files atomically (pytest-xdist workers share it).
        return ISOLATED_ENV | {
            "UV_PROJECT_ENVIRONMENT": str(self.environment),
            "MYPY_CACHE_DIR": str(self.environment.with_name(f"{self.environment.name}.mypy")),
        }

    def run(self, *command: str, env: dict[str, str] | None = None) -> str:
        """Run `command` in the project; fail the test with its output when it fails."""
        result = subprocess.run(
            command,
            cwd=self.path,
            env=self.environ | (env or {}),
            capture_output=True,
            text=True,
            check=False,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, (
            f"`{' '.join(command)}` exited with {result.returncode} in {self.path}:\n{output}"
        )
        return output

    def uv_run(self, *command: str, env: dict[str, str] | None = None) -> str:
        return self.run("uv", "run", "--no-sync", *command, env=env)

    def sync(self, python: Path) -> None:
        self.run("uv", "sync", "--quiet", "--python", str(python))

    def text_files(self) -> dict[Path, str]:
        """Every text file but tool caches and the virtualenv, by path relative to the project."""
        skipped = {".venv", ".git", "__pycache__", ".postgres"} | TOOL_CACHES
        files = {}
        for path in sorted(self.path.rglob("*")):
            relative = path.relative_to(self.path)
            if path.is_file() and not skipped & set(relative.parts):
                files[relative] = path.read_text(encoding="utf-8")
        return files


def start(template: Path, destination: Path, answers: dict[str, Any], ref: str | None) -> Project:
    """Copy the template at `ref` and commit the result, as a user starting out would."""
    run_copy(str(template), destination, data=answers, vcs_ref=ref, defaults=True, quiet=True)
    git("init", "--quiet", "--initial-branch=main", cwd=destination)
    commit(destination, "Start from the template")
    return Project(destination)
