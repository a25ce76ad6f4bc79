"""Resources evolve by command, in any order: hypothesis runs a random sequence of
`tools.add_resource`, `tools.change_resource` and `tools.remove_resource` (fields added, dropped
and renamed; references and many-to-many links between the resources) on one service, placing
the user's own code in a resource's service between the steps. After every step the project
passes `ruff check`, `ruff format --check` and `mypy --strict`, `alembic upgrade head` and
`alembic check` on a database that has followed every step, and the user's code is all still
there; at the end the project's own tests pass, and the row stored at the first step is still
there with its values.

Each step renders and type-checks a project, so a run takes one sequence of a few steps; the
sequence comes from the seed the run's header prints (`--names-seed` replays it).
"""

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, assume, note, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.support.git import commit, git
from tests.support.postgres import PostgresServer
from tests.support.project import Project, start
from tests.support.pythons import python_for
from tests.support.releases import versioned_clone

STEPS = 5
# The first resource, which is never removed, and the row stored in it at the first step.
FIRST, FIRST_PLURAL, FIRST_FIELDS = "shelf", "shelves", ["label:str(40)!", "rows:int>=1"]
FIRST_KEPT = ("label", "rows")
FIRST_READ = "SELECT label, rows FROM shelves WHERE id = {id}"  # its fields the row's check reads
FIRST_ROW = "INSERT INTO shelves (label, rows, version) VALUES ('A1', 3, 1) RETURNING id"
# The user's own code, placed at the end of a resource's service.
USER_EDIT = (
    "\n\ndef rule_{function}(quantity: int) -> int:  # the user's own\n    return quantity\n"
)
# Resources the sequence may add; a removed one's name is not taken again (its migration stays).
NAMES = ["bin", "crate", "aisle"]
# The project's own tests run at the end: the migrations (round trip, drift, lint) and the
# resources' API tests; the rest does not depend on the resources.
OWN_TESTS = ("tests/migrations", "tests/services")


@dataclass
class Resource:
    fields: dict[str, str]  # field name -> its spec token, in order
    edits: list[str] = field(default_factory=list)  # the user's code in its service

    def columns(self) -> list[str]:
        """Its fields that are columns (not links)."""
        return [name for name, token in self.fields.items() if ":refs(" not in token]

    def points_at(self, other: str) -> bool:
        return any(
            f"ref({other})" in token or f"refs({other})" in token for token in self.fields.values()
        )


def tool(project: Project, name: str, *arguments: str) -> str:
    output = project.uv_run("python", "-m", f"tools.{name}", *arguments)
    assert "conflict" not in output.lower(), output
    commit(project.path, f"{name} {' '.join(arguments)}")
    return output


