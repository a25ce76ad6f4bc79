"""A pytest plugin (`-p suite_timings`) that records where a test session's time goes.

bench/suite.py runs a rendered project's pytest with it and reads the JSON it writes to the file
named by BENCH_TIMINGS_FILE:

- when the `pytest_configure` hooks start (everything before is interpreter start-up and
  imports) and how long they take (the project starts or finds its server and migrates the
  template database there);
- how long each session-scoped fixture takes to set up (the database clone, engine, app);
- each test's setup + call + teardown, with the session-scoped fixtures it happened to set up
  counted apart.

With BENCH_INTERLEAVE=1 it runs parametrized tests interleaved by their `run` parameter
(a[0] b[0] a[1] b[1] ...), so that drift hits the variants compared alike.
"""

import json
import os
import time
from collections import defaultdict
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest


@dataclass
class Record:
    configure_started: float = 0.0  # time.time(), comparable with the launching process's
    configure_seconds: float = 0.0
    session_fixture_seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    test_seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    # Session-scoped fixtures set up while a test was being set up, by test.
    test_session_fixture_seconds: dict[str, float] = field(
        default_factory=lambda: defaultdict(float)
    )
    outcomes: dict[str, str] = field(default_factory=dict)
    current_test: str = ""

    def as_json(self) -> dict[str, Any]:
        tests = [
            {
                "nodeid": nodeid,
                "seconds": seconds,
                "session_fixture_seconds": self.test_session_fixture_seconds.get(nodeid, 0.0),
                "outcome": self.outcomes.get(nodeid, "passed"),
            }
            for nodeid, seconds in self.test_seconds.items()
        ]
        return {
            "configure_started": self.configure_started,
            "configure_seconds": self.configure_seconds,
            "session_fixture_seconds": dict(self.session_fixture_seconds),
            "tests": tests,
        }


RECORD = Record()


@pytest.hookimpl(tryfirst=True)
def pytest_configure() -> None:
    RECORD.configure_started = time.time()


def pytest_sessionstart() -> None:
    """Called right after every `pytest_configure` has run (a historic hook: no wrapper)."""
    RECORD.configure_seconds = time.time() - RECORD.configure_started


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("BENCH_INTERLEAVE") == "1":
        items.sort(key=run_parameter)


def run_parameter(item: pytest.Item) -> int:
    callspec = getattr(item, "callspec", None)
    run: int = callspec.params.get("run", 0) if callspec is not None else 0
    return run


def pytest_runtest_logstart(nodeid: str) -> None:
    RECORD.current_test = nodeid


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any]) -> Generator[None, Any, Any]:
    started = time.perf_counter()
    try:
        return (yield)
    finally:
        if fixturedef.scope == "session":
            elapsed = time.perf_counter() - started
            RECORD.session_fixture_seconds[fixturedef.argname] += elapsed
            RECORD.test_session_fixture_seconds[RECORD.current_test] += elapsed


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    RECORD.test_seconds[report.nodeid] += report.duration
    if report.when == "call" or report.outcome != "passed":
        RECORD.outcomes[report.nodeid] = report.outcome


def pytest_sessionfinish() -> None:
    Path(os.environ["BENCH_TIMINGS_FILE"]).write_text(json.dumps(RECORD.as_json(), indent=1))
