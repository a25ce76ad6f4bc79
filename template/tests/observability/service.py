"""The service in a uvicorn process of its own, as deployed, for the tests that need one."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def served(env: dict[str, str], *uvicorn_options: str) -> Iterator[str]:
    """`uvicorn --factory app.main:create_app` on a free port with `env` added to a copy of
    this environment without its OTEL_* and PROMETHEUS_* variables; yields the service's URL.
    Stopped with SIGTERM, as orchestrators do, and required to stop without a traceback."""
    port = free_port()
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "PROMETHEUS_"))
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), *uvicorn_options]
    process = subprocess.Popen(  # noqa: S603  (a fixed command: this interpreter, uvicorn)
        command,
        cwd=PROJECT_DIR,
        env=inherited | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_live(url, process)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0].decode()
    assert "Traceback" not in output, output


def wait_until_live(url: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the service exited at start-up:\n{process.communicate()[0].decode()}")
        try:
            if httpx.get(f"{url}/health/live").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"the service did not answer on {url} within {timeout} s")
