"""A PgBouncer in transaction pooling mode in front of the test server, run from the installed
binary (Debian/Ubuntu: apt install pgbouncer) like the throwaway PostgreSQL.

Transaction pooling with a tiny server pool (2 connections) is the hard case for asyncpg: every
transaction may land on another server connection, so a statement prepared on one is missing on
the next. Tests that pass through it prove DB_PGBOUNCER=true handles that.

With TEST_THROUGH_PGBOUNCER=1 the whole suite's app connects through one (`through`), so every
test also proves its behaviour holds behind transaction pooling (row-level security's
transaction-local setting, locks, timeouts, faults).
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

from pydantic import SecretStr
from sqlalchemy import make_url

from app.core.config import Settings
from tools.local_postgres import SERVER_USER, free_port

INSTALL_HINT = (
    "pgbouncer is not installed (Debian/Ubuntu: apt install pgbouncer; Fedora: dnf install "
    "pgbouncer; macOS: brew install pgbouncer); the tests through PgBouncer need it"
)
SERVER_POOL_SIZE = 2
# The whole suite's PgBouncer: room for a test's concurrent transactions (waits on row locks
# must not queue behind the lock holder), still far fewer server connections than clients.
SUITE_POOL_SIZE = 10
THROUGH_PGBOUNCER_VARIABLE = "TEST_THROUGH_PGBOUNCER"


def suite_through_pgbouncer() -> bool:
    """Whether TEST_THROUGH_PGBOUNCER asks for the whole suite to run through PgBouncer."""
    value = os.environ.get(THROUGH_PGBOUNCER_VARIABLE, "")
    if value not in ("", "0", "1"):
        raise ValueError(f"{THROUGH_PGBOUNCER_VARIABLE} must be 1 or 0, not {value!r}")
    return value == "1"


def through(port: int, settings: Settings, *, pgbouncer_mode: bool = True) -> Settings:
    """`settings` with the app connecting through the PgBouncer on `port` (DB_PGBOUNCER as
    `pgbouncer_mode` says); migrations keep a direct URL."""
    direct = settings.database_url.get_secret_value()
    return settings.model_copy(
        update={
            "database_url": SecretStr(reached_through(port, direct)),
            "database_direct_url": settings.database_direct_url or SecretStr(direct),
            "db_pgbouncer": pgbouncer_mode,
        }
    )


def reached_through(port: int, database_url: str) -> str:
    """`database_url` (a database on the server), reached through the PgBouncer on `port`."""
    url = make_url(database_url).set(host="127.0.0.1", port=port)
    return url.render_as_string(hide_password=False)


def find_pgbouncer() -> Path | None:
    found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/local/sbin")
    return Path(found) if found else None


class PgBouncer:
    """One pgbouncer process forwarding every database of `server_url`'s server, to its user
    and to the users of `client_urls` (the app's own role, when it has one)."""

    def __init__(
        self,
        binary: Path,
        server_url: str,
        *client_urls: str,
        pool_size: int = SERVER_POOL_SIZE,
    ) -> None:
        self.binary = binary
        self.pool_size = pool_size
        self.server = make_url(server_url)
        self.logins = [self.server, *(make_url(url) for url in client_urls)]
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="pytest-pgbouncer-"))
        # PgBouncer refuses to run as root; then it runs as the PostgreSQL server's OS user.
        self.run_as = SERVER_USER if os.geteuid() == 0 else None
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, database_url: str) -> str:
        """`database_url` (a database on the server), reached through PgBouncer instead."""
        return reached_through(self.port, database_url)

    def start(self, timeout: float = 30) -> None:
        config = self._write_config()
        log = (self.directory / "pgbouncer.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603  (the installed pgbouncer binary)
            [str(self.binary), str(config)], stdout=log, stderr=log, user=self.run_as
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError:
                time.sleep(0.1)
            else:
                return
        self.stop()
        raise RuntimeError(f"pgbouncer did not start:\n{self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        shutil.rmtree(self.directory, ignore_errors=True)

    def log(self) -> str:
        path = self.directory / "pgbouncer.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _write_config(self) -> Path:
        users = {url.username or "postgres": url.password or "" for url in self.logins}
        lines = "".join(f'"{user}" "{password}"\n' for user, password in users.items())
        (self.directory / "userlist.txt").write_text(lines)
        settings = {
            "listen_addr": "127.0.0.1",
            "listen_port": str(self.port),
            "unix_socket_dir": "",
            "auth_type": "trust",  # clients on loopback; the server login uses userlist.txt
            "auth_file": str(self.directory / "userlist.txt"),
            "pool_mode": "transaction",
            "default_pool_size": str(self.pool_size),
            "max_client_conn": "500",
            # A login that fails (a database dropped and made again, a restarted server) is
            # retried after a second, not the default 15.
            "server_login_retry": "1",
        }
        server = f"host={self.server.host or '127.0.0.1'} port={self.server.port or 5432}"
        config = self.directory / "pgbouncer.ini"
        config.write_text(
            f"[databases]\n* = {server}\n\n[pgbouncer]\n"
            + "".join(f"{name} = {value}\n" for name, value in settings.items())
        )
        if self.run_as:
            account = pwd.getpwnam(self.run_as)
            for path in (self.directory, *self.directory.iterdir()):
                os.chown(path, account.pw_uid, account.pw_gid)
        return config
