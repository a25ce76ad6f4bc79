"""Finding PostgreSQL's server binaries, and the message when there are none."""

import shutil
from pathlib import Path

import pytest

from tools import local_postgres
from tools.local_postgres import INSTALL_HINT, PostgresUnavailableError, find_bindir


@pytest.fixture
def no_postgres_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PG_BINDIR", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(local_postgres, "glob", lambda pattern: [])


@pytest.mark.usefixtures("no_postgres_installed")
def test_without_binaries_the_error_says_what_to_install_or_set() -> None:
    with pytest.raises(PostgresUnavailableError) as missing:
        find_bindir()
    assert str(missing.value) == INSTALL_HINT
    assert "apt install postgresql" in INSTALL_HINT
    assert "TEST_DATABASE_URL" in INSTALL_HINT


@pytest.mark.usefixtures("no_postgres_installed")
def test_pg_bindir_points_at_the_binaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for tool in ("initdb", "pg_ctl"):
        (tmp_path / tool).touch()
    monkeypatch.setenv("PG_BINDIR", str(tmp_path))
    assert find_bindir() == tmp_path
