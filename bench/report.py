"""The report: Markdown tables (ready for docs/performance.md), with issue 5's targets beside the
figures they apply to."""

from collections.abc import Iterable
from dataclasses import dataclass

from bench.depth import DEEP_PAGE, FIRST_PAGE
from bench.endpoints import EndpointFigures
from bench.jobs import WORKER_COUNTS, JobRun
from bench.options import Options
from bench.rounds import Rounds
from bench.servers import REFERENCE, RENDERED
from bench.stats import median_of, percentile
from bench.suite import SuiteFigures

RATIO_TARGETS = {"GET by id": 0.22, "list of 20": 0.28, "POST": 0.18}  # rendered/R0, at least
DEPTH_TARGET = 1.5  # deep page p50 / first page p50 in cursor mode, at most


@dataclass(frozen=True)
class Figures:
    """Everything one run measured."""

    machine: list[str]
    render_seconds: float
    endpoints: EndpointFigures
    depth: Rounds
    suite: SuiteFigures
    jobs: list[JobRun]

    def failures(self) -> list[str]:
        """A line for every app and measurement that got a non-2xx response or a socket error."""
        return [
            f"{rounds.label}, {app}: {rounds.failed_requests(app)} non-2xx or socket errors"
            for rounds in [*self.endpoints.throughput, self.endpoints.latency, self.depth]
            for app in rounds.runs[0]
            if rounds.failed_requests(app)
        ]


def markdown(figures: Figures, options: Options) -> list[str]:
    machine = [f"- {line}" for line in figures.machine]
    scale = f"- {options.rows:,} rows; depth test on {options.deep_rows:,} rows"
    sections = [
        ["# Benchmark: the rendered default project against R0", "", *machine, scale],
        throughput_section(figures.endpoints, options),
        ratio_section(figures.endpoints, options),
        latency_section(figures.endpoints),
        depth_section(figures.depth, options),
        suite_section(figures.suite, figures.render_seconds),
        jobs_section(figures.jobs, options),
    ]
    if failed := figures.failures():
        sections.append(["## FAILED: requests outside 2xx", "", *[f"- {line}" for line in failed]])
    return [line for section in sections for line in [*section, ""]][:-1]


def table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def throughput_section(figures: EndpointFigures, options: Options) -> list[str]:
    rows = []
    for rounds in figures.throughput:
        for app in (RENDERED, REFERENCE):
            results = rounds.results(app)
            rows.append([
                rounds.label, app,
                f"{rounds.median(app, 'rps'):,.0f}",
                f"{rounds.median(app, 'p50_ms'):.2f}",
                f"{rounds.median(app, 'p99_ms'):.2f}",
                f"{rounds.median(app, 'cpu_us_per_request'):,.0f}",
                str(sum(result.non_2xx for result in results)),
                str(sum(result.socket_errors for result in results)),
            ])  # fmt: skip
    header = ["endpoint", "app", "req/s", "p50 ms", "p99 ms", "server CPU µs/req", "non-2xx"]
    title = (
        f"## Throughput: wrk -t1 -c{options.connections}, {options.duration:g} s runs after "
        f"{options.warmup:g} s warm-up, medians of {options.rounds} interleaved rounds"
    )
    return [title, "", *table([*header, "socket errors"], rows)]


def ratio_section(figures: EndpointFigures, options: Options) -> list[str]:
    rows = []
    for rounds in figures.throughput:
        ratios = rounds.ratios(RENDERED, REFERENCE)
        target = RATIO_TARGETS[rounds.label]
        met = median_of(ratios) >= target
        cells = [f"{ratio:.3f}" for ratio in ratios]
        median = f"**{median_of(ratios):.3f}**"
        rows.append([rounds.label, *cells, median, f"≥ {target}", verdict(met)])
    rounds_header = [f"round {number}" for number in range(1, options.rounds + 1)]
    header = ["endpoint", *rounds_header, "median", "target", "verdict"]
    return ["## Rendered / R0 req/s, per round", "", *table(header, rows)]


