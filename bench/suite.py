"""How fast the rendered project's own test suite is, run as a developer runs it: `pytest` in the
project, which starts a throwaway PostgreSQL of its own."""

import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.database import BenchServer
from bench.errors import HarnessError
from bench.project import RenderedProject
from bench.servers import IN_PROJECT
from bench.stats import median_of
from tests.support.project import ISOLATED_ENV

# The targets exclude fuzzing: tests marked `fuzz`, or in a test_fuzz module.
WITHOUT_FUZZING = ("-m", "not fuzz", "--ignore-glob=*/test_fuzz*.py")
PROBE = "tests/bench_isolation_probe.py"


@dataclass(frozen=True)
class SuiteRun:
    """One `pytest` in the project, timed from outside and, by suite_timings, from inside."""

    wall_seconds: float
    startup_seconds: float  # interpreter start-up, imports and plugins, before pytest_configure
    configure_seconds: float
    session_fixture_seconds: float
    tests: list[dict[str, Any]]

    @property
    def setup_seconds(self) -> float:
        """Session set-up: server and template database (pytest_configure), then the worker's
        clone, engine and app (session-scoped fixtures)."""
        return self.configure_seconds + self.session_fixture_seconds

    def failed(self) -> list[str]:
        return [test["nodeid"] for test in self.tests if test["outcome"] == "failed"]

    def per_test_ms(self, prefix: str) -> list[float]:
        """Each matching test's own time: session-scoped fixture set-up is not counted in it."""
        return [
            (test["seconds"] - test["session_fixture_seconds"]) * 1000
            for test in self.tests
            if test["nodeid"].startswith(prefix)
        ]


@dataclass(frozen=True)
class SuiteFigures:
    without_fuzzing: SuiteRun
    with_fuzzing: SuiteRun | None
    isolation: SuiteRun

    @property
    def api_tests_ms(self) -> list[float]:
        return self.without_fuzzing.per_test_ms("tests/api/")

    @property
    def rolled_back_ms(self) -> float:
        return median_of(self.isolation.per_test_ms(f"{PROBE}::test_rolled_back"))

    @property
    def no_cleanup_ms(self) -> float:
        return median_of(self.isolation.per_test_ms(f"{PROBE}::test_no_cleanup"))

    @property
    def isolation_overhead_ms(self) -> float:
        return self.rolled_back_ms - self.no_cleanup_ms


def run_pytest(project: RenderedProject, *args: str, env: dict[str, str] | None = None) -> SuiteRun:
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as scratch:
        timings = Path(scratch) / "timings.json"
        plugin_env = {"PYTHONPATH": str(IN_PROJECT), "BENCH_TIMINGS_FILE": str(timings)}
        command = [str(project.python), "-m", "pytest", "-q", "-p", "suite_timings", *args]
        launched, started = time.time(), time.perf_counter()
        result = subprocess.run(
            command,
            cwd=project.path,
            env=ISOLATED_ENV | plugin_env | (env or {}),
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
        if not timings.exists():
            raise HarnessError(f"the rendered project's pytest did not run:\n{result.stdout}")
        figures = json.loads(timings.read_text())
    return SuiteRun(
        wall_seconds=wall,
        startup_seconds=figures["configure_started"] - launched,
        configure_seconds=figures["configure_seconds"],
        session_fixture_seconds=sum(figures["session_fixture_seconds"].values()),
        tests=figures["tests"],
    )


def run_suite(
    project: RenderedProject, server: BenchServer, isolation_tests: int, *, with_fuzzing: bool
) -> SuiteFigures:
    """The suite without fuzzing (the targets' measure), optionally with it, then the isolation
    probe on the benchmark's server (its set-up is not what the probe measures)."""
    without = run_pytest(project, *WITHOUT_FUZZING)
    full = run_pytest(project) if with_fuzzing else None
    server.create_database("probe")
    shutil.copy(IN_PROJECT / "isolation_probe.py", project.path / PROBE)
    probe_env = {"TEST_DATABASE_URL": server.url("probe"), "BENCH_INTERLEAVE": "1"}
    probe_env["BENCH_ISOLATION_TESTS"] = str(isolation_tests)
    isolation = run_pytest(project, PROBE, env=probe_env)
    return SuiteFigures(without, full, isolation)
