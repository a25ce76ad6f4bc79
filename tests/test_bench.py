"""The benchmark harness (bench/) runs end to end at a tiny scale and reports every figure.

Its figures are not asserted: a tiny run on a shared machine measures nothing worth comparing.
What must hold at any scale is that every request got a 2xx answer.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import TEMPLATE_ROOT

pytestmark = pytest.mark.slow

TINY_RUN = (
    "--rows", "200", "--deep-rows", "2000", "--rounds", "1", "--duration", "1", "--warmup", "0",
    "--latency-duration", "1", "--isolation-tests", "20", "--no-fuzzing-run", "--no-durable",
    "--jobs", "100", "--job-concurrency", "4",
)  # fmt: skip
NUMBER = r"[\d,]+(?:\.\d+)?"


def run_bench(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m <module> <args>` in this checkout; fails the test unless it exits 0."""
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed; the benchmark needs it (apt-get install -y wrk).")
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def run_harness(json_path: Path) -> subprocess.CompletedProcess[str]:
    return run_bench("bench", *TINY_RUN, "--json", str(json_path))


def test_a_tiny_run_reports_every_figure_and_only_2xx(tmp_path: Path) -> None:
    result = run_harness(tmp_path / "figures.json")
    report = result.stdout

    for endpoint in ("GET by id", "list of 20", "POST"):
        for app in ("rendered", "R0"):
            # endpoint | app | req/s | p50 | p99 | CPU per request | non-2xx | socket errors
            row = rf"^\| {endpoint} \| {app} \| ({NUMBER} \| ){{4}}0 \| 0 \|$"
            assert re.search(row, report, re.MULTILINE), f"no clean row for {endpoint}, {app}"
        assert re.search(rf"^\| {endpoint} \| {NUMBER} \| \*\*{NUMBER}\*\* \|", report, re.M)
    for figure in ("p50 rendered / R0", "Peak RSS", "Cursor mode, deep / first page p50"):
        assert re.search(rf"^{figure}.*{NUMBER}", report, re.MULTILINE), figure
    for page in ("cursor, first page", "cursor, deep page", "offset, deep page"):
        assert re.search(rf"^\| {page} \| {NUMBER} \| {NUMBER} \|$", report, re.MULTILINE), page
    for figure in ("whole suite without fuzzing", "session set-up", "API test duration, p95"):
        assert re.search(rf"^\| -? ?{figure}.* \| {NUMBER} m?s \|", report, re.MULTILINE), figure
    assert re.search(rf"^\| isolation overhead per test .* \| -?{NUMBER} ms \|", report, re.M)
    for workers in ("1 worker", "2 workers"):  # jobs/s in the round, median, ratio to 1 worker
        assert re.search(
            rf"^\| {workers} \| {NUMBER} \| \*\*{NUMBER}\*\* \| {NUMBER} \|$", report, re.M
        )

    figures = json.loads((tmp_path / "figures.json").read_text())
    assert figures["failures"] == []
    assert len(figures["endpoints"]["throughput"]) == 3


TINY_PAIR = ("--rows", "200", "--rounds", "2", "--duration", "1", "--warmup", "0", "--no-durable")
PER_ROUND = rf"\*\*{NUMBER}\*\* \| {NUMBER}, {NUMBER} \|$"  # the median ratio, then 2 rounds


def test_the_tracing_overhead_run_reports_cpu_per_request_with_spans_exported() -> None:
    result = run_bench("bench.otel", *TINY_PAIR)
    spans = re.search(rf"^- the sink received ({NUMBER}) spans$", result.stdout, re.MULTILINE)
    assert spans is not None
    assert int(spans.group(1).replace(",", "")) > 0
    for endpoint in ("GET by id", "list of 20", "POST"):
        row = rf"^\| {endpoint} \| ({NUMBER} \| ){{4}}[+-]{NUMBER} \| {PER_ROUND}"
        assert re.search(row, result.stdout, re.MULTILINE), endpoint


def test_the_comparison_of_two_commits_reports_cpu_per_request_after_over_before() -> None:
    result = run_bench("bench.compare", "HEAD", "HEAD", *TINY_PAIR)
    assert "2 interleaved rounds in alternating order" in result.stdout
    for endpoint in ("GET by id", "list of 20", "POST"):
        row = rf"^\| {endpoint} \| ({NUMBER} \| ){{4}}{PER_ROUND}"
        assert re.search(row, result.stdout, re.MULTILINE), endpoint


@pytest.mark.parametrize(
    "command",
    ["bench.auth", "bench.tenancy"],
    ids=["authenticated against anonymous", "scoped against authenticated"],
)
def test_a_read_is_compared_with_the_same_read_without_an_option(command: str) -> None:
    result = run_bench(command, *TINY_PAIR)
    row = rf"^\| GET by id \| ({NUMBER} \| ){{4}}[+-]{NUMBER} \| {PER_ROUND}"
    assert re.search(row, result.stdout, re.MULTILINE), result.stdout


@pytest.mark.parametrize("tracing", [(), ("--otel",)], ids=["default", "exporting spans"])
def test_the_memory_run_reads_the_resident_set_at_rest_and_after_every_step(
    tracing: tuple[str, ...],
) -> None:
    result = run_bench(
        "bench.memory", "--requests", "1", "--step-seconds", "1", "--rows", "200",
        "--no-durable", *tracing,
    )  # fmt: skip
    report = result.stdout
    assert ("exporting every span" in report) == bool(tracing)
    spans = re.search(rf"^- the sink received ({NUMBER}) spans$", report, re.MULTILINE)
    assert (spans is not None and int(spans.group(1).replace(",", "")) > 0) == bool(tracing)
    assert re.search(rf"^- VmRSS at rest: \*\*{NUMBER} MiB\*\*; after ", report, re.MULTILINE)
    growth = rf"^- growth over the second half of the run: \*\*[+-]{NUMBER} MiB per 10,000"
    assert re.search(growth, report, re.MULTILINE), report
    steps = re.findall(rf"^\| ({NUMBER}) \| {NUMBER} \|$", report, re.MULTILINE)
    served = [int(step.replace(",", "")) for step in steps]
    assert served[0] == 0
    assert served == sorted(served)
    assert len(served) >= 3, report
