"""Fixtures for rendering the template and running what rendered projects ship with."""

import importlib.util
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.project import Project
from tests.variants import VARIANTS, answers

TEMPLATE_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Variant:
    name: str
    project: Project
    answers: dict[str, Any]


def load_local_postgres() -> ModuleType:
    """The template's own tools/local_postgres.py, reused here rather than copied."""
    path = TEMPLATE_ROOT / "template" / "tools" / "local_postgres.py"
    spec = importlib.util.spec_from_file_location("local_postgres", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


class PostgresServer:
    """The PostgreSQL server the rendered projects' test suites share: TEST_DATABASE_URL's, or a
    throwaway one started from the installed binaries."""

    def __init__(self) -> None:
        local_postgres = load_local_postgres()
        self.local = None
        try:
            self.psql = local_postgres.find_bindir() / "psql"
            if url := os.environ.get("TEST_DATABASE_URL"):
                self.admin_url = url
                return
            self.local = local_postgres.LocalPostgres(
                Path(tempfile.mkdtemp(prefix="template-tests-pg-")), durable=False
            )
            self.local.start()
        except local_postgres.PostgresUnavailableError as error:
            pytest.fail(str(error))
        self.admin_url = self.local.url()

    def create_database(self, name: str) -> str:
        """A new, empty database; returns its asyncpg URL."""
        admin = self.admin_url.replace("+asyncpg", "")
        for statement in (f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'):
            command = [str(self.psql), admin, "--quiet", "-c", statement]
            subprocess.run(command, check=True, capture_output=True)
        return self.admin_url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        if self.local is not None:
            self.local.stop()
            shutil.rmtree(self.local.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(scope="session", params=list(VARIANTS))
def variant(request: pytest.FixtureRequest, copie_session: Any) -> Variant:
    """A rendered variant, rendered once per test session."""
    name: str = request.param
    result = copie_session.copy(extra_answers=answers(name))
    assert result.exit_code == 0, result.exception
    return Variant(name, Project(result.project_dir), result.answers)


@pytest.fixture(scope="session")
def synced(variant: Variant) -> Variant:
    """The variant with its development environment installed (`uv sync`)."""
    variant.project.sync(python_for(variant.answers["python_version"]))
    return variant
