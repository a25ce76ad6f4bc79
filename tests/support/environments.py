"""One uv environment per dependency set, shared by the rendered projects that have it.

Rendered projects are not packages (`[tool.uv] package = false`): their environment holds their
dependencies only, never the project itself, so projects with the same dependencies and Python
can share one, through UV_PROJECT_ENVIRONMENT. It is synced once per test run (under a file
lock, as pytest-xdist workers share the run's directory) and only read afterwards; every
project's own files (caches, .postgres/, uv.lock) stay in the project.
"""

import fcntl
import hashlib
import json
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.project import Project

# What decides an environment's contents; a project's name, description or tool settings do not.
DEPENDENCY_KEYS = ("dependencies", "optional-dependencies", "requires-python")


def dependency_key(project: Project, python: Path) -> str:
    pyproject = tomllib.loads((project.path / "pyproject.toml").read_text())
    deciding = {
        "project": {key: pyproject["project"].get(key) for key in DEPENDENCY_KEYS},
        "dependency-groups": pyproject.get("dependency-groups"),
        "uv": pyproject.get("tool", {}).get("uv"),
        "python": str(python.resolve()),
    }
    return hashlib.sha256(json.dumps(deciding, sort_keys=True).encode()).hexdigest()[:16]


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if missing); fcntl, as the tests run on POSIX."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Environments:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def sync(self, project: Project, python: Path) -> Project:
        """`project` using the environment of its dependency set, synced on first use."""
        key = dependency_key(project, python)
        environment = self.root / key
        with locked(self.root / f"{key}.lock"):
            if not (environment / ".synced-by-tests").exists():
                Project(project.path, environment).sync(python)
                (environment / ".synced-by-tests").touch()
        shared = Project(project.path, environment)
        if not (project.path / "uv.lock").exists():
            # The lock a developer's own `uv sync` would have written (it names the project).
            shared.run("uv", "lock", "--quiet", "--python", str(python))
        return shared
