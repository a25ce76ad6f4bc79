"""The two apps under load, each one uvicorn process on loopback, and what /proc says about them."""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Self

from bench.errors import HarnessError
from bench.project import RenderedProject
from tests.support.project import ISOLATED_ENV

IN_PROJECT = Path(__file__).resolve().parent / "in_project"
# Production-like: one worker, uvloop and httptools (uvicorn[standard]), no access log.
UVICORN = ["-m", "uvicorn", "--host", "127.0.0.1", "--loop", "uvloop", "--http", "httptools"]
UVICORN += ["--no-access-log", "--log-level", "warning"]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
RENDERED, REFERENCE = "rendered", "R0"  # the apps' names in every report


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class AppProcess:
    """One uvicorn process, run by the project's interpreter itself (not through `uv run`, which
    would put a parent process between us and the server whose memory and CPU we read)."""

    def __init__(
        self, name: str, project: RenderedProject, target: list[str], env: dict[str, str], log: Path
    ) -> None:
        self.name = name
        self.port = free_port()
        self.command = [str(project.python), *UVICORN, "--port", str(self.port), *target]
        self.cwd = project.path
        self.env = ISOLATED_ENV | env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def rendered(
        cls,
        project: RenderedProject,
        database_url: str,
        log: Path,
        extra_env: dict[str, str],
        name: str = RENDERED,
    ) -> Self:
        """The service with its production settings; loopback has no TLS, hence the allowance."""
        env = {"DATABASE_URL": database_url, "ENVIRONMENT": "production"}
        env |= {"ALLOWED_HOSTS": '["127.0.0.1"]'}  # production names its hosts
        env |= {"ALLOW_INSECURE_DATABASE_URL": "true"} | extra_env
        return cls(name, project, ["--factory", "app.main:create_app"], env, log)

    @classmethod
    def reference(cls, project: RenderedProject, database_url: str, log: Path) -> Self:
        target = ["--app-dir", str(IN_PROJECT), "reference_app:app"]
        return cls(REFERENCE, project, target, {"REFERENCE_DATABASE_URL": database_url}, log)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise HarnessError(f"{self.name} is not running")
        return self.process.pid

    def start(self, timeout: float = 60) -> None:
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise HarnessError(f"{self.name} exited at start-up:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health/live", timeout=5) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise HarnessError(f"{self.name} did not answer on {self.url} within {timeout} s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        utime, stime = int(fields[11]), int(fields[12])
        return (utime + stime) / CLOCK_TICKS

    def peak_rss_mib(self) -> float:
        """The process's peak resident set size so far (VmHWM)."""
        return self.memory_mib("VmHWM")

    def rss_mib(self) -> float:
        """The process's resident set size now (VmRSS)."""
        return self.memory_mib("VmRSS")

    def memory_mib(self, field: str) -> float:
        """One memory figure of /proc/<pid>/status, in MiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
        raise HarnessError(f"no {field} in /proc/{self.pid}/status")