def evolution(
    project: Project, base: str, postgres: PostgresServer, replay: str
) -> type[RuleBasedStateMachine]:
    """The state machine over `project`, which each run resets to its commit `base`; a failure
    says `replay`, the option that runs the same sequence again."""

    class Evolution(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.resources: dict[str, Resource] = {}
            self.removed: set[str] = set()
            self.counter = 0
            git("reset", "--quiet", "--hard", base, cwd=project.path)
            git("clean", "--quiet", "-fdx", "-e", ".venv", cwd=project.path)
            self.database = postgres.create_database("evolution")
            self.environment = {"DATABASE_URL": self.database}

        def fresh_name(self) -> str:
            self.counter += 1
            return f"f{self.counter}"

        # What each rule may do in the current state; a rule with nothing to do is not drawn.

        def addable(self) -> list[str]:
            return [name for name in NAMES if name not in {*self.resources, *self.removed}]

        def links(self) -> list[tuple[str, str]]:
            """(resource, target) pairs that a new refs field may link."""
            return [
                (name, target)
                for name, resource in sorted(self.resources.items())
                for target in sorted(self.resources)
                if target != name and target not in resource.fields
            ]

        def droppable(self) -> list[tuple[str, str]]:
            """(resource, field) pairs: each resource keeps its first column (it needs one), and
            the first resource the fields the stored row is checked by."""
            return [
                (name, field_name)
                for name, resource in sorted(self.resources.items())
                for field_name in resource.fields
                if field_name not in resource.columns()[:1]
                and not (name == FIRST and field_name in FIRST_KEPT)
            ]

        def renamable(self) -> list[tuple[str, str]]:
            return [
                (name, field_name)
                for name, resource in sorted(self.resources.items())
                for field_name in resource.columns()
                if not (name == FIRST and field_name in FIRST_KEPT)
            ]

        def removable(self) -> list[str]:
            return [
                name
                for name in sorted(self.resources)
                if name != FIRST
                and not any(r.points_at(name) for n, r in self.resources.items() if n != name)
            ]

        @initialize(start=st.integers(0, 9))
        def add_the_first_resource(self, start: int) -> None:
            # Hypothesis tries the simplest sequence first (the same rule each step): skipped,
            # so that the one sequence a run can afford is a random one.
            assume(start > 0)
            note(f"replay: {replay}")
            tool(project, "add_resource", FIRST, "--fields", " ".join(FIRST_FIELDS))
            self.resources[FIRST] = Resource({token.split(":")[0]: token for token in FIRST_FIELDS})
            project.uv_run("alembic", "upgrade", "head", env=self.environment)
            self.first_id = postgres.query(self.database, FIRST_ROW).splitlines()[0]

        @precondition(lambda self: self.addable())
        @rule(pointer=st.sampled_from(["", "ref", "refs"]), data=st.data())
        def add(self, pointer: str, data: st.DataObject) -> None:
            name = data.draw(st.sampled_from(self.addable()), label="name")
            fields = {"title": "title:str(60)"}
            if pointer:
                target = data.draw(st.sampled_from(sorted(self.resources)), label="target")
                fields[target] = f"{target}:{pointer}({target}){'?' if pointer == 'ref' else ''}"
            note(f"add {name}: {' '.join(fields.values())}")
            tool(project, "add_resource", name, "--fields", " ".join(fields.values()))
            self.resources[name] = Resource(fields)

        @rule(data=st.data())
        def add_a_field(self, data: st.DataObject) -> None:
            name = data.draw(st.sampled_from(sorted(self.resources)), label="resource")
            spec = data.draw(st.sampled_from(["int>=0=0", "str(20)?", "bool=false", "enum(a,b)=a"]))
            token = f"{self.fresh_name()}:{spec}"
            note(f"change {name} --add {token}")
            tool(project, "change_resource", name, "--add", token)
            self.resources[name].fields[token.split(":")[0]] = token

        @precondition(lambda self: self.links())
        @rule(data=st.data())
        def link(self, data: st.DataObject) -> None:
            name, target = data.draw(st.sampled_from(self.links()), label="link")
            token = f"{target}:refs({target})"
            note(f"change {name} --add {token}")
            tool(project, "change_resource", name, "--add", token)
            self.resources[name].fields[target] = token

        @precondition(lambda self: self.droppable())
        @rule(data=st.data())
        def drop_a_field(self, data: st.DataObject) -> None:
            name, dropped = data.draw(st.sampled_from(self.droppable()), label="field")
            note(f"change {name} --drop {dropped}")
            tool(project, "change_resource", name, "--drop", dropped)
            del self.resources[name].fields[dropped]

        @precondition(lambda self: self.renamable())
        @rule(data=st.data())
        def rename_a_field(self, data: st.DataObject) -> None:
            name, old = data.draw(st.sampled_from(self.renamable()), label="field")
            new = self.fresh_name()
            note(f"change {name} --rename {old}={new}")
            tool(project, "change_resource", name, "--rename", f"{old}={new}")
            resource = self.resources[name]
            resource.fields = {
                (new if f == old else f): (new + token[len(old) :] if f == old else token)
                for f, token in resource.fields.items()
            }

        @precondition(lambda self: self.removable())
        @rule(data=st.data())
        def remove(self, data: st.DataObject) -> None:
            name = data.draw(st.sampled_from(self.removable()), label="resource")
            note(f"remove {name}")
            tool(project, "remove_resource", name)
            del self.resources[name]
            self.removed.add(name)

        @rule(data=st.data())
        def edit_a_service(self, data: st.DataObject) -> None:
            name = data.draw(st.sampled_from(sorted(self.resources)), label="resource")
            edit = USER_EDIT.format(function=self.fresh_name())
            note(f"edit app/services/{name}.py")
            service = project.path / f"app/services/{name}.py"
            service.write_text(service.read_text() + edit)
            commit(project.path, f"The user's own rule in {name}")
            self.resources[name].edits.append(edit)

        @invariant()
        def the_project_passes_its_checks(self) -> None:
            for name, resource in self.resources.items():
                service = (project.path / f"app/services/{name}.py").read_text()
                for edit in resource.edits:
                    assert edit in service, f"the user's code in {name}'s service is gone"
            project.uv_run("ruff", "check", ".")
            project.uv_run("ruff", "format", "--check", ".")
            project.uv_run("mypy")
            project.uv_run("alembic", "upgrade", "head", env=self.environment)
            project.uv_run("alembic", "check", env=self.environment)
            assert git("status", "--porcelain", cwd=project.path) == ""

        def teardown(self) -> None:
            if FIRST not in self.resources:
                return  # the run stopped before its first step
            row = FIRST_READ.format(id=int(self.first_id))
            assert postgres.query(self.database, row) == "A1|3"
            tests = postgres.create_database("evolution_tests")
            api = sorted(
                str(path.relative_to(project.path))
                for path in (project.path / "tests/api").glob("test_*.py")
            )
            project.uv_run(
                "pytest",
                "-q",
                "-x",
                "-p",
                "no:cacheprovider",
                *OWN_TESTS,
                *api,
                env={"TEST_DATABASE_URL": tests},
            )

    return Evolution


@pytest.mark.slow
def test_resources_evolve_by_command_in_any_order(
    request: pytest.FixtureRequest, tmp_path: Path, postgres: PostgresServer
) -> None:
    template = versioned_clone(tmp_path / "template")
    project = start(template, tmp_path / "shop", {"project_name": "Shop"}, ref=None)
    project.sync(python_for("3.13"))
    base = git("rev-parse", "HEAD", cwd=project.path).strip()
    chosen = request.config.getoption("--names-seed")
    machine = seed(chosen)(evolution(project, base, postgres, f"--names-seed={chosen}"))
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=1,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            phases=[Phase.generate],  # no shrinking: each step renders and type-checks
            suppress_health_check=list(HealthCheck),
        ),
    )
