"""One owner of commits: `Service.commit` (app/services/base.py). Repositories add, change and
delete; no other code in app/ commits a session (`self.commit()` in a service calls the owner),
so that every commit translates the database's refusals a client caused (409, 422) and no unit
of work is cut in two by a helper that commits."""

import ast
from collections.abc import Iterator
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
# (file under app/, function): where each kind of call may be made, and why.
ALLOWED = {
    "commit": {
        ("services/base.py", "commit"): "the one commit of a unit of work",
        ("db/migration_lock.py", "_execute_committed"): "Alembic's connection, not a service's",
    },
    # The database commits this insert on its own outside a transaction.
    "insert_alone": {("services/base.py", "commit_new"): "an insert that is the unit of work"},
}


class Calls(ast.NodeVisitor):
    """The calls of methods named in ALLOWED (but `self.commit()`: a service's own), each with
    the function it is made in."""

    def __init__(self) -> None:
        self.function = "<module>"
        self.found: list[tuple[str, str, int]] = []

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        outer, self.function = self.function, node.name
        self.generic_visit(node)
        self.function = outer

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.visit_FunctionDef(node)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Attribute) and node.func.attr in ALLOWED:
            owner = node.func.value
            if node.func.attr != "commit" or not (
                isinstance(owner, ast.Name) and owner.id == "self"
            ):
                self.found.append((node.func.attr, self.function, node.lineno))
        self.generic_visit(node)


def calls_in_app() -> Iterator[tuple[str, str, str, int]]:
    """(method, file, function, line) of every call of a method named in ALLOWED in app/."""
    for path in sorted(APP.rglob("*.py")):
        visitor = Calls()
        visitor.visit(ast.parse(path.read_text(), filename=str(path)))
        name = path.relative_to(APP).as_posix()
        for method, function, line in visitor.found:
            yield method, name, function, line


def test_only_a_service_commits() -> None:
    misplaced = [
        f"app/{name}:{line} calls {method}() in {function}()"
        for method, name, function, line in calls_in_app()
        if (name, function) not in ALLOWED[method]
    ]
    assert misplaced == [], "commit through Service.commit (app/services/base.py):\n" + "\n".join(
        misplaced
    )


def test_the_check_sees_commits() -> None:
    # Against a check that passes because it finds nothing at all.
    assert {(method, name, function) for method, name, function, _ in calls_in_app()} >= {
        ("commit", "services/base.py", "commit"),
        ("insert_alone", "services/base.py", "commit_new"),
    }
