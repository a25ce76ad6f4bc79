"""`uv run python -m bench.compare [BEFORE] [AFTER]`: what a change to the template costs or
saves the rendered service, in CPU per request.

Two commits of this checkout (default: `main` and `HEAD`) are rendered with the same answers and
served side by side on one seeded database, each one uvicorn process with the production
settings. wrk loads both in interleaved rounds whose order alternates (before, after; after,
before; ...), so drift of a shared machine hits both alike; the figure is the median of the
per-round ratios after / before of the server CPU time per request (from /proc). Two sequential
`python -m bench` runs cannot show a change of 10%: the machine moves more than that between
runs (docs/performance.md).
"""

import argparse
import sys
from pathlib import Path

from bench.console import progress
from bench.database import BenchServer, TaskTable
from bench.endpoints import check_same_shape, write_cursors
from bench.options import environment_variable
from bench.pairs import (
    checked,
    failed_lines,
    load_line,
    measure_endpoints,
    pair_main,
    pair_parser,
    pair_table,
)
from bench.project import render
from bench.rounds import Rounds
from bench.servers import AppProcess

BEFORE, AFTER = "before", "after"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = pair_parser("python -m bench.compare", __doc__, rounds=6, duration=6, ref=False)
    add = parser.add_argument
    add("before", nargs="?", default="main", help="the commit to compare against (default main)")
    add("after", nargs="?", default="HEAD", help="the commit with the change (default HEAD)")
    add(
        "--answer",
        type=environment_variable,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a Copier answer for both renders, e.g. observability=[otel] (repeatable)",
    )
    add(
        "--before-env",
        type=environment_variable,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting of the before service only (repeatable)",
    )
    add(
        "--after-env",
        type=environment_variable,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting of the after service only (with one commit twice: what a setting costs)",
    )
    return checked(parser, argv)


def report(rounds: list[Rounds], args: argparse.Namespace) -> tuple[list[str], bool]:
    answers = ", ".join(f"{name}={value}" for name, value in args.answer) or "the defaults"
    for side, env in (("before", args.before_env), ("after", args.after_env)):
        if env:
            answers += f"; {side} with " + ", ".join(f"{name}={value}" for name, value in env)
    failed = failed_lines(rounds, (BEFORE, AFTER))
    lines = [
        f"# Benchmark: {args.after} (after) against {args.before} (before)",
        "",
        f"- rendered with {answers}; {load_line(args)}",
        "",
        *pair_table(rounds, BEFORE, AFTER),
        *failed,
    ]
    return lines, bool(failed)


def measure_both(args: argparse.Namespace, work: Path) -> list[Rounds]:
    answers = dict(args.answer)
    projects = {}
    for name, ref in ((BEFORE, args.before), (AFTER, args.after)):
        progress(f"rendering {ref} ({name}) and installing its environment")
        projects[name] = render(work / name, extras=(), answers=answers, vcs_ref=ref)
    with BenchServer(durable=args.durable) as server:
        progress(f"seeding {args.rows:,} rows with {args.after}'s migrations")
        tasks = TaskTable.create(server, projects[AFTER], "bench", args.rows)
        cursors = write_cursors(projects[AFTER], tasks, work / "cursors.txt")
        url = server.url(tasks.database)
        settings = {BEFORE: dict(args.before_env), AFTER: dict(args.after_env)}
        apps = [
            AppProcess.rendered(project, url, work / f"{name}.log", settings[name], name=name)
            for name, project in projects.items()
        ]
        with apps[0], apps[1]:
            check_same_shape(apps, tasks)
            progress("loading before and after in interleaved rounds")
            return measure_endpoints(apps, tasks, cursors, args)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return pair_main(
        "bench.compare", lambda work: measure_both(args, work), lambda rounds: report(rounds, args)
    )


if __name__ == "__main__":
    sys.exit(main())
