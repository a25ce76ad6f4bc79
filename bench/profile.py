"""`uv run python -m bench.profile`: where the rendered service spends its CPU time, per endpoint.

py-spy (installed into the rendered project's environment) samples the service process while
wrk loads one endpoint; the report gives the share of samples by library (the frame on top of the
stack: where the CPU actually was) and the functions most often anywhere on the stack. SQLAlchemy
runs its ORM in greenlets, whose stacks py-spy sees apart from the event loop's, so inclusive
shares of the routes and services undercount the ORM work they cause: read both lists together.

With `--otel`, the project is rendered with `observability=[otel]` and exports every span to
bench.otel's sink (its own process, not sampled): where tracing's cost goes.

py-spy reads another process's memory: run as root, or allow ptrace (kernel.yama.ptrace_scope).
"""

import argparse
import re
import subprocess
import sys
import tempfile
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from bench.console import progress
from bench.database import BenchServer, TaskTable
from bench.endpoints import write_cursors
from bench.errors import HarnessError
from bench.load import Script, run_wrk
from bench.otel import otlp_sink
from bench.project import REFERENCE_EXTRAS, RenderedProject, render
from bench.servers import AppProcess

FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^:()]+)(?::\d+)?\)$")
# The frames under every request (interpreter, command line, server loop): not worth listing.
OUTER_FILES = {
    "<frozen runpy>", "click/core.py", "uvicorn/__main__.py", "uvicorn/main.py",
    "uvicorn/server.py", "asyncio/runners.py",
}  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000, help="rows in the table")
    parser.add_argument("--duration", type=float, default=15, help="seconds per endpoint")
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=40, help="functions to list per endpoint")
    parser.add_argument("--service-env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--otel", action="store_true", help="trace, exporting to a local sink")
    return parser.parse_args(argv)


def sample(
    project: RenderedProject, pid: int, seconds: float, rate: int, output: Path
) -> subprocess.Popen[bytes]:
    """Start py-spy on `pid` for `seconds`, writing collapsed stacks ("a;b;c count") to `output`."""
    py_spy = project.python.parent / "py-spy"
    command = [str(py_spy), "record", "--pid", str(pid), "--rate", str(rate), "--nonblocking"]
    command += ["--duration", f"{seconds:g}", "--format", "raw", "--output", str(output)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def frames(stack: str) -> list[tuple[str, str]]:
    """(function, file) of each frame of one collapsed stack, outermost first."""
    parsed = (FRAME.match(frame) for frame in stack.split(";"))
    return [(match["function"], match["file"]) for match in parsed if match]


def library(file: str) -> str:
    """The package a file belongs to: its first path component, as py-spy shortens paths."""
    return file.split("/")[0] if "/" in file else file.removesuffix(".py")


def breakdown(collapsed: str, top: int) -> list[str]:
    by_library: Counter[str] = Counter()
    by_function: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not (stack_frames := frames(stack)):
            continue
        samples = int(count)
        total += samples
        by_library[library(stack_frames[-1][1])] += samples
        for function, file in set(stack_frames):
            if file not in OUTER_FILES:
                by_function[f"{function} ({file})"] += samples
    if not total:
        raise HarnessError("py-spy recorded no samples")
    libraries = ", ".join(
        f"{name} {count / total:.0%}" for name, count in by_library.most_common(12)
    )
    lines = [f"{total} samples. On top of the stack: {libraries}", "", "On the stack:"]
    return lines + [f"{count / total:6.1%}  {name}" for name, count in by_function.most_common(top)]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    service_env = dict(item.split("=", 1) for item in args.service_env)
    try:
        with ExitStack() as stack:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-profile-")))
            answers = {"observability": "[otel]"} if args.otel else {}
            progress("rendering the project, with py-spy in its environment")
            project = render(work / "project", (*REFERENCE_EXTRAS, "py-spy"), answers)
            server = stack.enter_context(BenchServer(durable=True))
            table = TaskTable.create(server, project, "bench", args.rows)
            cursors = write_cursors(project, table, work / "cursors.txt")
            url = server.url(table.database)
            if args.otel:
                endpoint, _ = stack.enter_context(otlp_sink(project, work))
                service_env["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
            service = AppProcess.rendered(project, url, work / "service.log", service_env)
            stack.enter_context(service)
            scripts = {
                "GET by id": Script("get_by_id", (str(table.rows),)),
                "list of 20": Script("list", (str(cursors),)),
                "POST": Script("post"),
            }
            for label, script in scripts.items():
                progress(f"profiling {label}")
                output = work / "profile.txt"
                sampler = sample(project, service.pid, args.duration, args.rate, output)
                result = run_wrk(service.url, script, connections=32, seconds=args.duration + 1)
                if sampler.wait(timeout=60) != 0 or not output.exists():
                    stderr = sampler.stderr.read().decode() if sampler.stderr else ""
                    raise HarnessError(f"py-spy failed (root or ptrace needed):\n{stderr}")
                table.reset()
                print(f"## {label}: {result.rps:,.0f} req/s under the profiler\n")
                print("\n".join(breakdown(output.read_text(), args.top)) + "\n")
    except HarnessError as error:
        print(f"bench.profile: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
