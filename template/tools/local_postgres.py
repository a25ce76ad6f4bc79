"""A PostgreSQL server run from the installed server binaries, for local development and tests.

Hand-written instead of using pytest-postgresql, because that plugin cannot start the server as
root (PostgreSQL refuses to run as root; here it then runs as the unprivileged `postgres` OS user)
and because the dev command needs the same code outside pytest. The server listens on 127.0.0.1
only and trusts local connections: it is for development machines, never for production.
"""

import os
import pwd
import re
import shutil
import socket
import subprocess
from glob import glob
from pathlib import Path
from typing import Self

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


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(number) for number in re.findall(r"\d+", path))
