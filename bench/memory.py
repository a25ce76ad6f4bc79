"""`uv run python -m bench.memory`: one worker process's memory at rest and as requests pile up.

The default project is rendered and served by one uvicorn process with the production settings.
Its resident set (VmRSS, from `/proc`) is read once it answers (at rest), then after every step
of load: GET by id, a list of 20 and POST, each for `--step-seconds` with wrk, until
`--requests` have been served (two steps at least). Caches, the connection pool and the
allocator's arenas fill in the first steps; after that the resident set of a process that does
not leak stays flat, so the report gives the growth over the second half of the run, per 10,000
requests. With `--otel`, the project is rendered with `observability=[otel]` and exports every
span to bench.otel's local sink while it serves.
"""

import argparse
import json
import sys
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

from bench.console import progress
from bench.database import BenchServer, TaskTable
from bench.endpoints import write_cursors
from bench.load import Script, run_wrk
from bench.machine import load_average
from bench.otel import otlp_sink
from bench.pairs import pair_main
from bench.project import render
from bench.report import table
from bench.servers import AppProcess

PER_GROWTH = 10_000  # the growth is given per this many requests
MIN_READINGS = 3  # at rest and two steps at least: the growth needs a step after the middle


@dataclass(frozen=True)
class Reading:
    """The resident set after `requests` requests (0: at rest)."""

    requests: int
    rss_mib: float


@dataclass(frozen=True)
class MemoryRun:
    readings: list[Reading]
    failed: int  # non-2xx answers and socket errors
    peak_mib: float
    load_before: str
    spans: int | None = None  # with --otel: the spans the sink received


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    add = parser.add_argument
    add("--ref", default="HEAD", help="the commit of this checkout to render (default HEAD)")
    add("--requests", type=int, default=100_000, help="requests to serve (default 100000)")
    add("--step-seconds", type=int, default=5, help="seconds per endpoint and step (default 5)")
    add("--rows", type=int, default=10_000, help="rows in the table (default 10000)")
    add("--connections", type=int, default=32, help="wrk connections (default 32)")
    add("--no-durable", dest="durable", action="store_false", help="PostgreSQL without fsync")
    add("--otel", action="store_true", help="render with observability=[otel], export every span")
    args = parser.parse_args(argv)
    if args.rows < 100 or min(args.requests, args.connections) < 1 or args.step_seconds <= 0:
        parser.error(
            "--rows must be at least 100; --requests, --connections, --step-seconds positive"
        )
    return args


def serve_until(
    args: argparse.Namespace, app: AppProcess, tasks: TaskTable, cursors: Path
) -> MemoryRun:
    """Load `app` in steps until `args.requests` were served; its resident set after each step."""
    scripts = [
        Script("get_by_id", (str(tasks.rows),)),
        Script("list", (str(cursors),)),
        Script("post"),
    ]
    load_before = load_average()
    readings, failed, served = [Reading(0, app.rss_mib())], 0, 0
    while served < args.requests or len(readings) < MIN_READINGS:
        for script in scripts:
            result = run_wrk(
                app.url, script, connections=args.connections, seconds=args.step_seconds
            )
            served += result.requests
            failed += result.non_2xx + result.socket_errors
        tasks.reset()
        readings.append(Reading(served, app.rss_mib()))
        progress(f"{served:,} requests served, VmRSS {readings[-1].rss_mib:.1f} MiB")
    return MemoryRun(readings, failed, app.peak_rss_mib(), load_before)


def late_growth(readings: list[Reading]) -> float:
    """MiB per PER_GROWTH requests from the step nearest the middle of the run (not the last) to
    the last step."""
    last = readings[-1]
    middle = min(readings[1:-1], key=lambda reading: abs(reading.requests - last.requests / 2))
    return (last.rss_mib - middle.rss_mib) / (last.requests - middle.requests) * PER_GROWTH


def measure(args: argparse.Namespace, work: Path) -> MemoryRun:
    answers = {"observability": "[otel]"} if args.otel else {}
    progress(f"rendering the project with {answers or 'the default answers'}")
    project = render(work / "project", extras=(), answers=answers, vcs_ref=args.ref)
    counts = None
    with ExitStack() as stack:
        server = stack.enter_context(BenchServer(durable=args.durable))
        progress(f"seeding {args.rows:,} tasks")
        tasks = TaskTable.create(server, project, "bench", args.rows)
        cursors = write_cursors(project, tasks, work / "cursors.txt")
        exporting = {}
        if args.otel:
            endpoint, counts = stack.enter_context(otlp_sink(project, work))
            exporting = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}
        url = server.url(tasks.database)
        app = stack.enter_context(
            AppProcess.rendered(project, url, work / "service.log", exporting)
        )
        run = serve_until(args, app, tasks, cursors)
    if counts is None:
        return run
    # The sink writes its counts once stopped, after the service flushed its last spans.
    spans = json.loads(counts.read_text())["spans"] if counts.exists() else 0
    return replace(run, spans=spans)


def report(run: MemoryRun, args: argparse.Namespace) -> tuple[list[str], bool]:
    rest, last = run.readings[0], run.readings[-1]
    lines = [
        "# Benchmark: one worker's memory at rest and after requests"
        + (", exporting every span over OTLP/HTTP" if args.otel else ""),
        "",
        f"- GET by id, list of 20 and POST in turn, {args.step_seconds} s each per step, wrk -t1"
        f" -c{args.connections}, {args.rows:,} rows; load average before: {run.load_before}",
        f"- VmRSS at rest: **{rest.rss_mib:.1f} MiB**; after {last.requests:,} requests:"
        f" **{last.rss_mib:.1f} MiB**; peak (VmHWM): {run.peak_mib:.1f} MiB",
        f"- growth over the second half of the run: **{late_growth(run.readings):+.2f} MiB per"
        f" {PER_GROWTH:,} requests**",
        "",
        *table(
            ["requests served", "VmRSS MiB"],
            ([f"{reading.requests:,}", f"{reading.rss_mib:.1f}"] for reading in run.readings),
        ),
    ]
    if run.spans is not None:
        lines.insert(2, f"- the sink received {run.spans:,} spans")
    failed = bool(run.failed) or run.spans == 0
    if run.failed:
        lines += ["", f"## FAILED: {run.failed} requests outside 2xx or socket errors"]
    if run.spans == 0:
        lines += ["", "## FAILED: the sink received no span"]
    return lines, failed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return pair_main(
        "bench.memory", lambda work: measure(args, work), lambda run: report(run, args)
    )


if __name__ == "__main__":
    sys.exit(main())
