"""Two apps side by side: the table that compares their CPU per request, round by round.

`bench.compare` (two commits), `bench.auth` (an authenticated GET against an anonymous one) and
`bench.otel` (tracing on against off) report the same way: for each endpoint, both apps' req/s
and server CPU time per request, and the per-round ratio of the second to the first.
"""

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bench.database import TaskTable
from bench.errors import HarnessError
from bench.load import Script, wrk_binary
from bench.machine import load_average
from bench.report import table
from bench.rounds import Measurement, Rounds, Target, measure
from bench.servers import AppProcess
from bench.stats import median_of

Measured = TypeVar("Measured")


def pair_parser(
    prog: str, description: str | None, rounds: int, duration: float, *, ref: bool = True
) -> argparse.ArgumentParser:
    """The scale options every side-by-side command takes (`checked` validates them), and with
    `ref` the commit to render (runs of two commits then compare their ratios)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add = parser.add_argument
    if ref:
        add("--ref", default="HEAD", help="the commit of this checkout to render (default HEAD)")
    add("--rows", type=int, default=10_000, help="rows in each table (default 10000)")
    add("--rounds", type=int, default=rounds, help=f"interleaved rounds (default {rounds})")
    add("--duration", type=float, default=duration, help=f"seconds per run (default {duration:g})")
    add("--warmup", type=float, default=1, help="seconds of unrecorded load before each run")
    add("--connections", type=int, default=32, help="wrk connections (default 32)")
    add("--no-durable", dest="durable", action="store_false", help="PostgreSQL without fsync")
    return parser


def checked(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    args = parser.parse_args(argv)
    if args.rows < 100 or min(args.rounds, args.connections) < 1 or args.duration <= 0:
        parser.error("--rows must be at least 100; --rounds, --connections, --duration positive")
    return args


def pair_main(
    command: str,
    measure: Callable[[Path], Measured],
    report: Callable[[Measured], tuple[list[str], bool]],
) -> int:
    """Run `measure` in a temporary directory and print the lines `report` makes of its result.
    Exits 0; 1 when `report` says a request failed; 2 when the harness could not run."""
    try:
        wrk_binary()
        with tempfile.TemporaryDirectory(prefix=f"{command.replace('.', '-')}-") as work:
            result = measure(Path(work))
    except HarnessError as error:
        print(f"{command}: {error}", file=sys.stderr)
        return 2
    lines, failed = report(result)
    print("\n".join(lines))
    return 1 if failed else 0


def pair_table(rounds: list[Rounds], base: str, other: str, *, added: bool = False) -> list[str]:
    """The Markdown table of `other` against `base` (with `added`, the µs it adds too)."""
    rows = []
    for measured in rounds:
        first, second = (measured.median(app, "cpu_us_per_request") for app in (base, other))
        ratios = measured.ratios(other, base, of="cpu_us_per_request")
        rows.append([
            measured.label,
            f"{measured.median(base, 'rps'):,.0f}", f"{measured.median(other, 'rps'):,.0f}",
            f"{first:,.0f}", f"{second:,.0f}", *([f"{second - first:+,.0f}"] if added else []),
            f"**{median_of(ratios):.2f}**", ", ".join(f"{ratio:.2f}" for ratio in ratios),
        ])  # fmt: skip
    header = [
        "endpoint", f"req/s {base}", f"req/s {other}",
        f"CPU µs/req {base}", f"CPU µs/req {other}", *(["added µs"] if added else []),
        f"{other} / {base} (median)", f"{other} / {base} per round",
    ]  # fmt: skip
    return table(header, rows)


def failed_lines(rounds: list[Rounds], apps: tuple[str, ...]) -> list[str]:
    """The FAILED section's lines: every app and endpoint with a non-2xx answer or socket error
    (none when all were served)."""
    failed = [
        f"- {measured.label}, {app}: {measured.failed_requests(app)} non-2xx or socket errors"
        for measured in rounds
        for app in apps
        if measured.failed_requests(app)
    ]
    return ["", "## FAILED: requests outside 2xx", "", *failed] if failed else []


def load_line(args: argparse.Namespace) -> str:
    """How the apps were loaded, and how busy the machine was before."""
    return (
        f"wrk -t1 -c{args.connections}, {args.duration:g} s runs after {args.warmup:g} s warm-up, "
        f"{args.rounds} interleaved rounds in alternating order, {args.rows:,} rows; load average "
        f"before: {load_average()}"
    )


def measure_endpoints(
    apps: list[AppProcess], tasks: TaskTable, cursors: Path, args: argparse.Namespace
) -> list[Rounds]:
    """GET by id, a list of 20 and POST on every app, in interleaved rounds."""
    load = (args.connections, args.duration, args.warmup)
    measurements = [
        Measurement("GET by id", Script("get_by_id", (str(tasks.rows),)), *load),
        Measurement("list of 20", Script("list", (str(cursors),)), *load),
        Measurement("POST", Script("post"), *load, after_run=tasks.reset),
    ]
    targets = [Target(app.name, app.url, app) for app in apps]
    return [measure(m, targets, args.rounds, alternate=True) for m in measurements]
