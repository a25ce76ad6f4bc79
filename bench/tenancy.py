"""`uv run python -m bench.tenancy`: what tenancy costs a read, in CPU per request.

Two projects are rendered and served side by side, each one uvicorn process with the production
settings: one with `auth=jwt` alone (its tasks owned by user 1, read with that user's access
token, as `bench.auth`'s authenticated side) and one with `tenancy=organizations` (its tasks in
organization 1, read by user 1, a member, naming it in the `Organization-Id` header; the app
connects as a role of its own, so row-level security applies, as production requires). wrk loads
GET by id on both in interleaved rounds of alternating order; the figure is the per-round ratio
of the server CPU time per request, scoped / auth alone.
"""

import argparse
import secrets
import sys
from pathlib import Path

from bench.auth import access_token, owned_tasks
from bench.console import progress
from bench.database import BenchServer
from bench.load import Script
from bench.pairs import checked, failed_lines, load_line, pair_main, pair_parser, pair_table
from bench.project import RenderedProject, render
from bench.rounds import Measurement, Rounds, Target, measure
from bench.servers import AppProcess

AUTH, SCOPED = "auth", "scoped"
APP_ROLE = "bench_app"  # owns no table, no BYPASSRLS: row-level security applies to it
SEED_ORGANIZATION = (
    "INSERT INTO users (email, password_hash, version) VALUES ('bench@example.com', '-', 1)",
    "INSERT INTO organizations (name, version) VALUES ('Bench', 1)",
    "INSERT INTO memberships (organization_id, user_id, role, version) VALUES (1, 1, 'member', 1)",
)
SEED_SCOPED = """
INSERT INTO tasks (title, description, done, version, organization_id)
SELECT 'Task ' || n, 'Description of task ' || n, n % 3 = 0, 1, 1
FROM generate_series(1, {rows}) AS n
"""
GRANTS = (
    f"DROP ROLE IF EXISTS {APP_ROLE}",
    f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS",
    f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}",
    f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}",
    f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}",
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return checked(pair_parser("python -m bench.tenancy", __doc__, rounds=6, duration=6), argv)


def scoped_tasks(server: BenchServer, project: RenderedProject, rows: int) -> str:
    """A database of `project`'s schema whose `rows` tasks are in organization 1, of which user 1
    is a member, and the app's role; returns the database's name."""
    name = "bench_tenancy"
    server.create_database(name)
    project.migrate(server.url(name))
    seed = SEED_SCOPED.format(rows=f"{rows:d}")
    server.psql(name, *SEED_ORGANIZATION, seed, "VACUUM ANALYZE tasks", *GRANTS)
    return name


def as_app_role(database_url: str) -> str:
    """`database_url` (the benchmark server's superuser's) with the app's role instead."""
    scheme, rest = database_url.split("://", 1)
    return f"{scheme}://{APP_ROLE}@{rest.split('@', 1)[1]}"


def report(rounds: list[Rounds], args: argparse.Namespace) -> tuple[list[str], bool]:
    failed = failed_lines(rounds, (AUTH, SCOPED))
    lines = [
        "# Benchmark: a scoped GET (tenancy=organizations, a member) against the same GET with"
        " auth=jwt alone (owned tasks)",
        "",
        f"- {load_line(args)}",
        "",
        *pair_table(rounds, AUTH, SCOPED, added=True),
        *failed,
    ]
    return lines, bool(failed)


def measure_both(args: argparse.Namespace, work: Path) -> list[Rounds]:
    progress("rendering a project with auth=jwt and one with tenancy=organizations")
    auth = render(work / AUTH, extras=(), answers={"auth": "jwt"}, vcs_ref=args.ref)
    scoped = render(
        work / SCOPED,
        extras=(),
        answers={"auth": "jwt", "tenancy": "organizations"},
        vcs_ref=args.ref,
    )
    key = {"AUTH_SECRET_KEY": secrets.token_urlsafe(48)}
    with BenchServer(durable=args.durable) as server:
        progress(f"seeding {args.rows:,} tasks in each database")
        auth_url = server.url(owned_tasks(server, auth, args.rows))
        scoped_url = server.url(scoped_tasks(server, scoped, args.rows))
        auth_token = access_token(auth, auth_url, key)
        scoped_token = access_token(scoped, scoped_url, key)
        apps = [
            AppProcess.rendered(auth, auth_url, work / "a.log", key, name=AUTH),
            AppProcess.rendered(scoped, as_app_role(scoped_url), work / "b.log", key, name=SCOPED),
        ]
        with apps[0], apps[1]:
            progress("loading both in interleaved rounds")
            get = Measurement(
                "GET by id",
                Script("get_by_id_bearer", (str(args.rows), auth_token)),
                args.connections,
                args.duration,
                args.warmup,
            )
            in_organization = Script("get_by_id_bearer", (str(args.rows), scoped_token, "1"))
            targets = [
                Target(AUTH, apps[0].url, apps[0]),
                Target(SCOPED, apps[1].url, apps[1], script=in_organization),
            ]
            return [measure(get, targets, args.rounds, alternate=True)]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return pair_main(
        "bench.tenancy", lambda work: measure_both(args, work), lambda rounds: report(rounds, args)
    )


if __name__ == "__main__":
    sys.exit(main())
