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
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench.console import progress
from bench.database import BenchServer, TaskTable
from bench.endpoints import write_cursors
from bench.errors import HarnessError
from bench.pairs import (
    checked,
    failed_lines,
    load_line,
    measure_endpoints,
    pair_main,
    pair_parser,
    pair_table,
)
from bench.project import RenderedProject, render
from bench.rounds import Rounds
from bench.servers import IN_PROJECT, AppProcess, free_port

OFF, ON = "otel off", "otel on"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return checked(pair_parser("python -m bench.otel", __doc__, rounds=5, duration=10), argv)


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


def report(rounds: list[Rounds], spans: int, args: argparse.Namespace) -> tuple[list[str], bool]:
    failed = failed_lines(rounds, (OFF, ON))
    if not spans:
        failed += ["", "## FAILED: the sink received no span"]
    lines = [
        "# Benchmark: tracing on (OTLP/HTTP to a local sink) against tracing off",
        "",
        f"- {load_line(args)}",
        f"- the sink received {spans:,} spans",
        "",
        *pair_table(rounds, OFF, ON, added=True),
        *failed,
    ]
    return lines, bool(failed)


def measure_both(args: argparse.Namespace, work: Path) -> tuple[list[Rounds], int]:
    """The rounds of each endpoint, and the number of spans the sink received."""
    progress("rendering the project with observability=[otel]")
    project = render(
        work / "project", extras=(), answers={"observability": "[otel]"}, vcs_ref=args.ref
    )
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
        progress("loading tracing off and on in interleaved rounds")
        rounds = measure_endpoints(apps, tasks, cursors, args)
    spans = json.loads(counts.read_text())["spans"] if counts.exists() else 0
    return rounds, spans


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return pair_main(
        "bench.otel",
        lambda work: measure_both(args, work),
        lambda measured: report(*measured, args),
    )


if __name__ == "__main__":
    sys.exit(main())