def latency_section(figures: EndpointFigures) -> list[str]:
    latency = figures.latency
    rows = [
        [app, f"{latency.median(app, 'p50_ms'):.2f}", f"{latency.median(app, 'p99_ms'):.2f}"]
        for app in (RENDERED, REFERENCE)
    ]
    ratio = median_of(latency.ratios(RENDERED, REFERENCE, of="p50_ms"))
    rss = ", ".join(f"{app} {mib:.0f} MiB" for app, mib in figures.peak_rss_mib.items())
    return [
        "## Single connection: GET by id, wrk -t1 -c1, medians of rounds",
        "",
        *table(["app", "p50 ms", "p99 ms"], rows),
        "",
        f"p50 rendered / R0: {ratio:.2f} (median of per-round ratios)",
        "",
        f"Peak RSS (VmHWM) after all runs: {rss}",
    ]


def depth_section(depth: Rounds, options: Options) -> list[str]:
    rows = [
        [name, f"{depth.median(name, 'p50_ms'):.2f}", f"{depth.median(name, 'p99_ms'):.2f}"]
        for name in depth.runs[0]
    ]
    ratio = median_of(depth.ratios(DEEP_PAGE, FIRST_PAGE, of="p50_ms"))
    return [
        f"## Paging depth: {depth.label}, deep page after row {options.deep_position:,}, "
        "wrk -c1, medians of rounds",
        "",
        *table(["page", "p50 ms", "p99 ms"], rows),
        "",
        f"Cursor mode, deep / first page p50: {ratio:.2f} (target ≤ {DEPTH_TARGET}: "
        f"{verdict(ratio <= DEPTH_TARGET)})",
    ]


def suite_row(figure: str, value: float, target: float | None = None, unit: str = "s") -> list[str]:
    """A row of the suite table; `target` is an upper bound in the value's unit."""
    if target is None:
        return [figure, f"{value:.2f} {unit}", "", ""]
    return [figure, f"{value:.2f} {unit}", f"≤ {target:g} {unit}", verdict(value <= target)]


def suite_section(suite: SuiteFigures, render_seconds: float) -> list[str]:
    run, full = suite.without_fuzzing, suite.with_fuzzing
    api = suite.api_tests_ms
    isolation = (
        f"isolation overhead per test (rolled-back transaction {suite.rolled_back_ms:.2f} ms, "
        f"no cleanup {suite.no_cleanup_ms:.2f} ms)"
    )
    rows = [
        suite_row("render (copier copy --defaults)", render_seconds, 2),
        suite_row(f"whole suite without fuzzing, {len(run.tests)} tests", run.wall_seconds, 10),
        suite_row("- start-up: interpreter, imports, plugins", run.startup_seconds),
        suite_row("- session set-up: server, migrated template, clone", run.setup_seconds, 2),
        suite_row(f"API test duration, median ({len(api)} tests)", median_of(api), unit="ms"),
        suite_row("API test duration, p95", percentile(api, 0.95), unit="ms"),
        suite_row(isolation, suite.isolation_overhead_ms, 2, unit="ms"),
    ]
    if full is not None:
        figure = f"whole suite with fuzzing, {len(full.tests)} tests"
        rows.append(suite_row(figure, full.wall_seconds))
    lines = ["## Rendered project's test suite (`pytest`, its own throwaway server)", ""]
    lines += table(["figure", "value", "target", "verdict"], rows)
    if failed := sorted({*run.failed(), *(full.failed() if full else [])}):
        lines += ["", f"Warning: {len(failed)} test(s) of the rendered suite failed:"]
        lines += [f"- {nodeid}" for nodeid in failed]
    return lines


def jobs_section(runs: list[JobRun], options: Options) -> list[str]:
    """Jobs per second of one and of two worker processes, per round and their median."""
    rates = {workers: [run.per_second for run in runs if run.workers == workers]
             for workers in WORKER_COUNTS}  # fmt: skip
    single = median_of(rates[1])
    rows = [
        [
            f"{workers} worker{'s' if workers > 1 else ''}",
            *[f"{rate:,.0f}" for rate in rates[workers]],
            f"**{median_of(rates[workers]):,.0f}**",
            f"{median_of(rates[workers]) / single:.2f}",
        ]
        for workers in WORKER_COUNTS
    ]
    rounds = [f"round {number}" for number in range(1, len(rates[1]) + 1)]
    return [
        f"## Background jobs: {options.jobs:,} `send_email` jobs queued in one commit, "
        f"JOBS_CONCURRENCY={options.job_concurrency}, jobs/s until the last one succeeded",
        "",
        *table(["workers", *rounds, "median", "vs 1 worker"], rows),
    ]
