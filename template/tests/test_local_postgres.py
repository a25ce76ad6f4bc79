"""Finding PostgreSQL's server binaries, the message when there are none, and the suite's
throwaway server begun early (tests/postgres_start.py)."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.database import PROJECT_DIR
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


# A pytest run in a child process, with TMPDIR in the scratch directory given as argv[1]: prints
# its exit code, then the port of the throwaway server tests/postgres_start.py began (0: none
# began), before the child's exit hooks run.
RUN_THEN_REPORT = """
import sys, time
from pathlib import Path
import pytest
code = pytest.main(sys.argv[2:])
began = list(Path(sys.argv[1]).iterdir())
for _ in range(300 if began else 0):  # until it listens
    if (began[0] / "postmaster.pid").exists():
        break
    time.sleep(0.1)
port = int((began[0] / "postmaster.pid").read_text().splitlines()[3]) if began else 0
print(int(code), port)
"""


# pytest with only tests/postgres_start.py as a plugin, and no conftest: the others would only
# make the child slower.
ONLY_THE_EARLY_START = ["-o", "addopts=-p tests.postgres_start", "--noconftest"]


def run_then_report(scratch: Path, *arguments: str) -> tuple[int, int]:
    """(pytest's exit code, the port its early server listened on or 0), `scratch` afterwards
    being the child's temporary directory."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"TEST_DATABASE_URL", "PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS"}
    }
    child = subprocess.run(  # noqa: S603  (this interpreter running pytest)
        [sys.executable, "-c", RUN_THEN_REPORT, str(scratch), *ONLY_THE_EARLY_START, *arguments],
        cwd=PROJECT_DIR,
        env=environment | {"TMPDIR": str(scratch), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    code, port = child.stdout.split()[-2:]
    return int(code), int(port)


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A temporary directory the server's own OS user can reach (the server runs as it when
    the suite runs as root)."""
    path = Path(tempfile.mkdtemp(prefix="postgres-start-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_run_that_stops_before_its_tests_stops_the_server_it_began(scratch: Path) -> None:
    """The server starts while pytest reads its options; a usage error found after that (an
    unknown option) ends the run before the conftest takes the server: it is stopped and its
    directory deleted at exit all the same."""
    code, port = run_then_report(scratch, "--no-such-option")
    assert code == pytest.ExitCode.USAGE_ERROR
    assert port > 0  # it had started
    assert list(scratch.iterdir()) == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_a_run_that_runs_no_test_starts_no_server(scratch: Path) -> None:
    code, port = run_then_report(scratch, "--collect-only", "-q", "tests/fakes.py")
    assert (code, port) == (pytest.ExitCode.NO_TESTS_COLLECTED, 0)
    assert list(scratch.iterdir()) == []
