"""List latency against paging depth, on the big table: the rendered service alone, one
connection, the first page versus a page 99% of the way in, in cursor mode (the default) and,
for contrast, in offset mode (which also counts the total)."""

from urllib.parse import urlencode

from bench.database import TaskTable
from bench.errors import HarnessError
from bench.http import call
from bench.load import Script
from bench.options import Options
from bench.project import RenderedProject
from bench.rounds import Measurement, Rounds, Target, measure
from bench.servers import AppProcess

FIRST_PAGE = "cursor, first page"
DEEP_PAGE = "cursor, deep page"
FIRST_OFFSET = "offset, first page"
DEEP_OFFSET = "offset, deep page"


def depth_targets(service: AppProcess, cursor: str, deep: int) -> list[Target]:
    def url(**query: str | int) -> str:
        return f"{service.url}/api/v1/tasks?{urlencode({'limit': 20, **query})}"

    return [
        Target(FIRST_PAGE, url()),
        Target(DEEP_PAGE, url(cursor=cursor)),
        Target(FIRST_OFFSET, url(offset=0)),
        Target(DEEP_OFFSET, url(offset=deep)),
    ]


def check_pages(targets: list[Target], deep: int, rows: int) -> None:
    """Each URL gives the page it claims to: the deep cursor continues after row `deep`, and only
    offset mode carries a total."""
    expected: dict[str, tuple[int, int | None]] = {
        FIRST_PAGE: (1, None),
        DEEP_PAGE: (deep + 1, None),
        FIRST_OFFSET: (1, rows),
        DEEP_OFFSET: (deep + 1, rows),
    }
    for target in targets:
        page = call("GET", target.url)[1]
        if (page["items"][0]["id"], page["total"]) != expected[target.name]:
            raise HarnessError(f"{target.name}: expected (first id, total) {expected[target.name]}")


def run_depth(
    options: Options, project: RenderedProject, table: TaskTable, service: AppProcess
) -> Rounds:
    deep = options.deep_position
    [cursor] = project.cursors_after([deep])
    targets = depth_targets(service, cursor, deep)
    check_pages(targets, deep, table.rows)
    label = f"list of 20 in {table.rows:,} rows"
    single = Measurement(label, Script("fixed"), 1, options.latency_duration, options.warmup)
    return measure(single, targets, options.rounds)
