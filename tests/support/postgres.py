"""The PostgreSQL server that rendered projects' checks share."""

import importlib.util
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.paths import TEMPLATE_ROOT


def load_local_postgres() -> ModuleType:
    """The template's own tools/local_postgres.py, reused here rather than copied."""
    path = TEMPLATE_ROOT / "template" / "tools" / "local_postgres.py"
    spec = importlib.util.spec_from_file_location("local_postgres", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class PostgresServer:
    """TEST_DATABASE_URL's server, or a throwaway one started from the installed binaries."""

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

    def query(self, url: str, sql: str) -> str:
        """Run `sql` with psql on the database at `url`; returns its unaligned output."""
        command = [str(self.psql), url.replace("+asyncpg", ""), "-qAt", "-v", "ON_ERROR_STOP=1"]
        result = subprocess.run([*command, "-c", sql], check=True, capture_output=True, text=True)
        return result.stdout.strip()

    def stop(self) -> None:
        if self.local is not None:
            self.local.stop()
            shutil.rmtree(self.local.data_dir, ignore_errors=True)
