"""A PostgreSQL server run from the installed server binaries, for local development and tests.

Hand-written instead of using pytest-postgresql, because that plugin cannot start the server as
root (PostgreSQL refuses to run as root; here it then runs as the unprivileged `postgres` OS user)
and because the dev command needs the same code outside pytest. The server listens on 127.0.0.1
only and trusts local connections: it is for development machines, never for production.
"""

import asyncio
import hashlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from glob import glob
from pathlib import Path
from typing import Self

import asyncpg
from dotenv import dotenv_values
from sqlalchemy.engine import make_url

from app.core.config import LOCAL_DATABASE_URL_FILE, Settings

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them "
    "(Debian/Ubuntu: apt install postgresql; Fedora: dnf install postgresql-server; "
    "macOS: brew install postgresql@17), point PG_BINDIR at their directory, "
    "or set TEST_DATABASE_URL / DATABASE_URL to an existing server."
)
BINDIR_PATTERNS = (
    "/usr/lib/postgresql/*/bin",
    "/usr/pgsql-*/bin",
    "/usr/local/pgsql/bin",
    "/opt/homebrew/opt/postgresql@*/bin",
    "/usr/local/opt/postgresql@*/bin",
    "/Applications/Postgres.app/Contents/Versions/*/bin",
)
SERVER_USER = os.environ.get("PG_OS_USER", "postgres")
SUPERUSER = "postgres"
PROJECT_DIR = Path(__file__).resolve().parent.parent


class PostgresUnavailableError(RuntimeError):
    """No server binaries, or the server would not start; the message says what to do."""


def find_bindir() -> Path:
    """The directory holding initdb and pg_ctl: PG_BINDIR, PATH, pg_config, then usual locations."""
    candidates = [os.environ.get("PG_BINDIR", "")]
    if pg_ctl := shutil.which("pg_ctl"):
        candidates.append(str(Path(pg_ctl).resolve().parent))
    if pg_config := shutil.which("pg_config"):
        bindir = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        candidates.append(bindir.stdout.strip())
    found = [path for pattern in BINDIR_PATTERNS for path in glob(pattern)]
    candidates += sorted(found, key=_version_key, reverse=True)
    for candidate in filter(None, candidates):
        if all((Path(candidate) / tool).is_file() for tool in ("initdb", "pg_ctl")):
            return Path(candidate)
    raise PostgresUnavailableError(INSTALL_HINT)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def reachable_by(user: str, path: Path) -> bool:
    """Whether `user` can enter every directory from / down to `path`."""
    account = pwd.getpwnam(user)
    for directory in [path, *path.parents]:
        if not directory.exists():
            continue
        info = directory.stat()
        if info.st_uid == account.pw_uid:
            continue
        by_group = info.st_gid == account.pw_gid and info.st_mode & 0o010
        if not (info.st_mode & 0o001 or by_group):
            return False
    return True


class LocalPostgres:
    """One cluster in `data_dir`; `durable=False` trades crash safety for speed (throwaway use)."""

    def __init__(self, data_dir: Path, *, durable: bool = True) -> None:
        self.data_dir = data_dir
        self.durable = durable
        self.bindir = find_bindir()
        self.run_as = SERVER_USER if os.geteuid() == 0 else None

    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    @property
    def port(self) -> int:
        settings = (self.data_dir / "postgresql.conf").read_text()
        return int(re.findall(r"^port = (\d+)", settings, re.MULTILINE)[-1])

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            account = pwd.getpwnam(self.run_as)
            os.chown(self.data_dir, account.pw_uid, account.pw_gid)
        self._run(
            "initdb",
            "--pgdata", str(self.data_dir),
            "--username", SUPERUSER,
            "--auth", "trust",
            "--encoding", "UTF8",
            "--locale", "C",
            "--no-instructions",
            *([] if self.durable else ["--no-sync"]),
        )  # fmt: skip
        settings = {"port": str(free_port()), "listen_addresses": "'127.0.0.1'"}
        settings["unix_socket_directories"] = "''"
        if not self.durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("".join(f"{name} = {value}\n" for name, value in settings.items()))

    def running(self) -> bool:
        status = self._run("pg_ctl", "status", "--pgdata", str(self.data_dir), check=False)
        return status.returncode == 0

    def start(self) -> None:
        if not self.initialized:
            self.init()
        if self.running():
            return
        log = self.data_dir / "server.log"
        started = self._run(
            "pg_ctl", "start", "--pgdata", str(self.data_dir), "--log", str(log), "--wait",
            "--timeout", "60", check=False,
        )  # fmt: skip
        if started.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else started.stderr
            raise PostgresUnavailableError(f"PostgreSQL did not start (port {self.port}):\n{tail}")

    def stop(self, *, fast: bool = True) -> None:
        mode = "fast" if fast else "smart"
        self._run("pg_ctl", "stop", "--pgdata", str(self.data_dir), "--mode", mode, check=False)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.bindir / tool), *args],
            capture_output=True,
            text=True,
            check=False,
            user=self.run_as,
            cwd="/",
        )
        if check and result.returncode != 0:
            raise PostgresUnavailableError(f"{tool} failed:\n{result.stderr or result.stdout}")
        return result


def project_data_dir(database: str) -> Path:
    """Where the project's own server keeps its data: `.postgres/`, or, when run as root and the
    PostgreSQL user cannot reach the project directory, a folder of the system temp directory."""
    data_dir = PROJECT_DIR / ".postgres"
    if os.geteuid() != 0 or reachable_by(SERVER_USER, PROJECT_DIR):
        return data_dir
    digest = hashlib.sha256(str(PROJECT_DIR).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"{database}-postgres-{digest}"


@contextmanager
def project_database(database: str) -> Iterator[tuple[LocalPostgres, str]]:
    """The project's own server, started for the block unless it runs already (then left
    running), with `database` created on first use; yields it and the database's URL.

    The URL is written to LOCAL_DATABASE_URL_FILE, where the settings read it in development
    when DATABASE_URL is not set (app/core/config.py), so `uv run alembic ...` and the tools
    find the database with or without `tools.dev` running."""
    server = LocalPostgres(project_data_dir(database))
    was_running = server.initialized and server.running()
    server.start()
    try:
        asyncio.run(_ensure_database(server, database))
        url = server.url(database)
        url_file = PROJECT_DIR / LOCAL_DATABASE_URL_FILE
        if not url_file.is_file() or url_file.read_text().strip() != url:
            url_file.write_text(url + "\n")
        yield server, url
    finally:
        if not was_running:
            server.stop()


def serving(settings: Settings) -> AbstractContextManager[object]:
    """For a command on the project's own PostgreSQL (development without DATABASE_URL): the
    server, started for the command unless it runs already (tools.dev). Otherwise nothing."""
    if not settings.uses_local_database:
        return nullcontext()
    database = make_url(settings.database_url.get_secret_value()).database
    return project_database(database or SUPERUSER)


def configured_database_url() -> str | None:
    """DATABASE_URL from the environment or .env, where the settings read it; None if unset."""
    dotenv = dotenv_values(PROJECT_DIR / ".env")
    return os.environ.get("DATABASE_URL") or dotenv.get("DATABASE_URL") or None


async def _ensure_database(server: LocalPostgres, name: str) -> None:
    connection = await asyncpg.connect(server.url().replace("+asyncpg", ""))
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(number) for number in re.findall(r"\d+", path))
