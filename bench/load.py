"""Load from wrk: one closed-loop run against one URL, its figures parsed from a line that
bench/lua/report.lua prints (exact request counts, latency percentiles, non-2xx responses)."""

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.errors import HarnessError

LUA = Path(__file__).resolve().parent / "lua"
RESULT_PREFIX = "BENCH_RESULT "
INSTALL_WRK = "wrk is not installed: install it (Debian/Ubuntu: apt-get install -y wrk)."


@dataclass(frozen=True)
class Script:
    """A wrk Lua script of bench/lua and the arguments it takes after `--`."""

    name: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    cpu_seconds: float = 0.0  # the server's CPU time during the run, filled in by the caller

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds / self.requests * 1e6 if self.requests else 0.0


def wrk_binary() -> str:
    if (found := shutil.which("wrk")) is None:
        raise HarnessError(INSTALL_WRK)
    return found


def run_wrk(url: str, script: Script, *, connections: int, seconds: float) -> WrkResult:
    """`wrk -t1 -c<connections> -d<seconds>`: one load thread, since the machine has few cores."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-") as combined:
        combined.write((LUA / f"{script.name}.lua").read_text())
        combined.write((LUA / "report.lua").read_text())
        combined.flush()
        command = [wrk_binary(), "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s"]
        command += ["-s", combined.name, url, "--", *script.args]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in result.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if result.returncode != 0 or not lines:
        raise HarnessError(f"wrk failed on {url}:\n{result.stdout}{result.stderr}")
    figures = json.loads(lines[-1].removeprefix(RESULT_PREFIX))
    return WrkResult(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        non_2xx=figures["non_2xx"],
        socket_errors=figures["socket_errors"],
    )
