"""A pytest plugin (`-p tests.postgres_start` in pyproject.toml's addopts) that begins starting the
suite's throwaway PostgreSQL before pytest imports the conftest and collects the tests.

initdb and the server's start take about a second, in processes of their own, and so do the
conftest's import of the app and the collection: one after the other they add up; begun here,
they overlap on a second core. tests/conftest.py takes the server from `started_cluster` where it
used to start one. Hand-written because no pytest plugin starts a server this early: only a
plugin's `pytest_load_initial_conftests` runs before the conftest is imported.
"""

import atexit
import os
import shutil
import tempfile
import threading
from concurrent.futures import Future
from pathlib import Path

import pytest

from tools.local_postgres import LocalPostgres

STARTING = pytest.StashKey[Future[LocalPostgres]]()


def throwaway_cluster() -> LocalPostgres:
    """A cluster in a new temporary directory, started; the directory is gone if it fails."""
    local = LocalPostgres(Path(tempfile.mkdtemp(prefix="pytest-postgres-")), durable=False)
    try:
        local.start()
    except BaseException:
        shutil.rmtree(local.data_dir, ignore_errors=True)
        raise
    return local


def needs_a_throwaway_server(config: pytest.Config) -> bool:
    """False for pytest-xdist's workers (the controller hands them its server), with
    TEST_DATABASE_URL, and for runs that run no test (--help, --collect-only, --version)."""
    options = config.known_args_namespace
    if os.environ.get("PYTEST_XDIST_WORKER") or os.environ.get("TEST_DATABASE_URL"):
        return False
    return not (options.help or options.collectonly or options.version)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    if not needs_a_throwaway_server(early_config):
        return
    starting: Future[LocalPostgres] = Future()

    def start() -> None:
        try:
            starting.set_result(throwaway_cluster())
        except BaseException as error:  # handed to whoever takes the server
            starting.set_exception(error)

    threading.Thread(target=start, name="postgres-start", daemon=True).start()
    early_config.stash[STARTING] = starting
    # A run that ends before the conftest takes the server (a usage error, an interrupt) must
    # not leave it running: stopped here at exit unless taken.
    atexit.register(stop_unless_taken, starting)


def started_cluster(config: pytest.Config) -> LocalPostgres | None:
    """The cluster this plugin is starting, once it runs (its error if it did not start); the
    caller then owns it. None when this run started none."""
    starting = config.stash.get(STARTING, None)
    if starting is None:
        return None
    del config.stash[STARTING]
    atexit.unregister(stop_unless_taken)
    return starting.result()


def stop_unless_taken(starting: Future[LocalPostgres]) -> None:
    if starting.exception() is None:
        local = starting.result()
        local.stop()
        shutil.rmtree(local.data_dir, ignore_errors=True)
