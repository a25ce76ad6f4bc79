"""`uv run python -m bench.otel`: what tracing costs the rendered service, in CPU per request.

The project rendered with `observability=[otel]` runs twice side by side, each one uvicorn
process with the production settings: "otel off" without an OTLP endpoint (the option's
no-op: nothing is set up) and "otel on" exporting every span over OTLP/HTTP to a local sink
(bench/in_project/otlp_sink.py, a process of its own whose CPU is not counted; it checks that
the spans did arrive). wrk loads both in interleaved rounds, as the main harness does; the
report gives the server CPU time per request of each, and the difference.
"""

import argparse
import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench.console import progress
from bench.database import BenchServer, TaskTable
from bench.endpoints import write_cursors
from bench.errors import HarnessError
from bench.load import Script, wrk_binary
from bench.machine import load_average
from bench.project import RenderedProject, render
from bench.report import table
from bench.rounds import Measurement, Rounds, Target, measure
from bench.servers import IN_PROJECT, AppProcess, free_port
from bench.stats import median_of

OFF, ON = "otel off", "otel on"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.otel", description=__doc__)
    add = parser.add_argument
    add("--rows", type=int, default=10_000, help="rows in the table (default 10000)")
    add("--rounds", type=int, default=5, help="interleaved rounds per endpoint (default 5)")
    add("--duration", type=float, default=10, help="seconds of load per run (default 10)")
    add("--warmup", type=float, default=2, help="seconds of unrecorded load before each run")
    add("--connections", type=int, default=32, help="wrk connections (default 32)")
    add("--no-durable", dest="durable", action="store_false", help="PostgreSQL without fsync")
    args = parser.parse_args(argv)
    if args.rows < 100 or min(args.rounds, args.connections) < 1 or args.duration <= 0:
        parser.error("--rows must be at least 100; --rounds, --connections, --duration positive")
    return args


@contextmanager
def otlp_sink(project: RenderedProject, work: Path) -> Iterator[tuple[str, Path]]:
    """The sink process; yields its endpoint and the file it writes its counts to when stopped."""
    port, counts = free_port(), work / "sink-counts.json"
    command = [str(project.python), str(IN_PROJECT / "otlp_sink.py"), str(port), str(counts)]
    process = subprocess.Popen(command, cwd=project.path)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError as error:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise HarnessError("the OTLP sink did not start") from error
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", counts
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def report(rounds: list[Rounds], spans: int, args: argparse.Namespace) -> list[str]:
    rows = []
    for measured in rounds:
        off, on = (measured.median(app, "cpu_us_per_request") for app in (OFF, ON))
        ratios = measured.ratios(ON, OFF, of="cpu_us_per_request")
        rows.append([
            measured.label,
            f"{measured.median(OFF, 'rps'):,.0f}", f"{measured.median(ON, 'rps'):,.0f}",
            f"{off:,.0f}", f"{on:,.0f}", f"{on - off:+,.0f}",
            f"**{median_of(ratios):.2f}**", ", ".join(f"{ratio:.2f}" for ratio in ratios),
        ])  # fmt: skip
    header = ["endpoint", "req/s off", "req/s on", "CPU µs/req off", "CPU µs/req on", "added µs"]
    failed = [
        f"- {measured.label}, {app}: {measured.failed_requests(app)} non-2xx or socket errors"
        for measured in rounds
        for app in (OFF, ON)
        if measured.failed_requests(app)
    ]
    return [
        "# Benchmark: tracing on (OTLP/HTTP to a local sink) against tracing off",
        "",
        f"- wrk -t1 -c{args.connections}, {args.duration:g} s runs after {args.warmup:g} s "
        f"warm-up, {args.rounds} interleaved rounds, {args.rows:,} rows; load average before: "
        f"{load_average()}",
        f"- the sink received {spans:,} spans",
        "",
        *table([*header, "on / off (median)", "on / off per round"], rows),
        *(["", "## FAILED: requests outside 2xx", "", *failed] if failed else []),
    ]


def measure_both(args: argparse.Namespace, work: Path) -> tuple[list[Rounds], int]:
    """The rounds of each endpoint, and the number of spans the sink received."""
    progress("rendering the project with observability=[otel]")
    project = render(work / "project", extras=(), answers={"observability": "[otel]"})
    with ExitStack() as stack:
        server = stack.enter_context(BenchServer(durable=args.durable))
        progress(f"seeding {args.rows:,} rows")
        tasks = TaskTable.create(server, project, "bench", args.rows)
        cursors = write_cursors(project, tasks, work / "cursors.txt")
        endpoint, counts = stack.enter_context(otlp_sink(project, work))
        url = server.url(tasks.database)
        exporting = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}
        apps = [
            AppProcess.rendered(project, url, work / "off.log", {}, name=OFF),
            AppProcess.rendered(project, url, work / "on.log", exporting, name=ON),
        ]
        for app in apps:  # stopped before the sink: "on" flushes its last spans on the way out
            stack.enter_context(app)
        load = (args.connections, args.duration, args.warmup)
        measurements = [
            Measurement("GET by id", Script("get_by_id", (str(tasks.rows),)), *load),
            Measurement("list of 20", Script("list", (str(cursors),)), *load),
            Measurement("POST", Script("post"), *load, after_run=tasks.reset),
        ]
        targets = [Target(app.name, app.url, app) for app in apps]
        progress("loading tracing off and on in interleaved rounds")
        rounds = [measure(measurement, targets, args.rounds) for measurement in measurements]
    spans = json.loads(counts.read_text())["spans"] if counts.exists() else 0
    return rounds, spans


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        wrk_binary()
        with tempfile.TemporaryDirectory(prefix="bench-otel-") as work:
            rounds, spans = measure_both(args, Path(work))
    except HarnessError as error:
        print(f"bench.otel: {error}", file=sys.stderr)
        return 2
    print("\n".join(report(rounds, spans, args)))
    if not spans:
        print("bench.otel: FAILED, the sink received no span", file=sys.stderr)
        return 1
    if any(measured.failed_requests(app) for measured in rounds for app in (OFF, ON)):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
