"""Each selected combination passes the checks of its own CI: lint, format, types, its own test
suite on PostgreSQL, and the migrations from the command line (round trip and drift)."""

import pytest

from tests.support.combinations import Rendered
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.slow


def test_ruff_check(synced: Rendered) -> None:
    synced.project.uv_run("ruff", "check", ".")


def test_ruff_format(synced: Rendered) -> None:
    synced.project.uv_run("ruff", "format", "--check", ".")


def test_mypy_strict(synced: Rendered) -> None:
    synced.project.uv_run("mypy")


def database_name(rendered: Rendered, purpose: str) -> str:
    return f"{rendered.answers['project_slug'].replace('-', '_')}_{purpose}"


# Presets whose whole suite runs with the app behind PgBouncer's transaction pooling: tenancy's
# row-level security rests on a transaction-local setting, which that pooling must not leak.
THROUGH_PGBOUNCER = frozenset({"tenancy"})


def test_own_test_suite_against_postgres(synced: Rendered, postgres: PostgresServer) -> None:
    """The default combination starts its own throwaway server and runs on two xdist workers;
    the others share one server through TEST_DATABASE_URL."""
    if synced.name == "default":
        synced.project.uv_run("pytest", "-q", "-n", "2", "-p", "no:cacheprovider")
    else:
        url = postgres.create_database(database_name(synced, "test"))
        env = {"TEST_DATABASE_URL": url}
        if synced.name in THROUGH_PGBOUNCER:
            env["TEST_THROUGH_PGBOUNCER"] = "1"
        synced.project.uv_run("pytest", "-q", "-p", "no:cacheprovider", env=env)


def test_alembic_command_line_round_trip(synced: Rendered, postgres: PostgresServer) -> None:
    """The migration commands developers type: upgrade, check for drift, downgrade, upgrade."""
    env = {"DATABASE_URL": postgres.create_database(database_name(synced, "cli"))}
    synced.project.uv_run("alembic", "upgrade", "head", env=env)
    synced.project.uv_run("alembic", "check", env=env)
    synced.project.uv_run("alembic", "downgrade", "base", env=env)
    synced.project.uv_run("alembic", "upgrade", "head", env=env)
