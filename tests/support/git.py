"""Git commands for the tests, with a fixed identity so that commits work on any machine."""

import os
import subprocess
from pathlib import Path

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
}


def git(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | GIT_IDENTITY,
    )
    return result.stdout.strip()


def commit(repository: Path, message: str) -> None:
    """Commit everything in `repository`, changed or not."""
    git("add", "--all", cwd=repository)
    git("commit", "--quiet", "--allow-empty", "-m", message, cwd=repository)
