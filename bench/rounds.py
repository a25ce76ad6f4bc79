"""Interleaved rounds: within each round every app gets the same load one after the other
(A B, A B, ...), so that drift of a noisy machine hits all of them alike, and the figure that
counts is the per-round ratio, not an absolute rate."""

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from bench.load import Script, WrkResult, run_wrk
from bench.servers import AppProcess
from bench.stats import median_of


@dataclass(frozen=True)
class Measurement:
    """What to run: a script against each app, at a concurrency, for a duration."""

    label: str
    script: Script
    connections: int
    seconds: float
    warmup: float = 0.0
    after_run: Callable[[], None] = lambda: None  # e.g. delete the rows a POST run added


@dataclass
class Rounds:
    """The results of one measurement: one {app name: result} per round."""

    label: str
    runs: list[dict[str, WrkResult]] = field(default_factory=list)

    def results(self, app: str) -> list[WrkResult]:
        return [run[app] for run in self.runs]

    def ratios(self, numerator: str, denominator: str, *, of: str = "rps") -> list[float]:
        """Per round, `of` (rps, p50_ms, ...) of one app divided by the other's."""
        return [getattr(run[numerator], of) / getattr(run[denominator], of) for run in self.runs]

    def median(self, app: str, of: str) -> float:
        return median_of([getattr(result, of) for result in self.results(app)])

    def failed_requests(self, app: str) -> int:
        """Responses outside 2xx, and socket errors (connect, read, write, timeout)."""
        return sum(result.non_2xx + result.socket_errors for result in self.results(app))


@dataclass(frozen=True)
class Target:
    """A named URL to load; with its process, the process's CPU time is recorded too; with a
    script, it is loaded with that one instead of the measurement's (e.g. one sending a token)."""

    name: str
    url: str
    process: AppProcess | None = None
    script: Script | None = None


def measure(
    measurement: Measurement, targets: list[Target], rounds: int, *, alternate: bool = False
) -> Rounds:
    """Run `measurement` against every target, in `rounds` interleaved rounds; with `alternate`,
    every other round runs the targets in reverse order (A B, B A, ...), so that neither always
    runs on a machine the other has just warmed or loaded."""
    result = Rounds(measurement.label)
    for number in range(rounds):
        run: dict[str, WrkResult] = {}
        for target in targets[::-1] if alternate and number % 2 else targets:
            script = target.script or measurement.script
            if measurement.warmup:
                load(target.url, script, measurement, measurement.warmup)
            cpu_before = target.process.cpu_seconds() if target.process else 0.0
            figures = load(target.url, script, measurement, measurement.seconds)
            if target.process:
                figures = replace(figures, cpu_seconds=target.process.cpu_seconds() - cpu_before)
            run[target.name] = figures
            measurement.after_run()
        result.runs.append(run)
    return result


def load(url: str, script: Script, measurement: Measurement, seconds: float) -> WrkResult:
    return run_wrk(url, script, connections=measurement.connections, seconds=seconds)
