"""`uv run python -m bench.auth`: what authentication costs a read, in CPU per request.

Two projects are rendered and served side by side, each one uvicorn process with the production
settings: the default (its tasks anyone may read) and one with `auth=jwt` (its tasks owned by
a user, read with that user's access token: the token is checked, the user's access state read
and the task looked up among the user's own). wrk loads GET by id on both in interleaved rounds
of alternating order; the figure is the per-round ratio of the server CPU time per request,
authenticated / anonymous.
"""

import argparse
import secrets
import sys
from pathlib import Path

from bench.console import progress
from bench.database import BenchServer, TaskTable
from bench.load import Script
from bench.pairs import (
    checked,
    failed_lines,
    load_line,
    pair_main,
    pair_parser,
    pair_table,
)
from bench.project import RenderedProject, render
from bench.rounds import Measurement, Rounds, Target, measure
from bench.servers import AppProcess

ANONYMOUS, AUTHENTICATED = "anonymous", "authenticated"
OWNER = "INSERT INTO users (email, password_hash, version) VALUES ('bench@example.com', '-', 1)"
SEED_OWNED = """
INSERT INTO tasks (title, description, done, version, owner_id)
SELECT 'Task ' || n, 'Description of task ' || n, n % 3 = 0, 1, 1
FROM generate_series(1, {rows}) AS n
"""
# An access token of user 1, made by the project's own codec with the server's key.
SIGNED_CLAIMS_SCRIPT = """
from datetime import timedelta
from app.core.config import Settings
from app.security.tokens import AccessClaims, AccessTokens
settings = Settings()
tokens = AccessTokens(
    settings.auth_secret_key.get_secret_value(), issuer=settings.auth_issuer,
    audience=settings.auth_audience, lifetime=timedelta(hours=12),
)
print(tokens.issue(AccessClaims(user_id=1, session_version=1, scopes=frozenset())))
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return checked(pair_parser("python -m bench.auth", __doc__, rounds=6, duration=6), argv)


def owned_tasks(server: BenchServer, project: RenderedProject, rows: int) -> str:
    """A database of `project`'s schema whose `rows` tasks belong to user 1; returns its name."""
    name = "bench_auth"
    server.create_database(name)
    project.migrate(server.url(name))
    server.psql(name, OWNER, SEED_OWNED.format(rows=f"{rows:d}"), "VACUUM ANALYZE tasks")
    return name


def access_token(project: RenderedProject, database_url: str, key: dict[str, str]) -> str:
    """An access token of user 1, made by `project`'s own codec with the key the server has."""
    return project.run_python(
        "-c", SIGNED_CLAIMS_SCRIPT, env=key | {"DATABASE_URL": database_url}
    ).strip()


def report(rounds: list[Rounds], args: argparse.Namespace) -> tuple[list[str], bool]:
    failed = failed_lines(rounds, (ANONYMOUS, AUTHENTICATED))
    lines = [
        "# Benchmark: an authenticated GET (auth=jwt, owned tasks) against an anonymous one",
        "",
        f"- {load_line(args)}",
        "",
        *pair_table(rounds, ANONYMOUS, AUTHENTICATED, added=True),
        *failed,
    ]
    return lines, bool(failed)


def measure_both(args: argparse.Namespace, work: Path) -> list[Rounds]:
    progress("rendering the default project and one with auth=jwt")
    anonymous = render(work / ANONYMOUS, extras=(), vcs_ref=args.ref)
    authenticated = render(
        work / AUTHENTICATED, extras=(), answers={"auth": "jwt"}, vcs_ref=args.ref
    )
    key = {"AUTH_SECRET_KEY": secrets.token_urlsafe(48)}
    with BenchServer(durable=args.durable) as server:
        progress(f"seeding {args.rows:,} tasks in each database")
        tasks = TaskTable.create(server, anonymous, "bench", args.rows)
        owned = owned_tasks(server, authenticated, args.rows)
        token = access_token(authenticated, server.url(owned), key)
        anonymous_url, owned_url = server.url(tasks.database), server.url(owned)
        apps = [
            AppProcess.rendered(anonymous, anonymous_url, work / "a.log", {}, name=ANONYMOUS),
            AppProcess.rendered(authenticated, owned_url, work / "b.log", key, name=AUTHENTICATED),
        ]
        with apps[0], apps[1]:
            progress("loading both in interleaved rounds")
            get = Measurement(
                "GET by id",
                Script("get_by_id", (str(args.rows),)),
                args.connections,
                args.duration,
                args.warmup,
            )
            with_token = Script("get_by_id_bearer", (str(args.rows), token))
            targets = [
                Target(ANONYMOUS, apps[0].url, apps[0]),
                Target(AUTHENTICATED, apps[1].url, apps[1], script=with_token),
            ]
            return [measure(get, targets, args.rounds, alternate=True)]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return pair_main(
        "bench.auth", lambda work: measure_both(args, work), lambda rounds: report(rounds, args)
    )


if __name__ == "__main__":
    sys.exit(main())
