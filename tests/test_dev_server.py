"""The rendered service, started with its documented command, answers over real HTTP."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.error import HTTPError

import pytest

from tests.support.browser import rendered_dom, screenshot
from tests.support.combinations import Rendered, only

pytestmark = [pytest.mark.slow, only("default")]

DEV_COMMAND = ["uv", "run", "--no-sync", "python", "-m", "tools.dev"]


class Http:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def __call__(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        request = urllib.request.Request(  # noqa: S310  (a fixed http URL)
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"content-type": "application/json"} | (headers or {}),
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                content = response.read()
                return response.status, dict(response.headers), json.loads(content or "null")
        except HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read() or "null")

    def wait_until_up(self, process: subprocess.Popen[str], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert process.poll() is None, "the dev command exited early"
            try:
                if self("GET", "/health/live")[0] == 200:
                    return
            except OSError:
                time.sleep(0.3)
        pytest.fail("the dev server did not come up")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def dev_server(synced: Rendered, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Http]:
    """`python -m tools.dev` started as a user starts it, stopped with Ctrl-C afterwards."""
    port = free_port()
    log = tmp_path_factory.mktemp("dev-server") / "dev.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [*DEV_COMMAND, "--no-reload", "--port", str(port)],
            cwd=synced.project.path,
            env=synced.project.environ,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    http = Http(port)
    try:
        http.wait_until_up(process)
        yield http
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        process.wait(timeout=60)
        data_dir = re.search(r"data in (\S+)", log.read_text())
        if data_dir:
            shutil.rmtree(data_dir.group(1), ignore_errors=True)
    assert process.returncode == 0, log.read_text()


def test_dev_command_serves_crud_and_health_over_http(dev_server: Http) -> None:
    exercise_the_api(dev_server)


def test_swagger_ui_lists_every_operation_offline(dev_server: Http, tmp_path: Path) -> None:
    """/docs in a browser that reaches nothing but loopback: every operation is listed."""
    status, _, document = dev_server("GET", "/openapi.json")
    assert status == 200
    expected = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    assert len(expected) >= 7, expected  # health (2) and the example resource (5), at least
    page = dev_server.base + "/docs"
    assert swagger_ui_operations(rendered_dom(page)) == expected
    shot = screenshot(page, tmp_path / "swagger-ui.png")
    print(f"screenshot of /docs: {shot}")  # noqa: T201  (the artifact, shown with pytest -s)


class SwaggerUiOperations(HTMLParser):
    """(method, path) of each operation Swagger UI shows: its method badge and path elements."""

    def __init__(self) -> None:
        super().__init__()
        self.methods: list[str] = []
        self.paths: list[str] = []
        self.in_method = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        self.in_method = "opblock-summary-method" in classes
        if "opblock-summary-path" in classes:
            self.paths.append(attributes.get("data-path") or "")

    def handle_data(self, data: str) -> None:
        if self.in_method:
            self.methods.append(data.strip())
            self.in_method = False


def swagger_ui_operations(dom: str) -> set[tuple[str, str]]:
    parser = SwaggerUiOperations()
    parser.feed(dom)
    assert len(parser.methods) == len(parser.paths), (parser.methods, parser.paths)
    return set(zip(parser.methods, parser.paths, strict=True))


def exercise_the_api(http: Http) -> None:
    assert http("GET", "/health/ready")[0] == 200

    status, headers, task = http("POST", "/api/v1/tasks", {"title": "Write the docs"})
    assert status == 201
    assert (task["title"], task["done"], headers["etag"]) == ("Write the docs", False, '"1"')
    url = f"/api/v1/tasks/{task['id']}"

    assert http("GET", url)[2] == task
    status, headers, changed = http("PATCH", url, {"done": True}, {"if-match": '"1"'})
    assert (status, changed["done"], headers["etag"]) == (200, True, '"2"')
    assert http("PATCH", url, {"done": False}, {"if-match": '"1"'})[0] == 412
    assert http("GET", "/api/v1/tasks?offset=0")[2]["total"] == 1
    assert http("DELETE", url, headers={"if-match": '"2"'})[0] == 204
    status, headers, problem = http("GET", url)
    assert (status, headers["content-type"], problem["status"]) == (
        404,
        "application/problem+json",
        404,
    )
