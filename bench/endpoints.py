"""The rendered service against R0 on the three endpoints, then single-connection latency.

Both apps serve the same database and answer in the same JSON shape (checked before any load);
each is one uvicorn process, so each gets at most one core while wrk and PostgreSQL share the
rest of this 2-core machine.
"""

import random
from dataclasses import dataclass
from pathlib import Path

from bench.database import TaskTable
from bench.errors import HarnessError
from bench.http import call
from bench.load import Script
from bench.options import Options
from bench.project import RenderedProject
from bench.rounds import Measurement, Rounds, Target, measure
from bench.servers import AppProcess

PAGE_SIZE = 20
CURSORS = 1000  # distinct list starting points drawn by list.lua
NEW_TASK = {"title": "Shape check", "description": None, "done": True}


@dataclass(frozen=True)
class EndpointFigures:
    throughput: list[Rounds]  # GET by id, list of 20, POST
    latency: Rounds  # GET by id on one connection
    peak_rss_mib: dict[str, float]


def write_cursors(project: RenderedProject, table: TaskTable, path: Path) -> Path:
    """Cursors for list.lua, made by the project's own encoder, each after a random id such that
    a full page follows (id 0 is the first page)."""
    starts = range(table.rows - PAGE_SIZE + 1)
    ids = random.sample(starts, min(CURSORS, len(starts)))
    path.write_text("".join(f"{cursor}\n" for cursor in project.cursors_after(ids)))
    return path


def check_same_shape(apps: list[AppProcess], table: TaskTable) -> None:
    """Both apps give the same keys for one task, a page and a created task (values may differ
    in form, e.g. datetimes with `Z` or `+00:00`)."""
    shapes = []
    for app in apps:
        task = call("GET", f"{app.url}/api/v1/tasks/1")[1]
        page = call("GET", f"{app.url}/api/v1/tasks?limit={PAGE_SIZE}")[1]
        status, created = call("POST", f"{app.url}/api/v1/tasks", NEW_TASK)
        if status != 201 or len(page["items"]) != PAGE_SIZE or page["next_cursor"] is None:
            raise HarnessError(f"{app.name}: unexpected POST status {status} or page {page}")
        shapes.append((sorted(task), sorted(page), sorted(page["items"][0]), sorted(created)))
    table.reset()
    if any(shape != shapes[0] for shape in shapes):
        raise HarnessError(f"the apps answer in different JSON shapes: {shapes}")


def run_endpoints(
    options: Options, apps: list[AppProcess], table: TaskTable, cursors: Path
) -> EndpointFigures:
    check_same_shape(apps, table)
    targets = [Target(app.name, app.url, app) for app in apps]
    get_by_id = Script("get_by_id", (str(table.rows),))
    throughput_load = (options.connections, options.duration, options.warmup)
    measurements = [
        Measurement("GET by id", get_by_id, *throughput_load),
        Measurement("list of 20", Script("list", (str(cursors),)), *throughput_load),
        Measurement("POST", Script("post"), *throughput_load, after_run=table.reset),
    ]
    throughput = [measure(measurement, targets, options.rounds) for measurement in measurements]
    single = Measurement("GET by id, 1 connection", get_by_id, 1, options.latency_duration)
    latency = measure(single, targets, options.rounds)
    return EndpointFigures(throughput, latency, {app.name: app.peak_rss_mib() for app in apps})
