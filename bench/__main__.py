"""`uv run python -m bench`: render the default project, seed a throwaway PostgreSQL, load the
rendered service and R0 with wrk in interleaved rounds, measure paging depth and the rendered
test suite, and print the figures as Markdown (progress goes to standard error).

Exits 1 if any request got a non-2xx response or a socket error, 2 if the harness could not run.
"""

import json
import os
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path

from bench.console import progress
from bench.database import BenchServer, TaskTable
from bench.depth import run_depth
from bench.endpoints import run_endpoints, write_cursors
from bench.errors import HarnessError
from bench.jobs import JobRun, run_jobs
from bench.load import wrk_binary
from bench.machine import describe, load_average
from bench.options import Options, parse_args
from bench.project import render
from bench.report import Figures, jobs_section, markdown
from bench.servers import AppProcess
from bench.suite import run_suite


def measure(options: Options, work: Path, stack: ExitStack) -> Figures:
    """Every measurement, in an order that keeps set-up work out of the timed runs."""
    load_before = load_average()
    progress("rendering the default project and installing its environment")
    project = render(work / "project")
    progress(f"starting PostgreSQL ({'durable' if options.durable else 'fsync off'})")
    server = stack.enter_context(BenchServer(durable=options.durable))
    progress(
        f"creating and seeding the databases ({options.rows:,} and {options.deep_rows:,} rows)"
    )
    table = TaskTable.create(server, project, "bench", options.rows)
    deep_table = TaskTable.create(server, project, "bench_deep", options.deep_rows)
    cursors = write_cursors(project, table, work / "cursors.txt")

    progress("loading the rendered service and R0 in interleaved rounds")
    url = server.url(table.database)
    service = AppProcess.rendered(project, url, work / "service.log", options.service_env)
    reference_url = server.url(table.database, driver="")
    reference = AppProcess.reference(project, reference_url, work / "reference.log")
    with service, reference:
        endpoints = run_endpoints(options, [service, reference], table, cursors)

    progress(f"measuring list latency against paging depth in {deep_table.rows:,} rows")
    deep_url = server.url(deep_table.database)
    with AppProcess.rendered(project, deep_url, work / "deep.log", options.service_env) as deep:
        depth = run_depth(options, project, deep_table, deep)

    progress("timing the rendered project's test suite")
    suite = run_suite(project, server, options.isolation_tests, with_fuzzing=options.fuzzing_run)
    jobs = measure_jobs(options, work, server)
    machine = describe(project, server, load_before)
    return Figures(machine, project.render_seconds, endpoints, depth, suite, jobs)


def measure_jobs(options: Options, work: Path, server: BenchServer) -> list[JobRun]:
    progress("rendering a project with jobs=procrastinate and installing its environment")
    project = render(work / "jobs-project", extras=(), answers={"jobs": "procrastinate"})
    progress(f"running {options.jobs:,} jobs on 1 and 2 worker processes, interleaved")
    return run_jobs(options, project, server)


def main_jobs_only(options: Options) -> int:
    """`--jobs-only`: the worker throughput alone, on a server of its own."""
    load_before = load_average()
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        server = stack.enter_context(BenchServer(durable=options.durable))
        runs = measure_jobs(options, work, server)
    print("\n".join(jobs_section(runs, options)))
    load = f"load average {load_before} before the run, {load_average()} after"
    print(f"\n{os.cpu_count()} CPUs; {load}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    try:
        if options.jobs_only:
            return main_jobs_only(options)
        wrk_binary()
        with ExitStack() as stack:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
            figures = measure(options, work, stack)
    except HarnessError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    print("\n".join(markdown(figures, options)))
    if options.json_path:
        record = asdict(figures) | {"options": asdict(options), "failures": figures.failures()}
        options.json_path.write_text(json.dumps(record, indent=1, default=str))
    if failed := figures.failures():
        print("bench: FAILED, requests outside 2xx:\n" + "\n".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
