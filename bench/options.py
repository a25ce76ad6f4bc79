"""Command-line options: the scale of a run. The defaults are the full run docs/performance.md
reports; a tiny run (see tests/test_bench.py) only proves that the harness works."""

import argparse
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Options:
    rows: int
    deep_rows: int
    rounds: int
    duration: float
    warmup: float
    connections: int
    latency_duration: float
    isolation_tests: int
    fuzzing_run: bool
    durable: bool
    service_env: dict[str, str]
    json_path: Path | None
    jobs: int
    job_concurrency: int
    jobs_only: bool

    @property
    def deep_position(self) -> int:
        """Where the deep page of the depth test starts: 99% into the big table (990k of 1M)."""
        return self.deep_rows * 99 // 100


def environment_variable(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the rendered default project against a raw-driver reference app.",
    )
    add = parser.add_argument
    add("--rows", type=int, default=10_000, help="rows in the main table (default 10000)")
    add("--deep-rows", type=int, default=1_000_000, help="rows for the depth test (default 1M)")
    add("--rounds", type=int, default=5, help="interleaved rounds per endpoint (default 5)")
    add("--duration", type=float, default=10, help="seconds of load per run (default 10)")
    add("--warmup", type=float, default=2, help="seconds of unrecorded load before each run")
    add("--connections", type=int, default=32, help="wrk connections for throughput (default 32)")
    add(
        "--latency-duration",
        type=float,
        default=5,
        help="seconds per single-connection latency run (default 5)",
    )
    add(
        "--isolation-tests",
        type=int,
        default=300,
        help="probe tests per cleanup strategy for the isolation overhead (default 300)",
    )
    add(
        "--no-fuzzing-run",
        dest="fuzzing_run",
        action="store_false",
        help="time the rendered suite only without its fuzz tests (the targets' measure)",
    )
    add(
        "--no-durable",
        dest="durable",
        action="store_false",
        help="run PostgreSQL with fsync, synchronous_commit and full_page_writes off",
    )
    add(
        "--service-env",
        type=environment_variable,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra setting for the rendered service, e.g. LOG_LEVEL=WARNING (repeatable)",
    )
    add("--json", dest="json_path", type=Path, help="also write every figure to this JSON file")
    add("--jobs", type=int, default=5000, help="jobs per worker-throughput run (default 5000)")
    add("--job-concurrency", type=int, default=10, help="JOBS_CONCURRENCY of each worker")
    add("--jobs-only", action="store_true", help="measure the job workers only")
    args = parser.parse_args(argv)
    if args.rows < 100 or args.deep_rows < 100:
        parser.error("--rows and --deep-rows must be at least 100")
    if min(args.rounds, args.connections, args.isolation_tests, args.jobs) < 1:
        parser.error("--rounds, --connections, --isolation-tests and --jobs must be positive")
    if args.job_concurrency < 1:
        parser.error("--job-concurrency must be positive")
    if min(args.duration, args.latency_duration) <= 0 or args.warmup < 0:
        parser.error("durations must be positive (the warm-up may be 0)")
    return Options(
        rows=args.rows,
        deep_rows=args.deep_rows,
        rounds=args.rounds,
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        latency_duration=args.latency_duration,
        isolation_tests=args.isolation_tests,
        fuzzing_run=args.fuzzing_run,
        durable=args.durable,
        service_env=dict(args.service_env),
        json_path=args.json_path,
        jobs=args.jobs,
        job_concurrency=args.job_concurrency,
        jobs_only=args.jobs_only,
    )
