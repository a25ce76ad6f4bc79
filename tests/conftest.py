"""Fixtures and hooks: which combinations a run renders, rendering them once, and the summary.

Helpers live in tests/support/; nothing imports from this module.
"""

import os
import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.combinations import Combination, Rendered, Selection, combination_set
from tests.support.environments import Environments
from tests.support.postgres import PostgresServer
from tests.support.project import Project
from tests.support.pythons import python_for
from tests.support.resources import render_service, template_copy


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("combinations", "combinations of template answers")
    group.addoption(
        "--pairs",
        default=os.environ.get("TEMPLATE_TEST_PAIRS", "all"),
        help="How many pairwise combinations to render besides every preset: 'all' (default) "
        "or a number, drawn with --pairs-seed.",
    )
    group.addoption(
        "--pairs-seed",
        type=int,
        default=datetime.now(UTC).date().toordinal(),  # rotates daily
        help="Seed that draws the pairwise combinations when --pairs is a number.",
    )
    group.addoption(
        "--names-seed",
        type=int,
        default=random.SystemRandom().randrange(2**32),  # new names every run
        help="Seed of the names and fields tests/test_drawn_names.py draws.",
    )


def selection(config: pytest.Config) -> Selection:
    pairs = str(config.getoption("--pairs"))
    count = None if pairs == "all" else int(pairs)
    return combination_set().selection(count, int(config.getoption("--pairs-seed")))


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [
        "combinations: " + selection(config).describe(),
        f"drawn names (tests/test_drawn_names.py): --names-seed={config.getoption('--names-seed')}",
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests that take `combination` run for each selected one, unless they name their own."""
    if "combination" not in metafunc.fixturenames:
        return
    if any(
        "combination" in mark.args[0] for mark in metafunc.definition.iter_markers("parametrize")
    ):
        return
    combinations = selection(metafunc.config).combinations
    metafunc.parametrize(
        "combination", combinations, ids=[c.name for c in combinations], scope="session"
    )


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A combination's tests run on one xdist worker (`--dist loadgroup`), which renders it once.
    Slow tests go first: xdist hands out work in collection order, and a slow test drawn last
    would run alone on an otherwise idle machine (the last CI run kept a quarter of it idle)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and isinstance(callspec.params.get("combination"), Combination):
            name = callspec.params["combination"].name
            item.add_marker(pytest.mark.xdist_group(name))
            item.user_properties.append(("combination", name))


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """How many combinations were tested, and how each went, with the time spent on it."""
    outcomes: dict[str, list[pytest.TestReport]] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if not isinstance(report, pytest.TestReport):
                continue  # warnings, deselected items
            for key, value in report.user_properties:
                if key == "combination":
                    outcomes.setdefault(str(value), []).append(report)
    chosen = selection(config)
    terminalreporter.section("combinations")
    terminalreporter.write_line(chosen.describe())
    if not outcomes:
        return
    proven = 0
    for combination in chosen.combinations:
        reports = outcomes.get(combination.name, [])
        failed = any(report.failed for report in reports)
        ran = [report for report in reports if report.when == "call" and report.passed]
        proven += bool(ran) and not failed
        status = "failed" if failed else ("passed" if ran else "not run")
        seconds = sum(report.duration for report in reports)
        also = f" (= {', '.join(combination.also)})" if combination.also else ""
        terminalreporter.write_line(
            f"  {combination.name}{also}: {status}, {len(ran)} checks, {seconds:.0f} s"
        )
    terminalreporter.write_line(
        f"{proven} of {len(chosen.combinations)} combinations passed every check they ran"
    )


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def environments(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Environments:
    """Shared uv environments, in this run's directory (which xdist workers share)."""
    run_directory = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        run_directory = run_directory.parent
    return Environments(run_directory / "environments")


@pytest.fixture(scope="session")
def rendered(combination: Combination, copie_session: Any) -> Rendered:
    """The combination rendered from the working tree, once per test session."""
    result = copie_session.copy(extra_answers=combination.copier_data())
    assert result.exit_code == 0, result.exception
    return Rendered(combination, Project(result.project_dir), result.answers)


@pytest.fixture(scope="session")
def synced(rendered: Rendered, environments: Environments) -> Rendered:
    """The rendered project using its dependency set's environment (`uv sync` once per set)."""
    python = python_for(rendered.answers["python_version"])
    return replace(rendered, project=environments.sync(rendered.project, python))


@pytest.fixture(scope="session")
def template_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template's working-tree files outside git, which Copier copies instead of cloning."""
    return template_copy(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def default_service(template_files: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A service with every default (its resource: task), rendered once, to add resources to."""
    destination = tmp_path_factory.mktemp("default-service") / "service"
    return render_service(template_files, destination, {"project_name": "Names"})
