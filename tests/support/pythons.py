"""The Python interpreters rendered projects run on."""

import os
import subprocess
from functools import cache
from pathlib import Path

import pytest


@cache
def python_for(version: str) -> Path:
    """An interpreter for `version`: whatever uv finds, else a pyenv installation."""
    found = subprocess.run(
        ["uv", "python", "find", "--no-project", version],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"UV_PYTHON_DOWNLOADS": "never"},
    )
    if found.returncode == 0:
        return Path(found.stdout.strip())
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = sorted(pyenv_root.glob(f"versions/{version}.*/bin/python{version}"), reverse=True)
    if candidates:
        return candidates[0]
    pytest.fail(f"Python {version} is needed to test rendered projects; install it (uv or pyenv).")
