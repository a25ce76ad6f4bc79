"""A pytest plugin (`-p tests.postgres_start` in pyproject.toml's addopts) that begins starting the
suite's throwaway PostgreSQL before pytest imports the conftest and collects the tests.

initdb and the server's start take about a second, in processes of their own, and so do the
conftest's import of the app and the collection: one after the other they add up; begun here,
they overlap on a second core. tests/conftest.py takes the server from `started_cluster` where it
used to start one. Hand-written because no pytest plugin starts a server this early: only a
plugin's `pytest_load_initial_conftests` runs before the conftest is imported.
"""

import atexit
import contextlib
import functools
import os
import shutil
import signal
import tempfile
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools.local_postgres import LocalPostgres

START_SECONDS = 120  # initdb, then pg_ctl's own 60 s wait for the server, with room to spare


@dataclass(frozen=True)
class Starting:
    """A cluster being started, and the exit hook that stops it unless taken."""

    cluster: Future[LocalPostgres]
    at_exit: functools.partial[None]


STARTING = pytest.StashKey[Starting]()


def throwaway_cluster(data_dir: Path | None = None) -> LocalPostgres:
    """A cluster in `data_dir` (a new temporary directory by default), started; the directory
    is gone if it fails."""
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="pytest-postgres-"))
    try:
        local = LocalPostgres(data_dir, durable=False)
        local.start()
    except BaseException:
        shutil.rmtree(data_dir, ignore_errors=True)
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
    # The directory is made here, so that the exit hook knows it whatever the thread reached.
    data_dir = Path(tempfile.mkdtemp(prefix="pytest-postgres-"))
    cluster: Future[LocalPostgres] = Future()
    # A run that ends before the conftest takes the server (a usage error, an interrupt) must
    # not leave it running, nor its directory: stopped and deleted at exit unless taken.
    at_exit = functools.partial(stop_unless_taken, cluster, data_dir)
    atexit.register(at_exit)
    early_config.stash[STARTING] = Starting(cluster, at_exit)

    def start() -> None:
        try:
            cluster.set_result(throwaway_cluster(data_dir))
        except BaseException as error:  # handed to whoever takes the server
            cluster.set_exception(error)

    threading.Thread(target=start, name="postgres-start", daemon=True).start()


def started_cluster(config: pytest.Config) -> LocalPostgres | None:
    """The cluster this plugin is starting, once it runs (its error if it did not start); the
    caller then owns it. None when this run started none."""
    starting = config.stash.get(STARTING, None)
    if starting is None:
        return None
    del config.stash[STARTING]
    local = starting.cluster.result()  # interrupted or failed: the exit hook still cleans up
    atexit.unregister(starting.at_exit)
    return local


def stop_unless_taken(cluster: Future[LocalPostgres], data_dir: Path) -> None:
    """At exit: wait for the start to end, stop the server if one runs, delete the directory.
    A second Ctrl-C must not cut this short and leave a server running, so it is ignored."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(BaseException):  # failed or interrupted: a server may run all the same
        cluster.result(timeout=START_SECONDS)
    if (data_dir / "postmaster.pid").exists():
        LocalPostgres(data_dir, durable=False).stop()
    shutil.rmtree(data_dir, ignore_errors=True)
