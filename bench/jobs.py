"""Background jobs (jobs=procrastinate): how many jobs a second one worker process runs, and two.

A project rendered with jobs on, migrated into its own database; bench/in_project/job_throughput.py
runs the workers and the clock inside it. The figures are printed, not judged: on a shared
two-core machine, two workers share the cores with PostgreSQL and each other.
"""

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.database import BenchServer
from bench.options import Options
from bench.project import RenderedProject
from bench.servers import IN_PROJECT

DATABASE = "bench_jobs"
WORKER_COUNTS = (1, 2)


@dataclass(frozen=True)
class JobRun:
    workers: int
    jobs: int
    seconds: float
    per_second: float


def run_jobs(options: Options, project: RenderedProject, server: BenchServer) -> list[JobRun]:
    """One run per worker count, `options.rounds` times, interleaved; the order of the runs."""
    server.create_database(DATABASE)
    url = server.url(DATABASE)
    project.migrate(url)
    script = project.path / "job_throughput.py"
    shutil.copy(IN_PROJECT / "job_throughput.py", script)
    runs = []
    for _ in range(options.rounds):
        for workers in WORKER_COUNTS:
            arguments = [str(options.jobs), str(workers), str(options.job_concurrency)]
            output = project.run_python(str(Path(script.name)), url, *arguments)
            runs.append(JobRun(**json.loads(output)))
    return runs
