"""What the figures were measured on: hardware, system, and the versions that matter."""

import os
import platform
import re
import subprocess
from pathlib import Path

from bench.database import BenchServer
from bench.load import wrk_binary
from bench.project import RenderedProject

PACKAGES = (
    "fastapi", "starlette", "pydantic", "pydantic-core", "sqlalchemy", "asyncpg", "uvicorn",
    "uvloop", "httptools", "orjson",
)  # fmt: skip

VERSIONS = f"""
import platform
from importlib.metadata import version
print("Python " + platform.python_version())
for name in {PACKAGES!r}:
    print(name + " " + version(name))
"""


def first_match(path: str, pattern: str) -> str:
    found = re.search(pattern, Path(path).read_text(), re.MULTILINE)
    return found.group(1).strip() if found else "unknown"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: other work on the machine shows here."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def describe(project: RenderedProject, server: BenchServer, load_before: str) -> list[str]:
    cpu = first_match("/proc/cpuinfo", r"^model name\s*:(.*)$")
    memory_gib = int(first_match("/proc/meminfo", r"^MemTotal:\s+(\d+)")) / 1024**2
    system = first_match("/etc/os-release", r"^PRETTY_NAME=(.*)$").strip('"')
    postgres = command_output(str(server.local.bindir / "postgres"), "--version")
    durability = "durable" if server.durable else "fsync, synchronous_commit, full_page_writes off"
    wrk = command_output(wrk_binary(), "--version").split(" Copyright")[0]
    return [
        f"CPU: {os.cpu_count()} x {cpu}, memory {memory_gib:.0f} GiB",
        f"System: {system}, Linux {platform.release()}; load average {load_before} before the "
        f"run, {load_average()} after",
        f"{postgres} ({durability}; shared_buffers 256MB), on loopback",
        wrk,
        ", ".join(project.run_python("-c", VERSIONS).splitlines()),
    ]


def command_output(*command: str) -> str:
    """The first line a command prints (wrk prints its version with its usage, and exits 1)."""
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    return (result.stdout or result.stderr).strip().splitlines()[0]
