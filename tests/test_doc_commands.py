"""Every shell command the documentation shows works as written in a fresh render.

The commands are read from docs/*.md and the rendered README (tests/support/doc_commands.py) in
reading order, and each is classified in STEPS below, a table reviewed like code: run as written
(or as a stated variant), served (`tools.dev`: started, answered, stopped with Ctrl-C), the same as
one run earlier, or skipped with the reason. A command missing from the table fails the test until
it is classified, and so does an entry no page shows any more.

The render answers like docs/auth.md's copy command (auth with registration), so that the pages
for a new service, its resources, its users and its updates all apply. It comes from a clone of
the working tree with one more (empty) commit on top, without tags, as the template repository
has none: the render is made from the commit below, so `copier update` has a version to go to,
and `tools.update_resources` then moves each added resource there too.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from copier import run_copy

from tests.support.doc_commands import DocCommand, documented_commands
from tests.support.environments import Environments
from tests.support.git import GIT_IDENTITY, commit, git
from tests.support.postgres import load_local_postgres
from tests.support.project import Project
from tests.support.pythons import python_for
from tests.support.releases import versioned_clone
from tests.support.resources import render_service

ANSWERS = {"project_name": "Doc Commands", "auth": "jwt", "auth_registration": True}
# Each resource's own API tests and the migration checks (single head, models match migrations):
# the whole suite of this combination runs in tests/test_combinations.py (CI budget).
PYTEST = (
    "uv run pytest -q -x -p no:cacheprovider "
    "tests/migrations/test_migrations.py tests/api/test_*.py"
)
PASSWORD = "a long enough password\n" * 2  # asked twice


@dataclass(frozen=True)
class Run:
    """Run the command as written, or `as_run` for the reason `why`; `stdin` is typed in,
    `expect` must be in the output, `exit_codes` are success."""

    as_run: str | None = None
    why: str = ""
    stdin: str = ""
    expect: str = ""
    exit_codes: tuple[int, ...] = (0,)


@dataclass(frozen=True)
class Serve:
    """`tools.dev`: started as written (on a free port rather than 8000, which parallel test
    runs share), until /health/live answers; then Ctrl-C, after which it must exit with 0."""


@dataclass(frozen=True)
class Same:
    """The same command as on `page` (there as `command`, when written otherwise), which ran
    there."""

    page: str
    command: str | None = None


@dataclass(frozen=True)
class Skip:
    reason: str


Step = Run | Serve | Same | Skip

TEMPLATE_REPO = "a command for the template repository, not a service"
RENDERS = "renders a service from a template checkout: the test renders its own (ANSWERS)"
TOGGLES = "turns an option on or off in an existing service: tests/test_option_toggles.py does"
API_CALL = "calls the served API with a signed-in user's token: tests/test_dev_server.py calls it"
DEV = "uv run python -m tools.dev"
SERVE = f"cd ~/my-service && {DEV}"
CONFLICTS_GREP = "git grep -n -e '^<<<<<<< ' -e '^>>>>>>> '"
NO_MARKERS = "git grep exits 1 when it finds nothing: no conflict markers is the answer expected"
CHECKS = "uv run ruff check . && uv run ruff format --check . && uv run mypy && uv run lint-imports"
COPY_HEAD = 'uvx copier copy --vcs-ref=HEAD --defaults "$PWD" ~/my-service'
ADD_CUSTOMER = (
    'uv run python -m tools.add_resource customer --fields "name:str(100) email:email! '
    'vip:bool=false"'
)
ADD_ORDER = (
    'uv run python -m tools.add_resource order --fields "customer:ref(customer) '
    'total_cents:int>=0 note:text? shipped:bool=false due:date?"'
)
JOBS_ON = (
    "uvx copier update --defaults -d jobs=procrastinate "
    "-d jobs_after_revision=$(uv run alembic heads | cut -d' ' -f1)"
)
AUTH_ON = (
    "uvx copier update --defaults -d auth=jwt "
    "-d auth_after_revision=$(uv run alembic heads | cut -d' ' -f1)"
)

STEPS: dict[tuple[str, str], Step] = {
    ("index.md", COPY_HEAD): Skip(RENDERS),
    ("index.md", "uv run pytest"): Skip(TEMPLATE_REPO + ": the template's own suite"),
    # getting-started.md: render, lock and commit, run, the local database, test.
    ("getting-started.md", SERVE): Serve(),
    ("getting-started.md", COPY_HEAD): Skip(RENDERS),
    ("getting-started.md", 'uvx copier copy --vcs-ref=HEAD "$PWD" ~/my-service'): Skip(RENDERS),
    (
        "getting-started.md",
        'uvx copier copy --defaults -d project_name="Acme Orders" -d resource=order '
        '-d resource_fields="customer:str(100) total_cents:int>=0 note:text? shipped:bool=false" '
        '"$PWD" ~/acme-orders',
    ): Skip(RENDERS),
    (
        "getting-started.md",
        'cd ~/my-service && uv lock && git init && git add -A && git commit -m "Start from the '
        'template"',
    ): Run(
        as_run='uv lock && git init && git add -A && git commit -m "Start from the template"',
        why="in the render already",
    ),
    ("getting-started.md", DEV): Same("getting-started.md", SERVE),
    # tools.dev has stopped: these start the project's PostgreSQL for their own run.
    ("getting-started.md", "uv run alembic upgrade head"): Run(),
    ("getting-started.md", "uv run python -m tools.db seed"): Run(expect="/api/v1/tasks: 10"),
    (
        "getting-started.md",
        'uv run python -m tools.db psql -c "select count(*) from tasks"',
    ): Run(expect="10"),
    ("getting-started.md", "uv run python -m tools.db url"): Run(expect="postgresql+asyncpg://"),
    ("getting-started.md", "uv run pytest"): Run(as_run=PYTEST, why="CI budget (PYTEST)"),
    ("getting-started.md", "uv run pytest -n auto"): Skip("the same suite on several workers"),
    ("getting-started.md", CHECKS): Run(),
    (
        "observability.md",
        "OTEL_EXPORTER_OTLP_ENDPOINT=http://otel-lgtm:4318 docker compose --profile "
        "observability up --build",
    ): Skip("needs Docker and a network"),
    # jobs.md: a service with jobs, then turning them on and off.
    (
        "jobs.md",
        'uvx copier copy --vcs-ref=HEAD --defaults -d jobs=procrastinate "$PWD" ~/my-service',
    ): Skip(RENDERS),
    ("jobs.md", JOBS_ON): Skip(TOGGLES),
    ("jobs.md", "uv sync"): Skip(TOGGLES),
    ("jobs.md", "uv run alembic upgrade head"): Skip(TOGGLES),
    ("jobs.md", 'git commit -am "Before turning jobs off"'): Skip(TOGGLES),
    ("jobs.md", "uvx copier update --defaults -d jobs=none"): Skip(TOGGLES),
    (
        "jobs.md",
        "git checkout HEAD -- alembic/versions/procrastinate_3_10_0.py "
        "alembic/versions/procrastinate_3_10_0.sql",
    ): Skip(TOGGLES),
    # auth.md: the render's own answers, the first admin, then turning auth on elsewhere.
    (
        "auth.md",
        'uvx copier copy --vcs-ref=HEAD --defaults -d auth=jwt -d auth_registration=true "$PWD" '
        "~/my-service",
    ): Skip(RENDERS),
    ("auth.md", SERVE): Same("getting-started.md"),
    (
        "tenancy.md",
        'uvx copier copy --vcs-ref=HEAD --defaults -d auth=jwt -d tenancy=organizations "$PWD" '
        "~/my-service",
    ): Skip(RENDERS),
    (
        "tenancy.md",
        "uvx copier update --defaults -d tenancy=organizations "
        "-d tenancy_after_revision=$(uv run alembic heads | cut -d' ' -f1)",
    ): Skip(TOGGLES),
    ("auth.md", "uv run python -m tools.create_user admin@example.com --scope admin"): Run(
        stdin=PASSWORD, expect="with scopes: admin"
    ),
    (
        "auth.md",
        'curl -X POST localhost:8000/api/v1/auth/api-keys -H "Authorization: Bearer '
        '$ACCESS_TOKEN" -H \'Content-Type: application/json\' -d \'{"name": "nightly export", '
        '"password": "...", "expires_in_days": 90}\'',
    ): Skip(API_CALL),
    ("auth.md", 'curl localhost:8000/api/v1/tasks -H "Authorization: Bearer ak_3xQ9fZk..."'): Skip(
        API_CALL
    ),
    ("auth.md", 'git commit -am "Before auth"'): Skip(TOGGLES),
    ("auth.md", AUTH_ON): Skip(TOGGLES),
    ("auth.md", "uv sync && uv run alembic upgrade head"): Skip(TOGGLES),
    # resources.md: two resources, migrated, tested, committed.
    ("resources.md", ADD_CUSTOMER): Run(),
    ("resources.md", ADD_ORDER): Run(),
    ("resources.md", "uv run alembic upgrade head && uv run pytest"): Run(
        as_run=f"uv run alembic upgrade head && {PYTEST}", why="CI budget (PYTEST)"
    ),
    ("resources.md", 'git add -A && git commit -m "Add customers and orders"'): Run(),
    # resources.md: week two, the fields of both changed.
    (
        "resources.md",
        'uv run python -m tools.change_resource customer --add "phone:str(30)? tier:int>=0=0" '
        "--rename name=full_name",
    ): Run(expect="Changed the resource 'customer': add phone, tier; rename name to full_name."),
    (
        "resources.md",
        "uv run python -m tools.change_resource order --add "
        '"status:enum(draft,placed,shipped)=draft" --drop note',
    ): Run(expect="Changed the resource 'order': add status; drop note."),
    ("resources.md", 'git add -A && git commit -m "Customers: phone, tier, full name"'): Run(),
    ("resources.md", 'git add -A && git commit -m "Orders: a status instead of a note"'): Run(),
    ("resources.md", 'uv run python -m tools.add_resource tag --fields "label:str(40)!"'): Run(),
    ("resources.md", 'git add -A && git commit -m "Tags"'): Run(),
    ("resources.md", 'uv run python -m tools.change_resource order --add "tag:refs(tag)"'): Run(
        expect="Changed the resource 'order': add tag."
    ),
    ("resources.md", 'git add -A && git commit -m "Orders: tags"'): Run(),
    ("resources.md", "uv run python -m tools.db migrate && uv run pytest"): Run(
        as_run=f"uv run python -m tools.db migrate && {PYTEST}", why="CI budget (PYTEST)"
    ),
    # resources.md: week three, the links and their resource removed.
    ("resources.md", "uv run python -m tools.change_resource order --drop tag"): Run(
        expect="Changed the resource 'order': drop tag."
    ),
    ("resources.md", 'git add -A && git commit -m "Orders: no tags"'): Run(),
    ("resources.md", "uv run python -m tools.remove_resource tag"): Run(
        expect="Removed the resource 'tag'"
    ),
    ("resources.md", 'git add -A && git commit -m "No tags"'): Run(),
    ("resources.md", "uv run python -m tools.db migrate && uv run pytest tests/migrations"): Run(
        as_run="uv run python -m tools.db migrate && uv run pytest -q -x -p no:cacheprovider "
        "tests/migrations/test_migrations.py tests/migrations/test_migration_lint.py",
        why="CI budget: the lock test starts two migration processes per test",
    ),
    (
        "resources.md",
        "uvx --from 'copier>=9.19' copier copy --defaults --overwrite --answers-file "
        ".copier-answers.resource-customer.yml --vcs-ref <the service's version> --data "
        "resource=customer --data 'resource_fields=name:str(100) ...' --data "
        "after_revision=<head> <the template> <the service>",
    ): Skip("what tools.add_resource runs, with placeholders: it ran above"),
    ("resources.md", "uv run python -m tools.remove_resource order"): Skip(
        "tests/test_add_resource.py removes two added resources, its output and migrations checked"
    ),
    # updating.md: to the newest commit, lock, commit, the resources, the checks.
    ("updating.md", "uvx copier check-update"): Run(expect="New template version available"),
    ("updating.md", "uvx copier check-update --output-format json"): Run(
        expect='"update_available": true'
    ),
    ("updating.md", "git status"): Run(),
    ("updating.md", "uvx copier update --defaults"): Run(),
    ("updating.md", "uvx copier update --defaults --vcs-ref=<commit>"): Skip(
        "a placeholder for a version; the update above went to the newest"
    ),
    ("updating.md", "uvx copier update --defaults -d use_docker=false"): Skip(TOGGLES),
    ("updating.md", "uvx copier update --trust --defaults"): Skip(
        "the update above with --trust, for releases with a _migrations entry (none here)"
    ),
    ("updating.md", 'uv lock && git add -A && git commit -m "Update from the template"'): Run(),
    ("updating.md", "uv run python -m tools.update_resources"): Run(expect="Staged for review"),
    ("updating.md", "uv run mypy && uv run pytest"): Run(
        as_run=f"uv run mypy && {PYTEST}", why="CI budget (PYTEST)"
    ),
    ("updating.md", CONFLICTS_GREP): Run(why=NO_MARKERS, exit_codes=(1,)),
    ("updating.md", "find . -name '*.rej'"): Run(),
    ("updating.md", "git reset --hard && git clean -fd"): Skip(
        "abandons an update: it would undo the resource updates the steps above staged"
    ),
    ("performance.md", "apt-get install -y wrk"): Skip("installs a system package (network)"),
    **{
        ("performance.md", bench): Skip(TEMPLATE_REPO + ": the benchmark")
        for bench in (
            "uv run python -m bench",
            "uv run python -m bench --help",
            "uv run python -m bench --rows 200 --deep-rows 2000 --rounds 1 --duration 1 "
            "--warmup 0 --latency-duration 1 --isolation-tests 20 --no-fuzzing-run --no-durable",
            "uv run python -m bench.compare main HEAD",
            "uv run python -m bench.compare HEAD HEAD --after-env DB_MAX_OVERFLOW=0",
            "uv run python -m bench.auth",
            "uv run python -m bench.tenancy",
            "uv run python -m bench.otel",
            "uv run python -m bench.memory",
        )
    },
    ("troubleshooting.md", 'echo "port = 55432" >> .postgres/postgresql.conf'): Skip(
        "moves the project's PostgreSQL to a fixed port, which another program may hold"
    ),
    ("troubleshooting.md", "git status"): Same("updating.md"),
    ("troubleshooting.md", CONFLICTS_GREP): Same("updating.md"),
    ("troubleshooting.md", "find . -name '*.rej'"): Same("updating.md"),
    ("writing-docs.md", "uv run mkdocs serve"): Skip(TEMPLATE_REPO),
    ("writing-docs.md", "uv run mkdocs build --strict"): Skip(TEMPLATE_REPO),
    ("writing-docs.md", "uv run python -m tools.questions_reference"): Skip(TEMPLATE_REPO),
    # The rendered README, read last.
    ("README.md", DEV): Same("getting-started.md", SERVE),
    ("README.md", "uv run pytest"): Same("getting-started.md"),
    ("README.md", "uv run python -m tools.db seed"): Run(expect="has records already"),
    ("README.md", "uv run python -m tools.db psql"): Run(why="no terminal: psql reads nothing"),
    ("README.md", ADD_CUSTOMER): Same("resources.md"),
    ("README.md", ADD_ORDER): Same("resources.md"),
    ("README.md", "uv run alembic upgrade head && uv run pytest"): Same("resources.md"),
    ("README.md", 'uv run alembic revision --autogenerate -m "add due date to tasks"'): Run(),
    ("README.md", "uv run alembic upgrade head"): Run(),
    ("README.md", "uv run alembic check"): Run(),
    ("README.md", "uvx copier check-update"): Same("updating.md"),
    ("README.md", "uvx copier update --defaults"): Same("updating.md"),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, environments: Environments) -> Project:
    """A fresh render of the working tree, one commit behind the template's newest, in the
    environment of its dependency set."""
    template = versioned_clone(tmp_path_factory.mktemp("doc-commands") / "template")
    for tag in git("tag", "--list", cwd=template).split():
        git("tag", "--delete", tag, cwd=template)
    commit(template, "The next version")  # empty: the update moves the version only
    destination = tmp_path_factory.mktemp("doc-commands") / "my-service"
    run_copy(str(template), destination, data=ANSWERS, vcs_ref="HEAD~1", defaults=True, quiet=True)
    return environments.sync(Project(destination), python_for("3.13"))


def run(project: Project, command: str, step: Run) -> str:
    result = subprocess.run(
        ["sh", "-c", step.as_run or command],
        cwd=project.path,
        env=project.environ | GIT_IDENTITY,
        input=step.stdin,
        capture_output=True,
        text=True,
        check=False,
        start_new_session=True,  # no terminal: getpass reads the password from stdin
    )
    output = result.stdout + result.stderr
    status = result.returncode
    assert status in step.exit_codes, f"`{command}` exited with {status}:\n{output}"
    assert step.expect in output, f"`{command}` did not say {step.expect!r}:\n{output}"
    return output


def serve(project: Project, log: Path) -> str:
    """`tools.dev` until /health/live answers, then Ctrl-C; its output."""
    port = free_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [*DEV.split(), "--no-reload", "--port", str(port)],
            cwd=project.path,
            env=project.environ,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/health/live"
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail(f"`{DEV}` did not come up:\n{log.read_text()}")
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        process.wait(timeout=60)
    assert process.returncode == 0, log.read_text()
    return log.read_text()


@pytest.fixture
def data_dir(service: Project) -> Iterator[list[Path]]:
    """Where the project's PostgreSQL keeps its data (tools.dev says): stopped if a failure left
    it running, and removed afterwards."""
    found: list[Path] = []
    yield found
    for path in found:
        server = load_local_postgres().LocalPostgres(path)
        if server.initialized and server.running():
            server.stop()
        shutil.rmtree(path, ignore_errors=True)


def test_every_documented_command_is_classified(template_files: Path, tmp_path: Path) -> None:
    """The table against the docs, both ways, in a few seconds (the README rendered alone)."""
    render_service(template_files, tmp_path / "service", {k: str(v) for k, v in ANSWERS.items()})
    classified(documented_commands(tmp_path / "service" / "README.md"))


def classified(commands: list[DocCommand]) -> None:
    shown = {(command.page, command.command) for command in commands}
    unclassified = sorted(shown - set(STEPS))
    listed = "\n".join(f"    ({page!r}, {command!r})" for page, command in unclassified)
    assert not unclassified, f"classify these in STEPS (run, served, same or skipped):\n{listed}"
    stale = sorted(set(STEPS) - shown)
    assert not stale, f"no page shows these any more: remove them from STEPS: {stale}"


@pytest.mark.slow
def test_the_documented_commands_work_as_written(
    service: Project, data_dir: list[Path], tmp_path: Path
) -> None:
    commands = documented_commands(service.path / "README.md")
    classified(commands)
    ran: set[tuple[str, str]] = set()
    skipped: list[str] = []
    timings: list[str] = []
    for command in commands:
        key = (command.page, command.command)
        step = STEPS[key]
        started = time.monotonic()
        if isinstance(step, Skip):
            skipped.append(f"{command.page}: {command.command}  ({step.reason})")
        elif isinstance(step, Same):
            same = (step.page, step.command or command.command)
            assert same in ran, f"{key}: {same} has not run"
        elif isinstance(step, Serve):
            output = serve(service, tmp_path / "dev.log")
            data_dir += [Path(found) for found in re.findall(r"data in (\S+)", output)]
            assert "DATABASE_URL=postgresql+asyncpg://" in output, output
        else:
            run(service, command.command, step)
        if not isinstance(step, Skip | Same):
            ran.add(key)
            seconds = time.monotonic() - started
            timings.append(f"{seconds:5.1f} s  {command.page}: {command.command}")
    # The reviewed list of what did not run, and what the rest cost (pytest -s shows them).
    print("Skipped:", *skipped, "Ran:", *timings, sep="\n  ")  # noqa: T201
    assert git("status", "--porcelain", "--", "uv.lock", cwd=service.path) == ""
