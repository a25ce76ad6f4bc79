"""What the resource commands (add_resource, change_resource, remove_resource) read and check
in the project: its answers files, the registry of resources, git's view of the tree and
Alembic's head. A refusal is a `RefusedError` whose message is one line."""

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from alembic.config import Config
from alembic.script import ScriptDirectory

PROJECT_DIR = Path(__file__).resolve().parent.parent
REGISTRY = ".copier-resources.yml"
SERVICE_ANSWERS = ".copier-answers.yml"
GIT = shutil.which("git") or "git"
# A field that refers to a resource: `customer:ref(customer)`, `tags:refs(tag)`, optional or not.
REFERENCE = re.compile(r"(?:^|\s)\w+:refs?\((\w+)\)")


class RefusedError(Exception):
    """Why nothing was done: one line."""


def answers_file(name: str) -> str:
    return f".copier-answers.resource-{name}.yml"


def read_yaml(name: str) -> dict[str, Any]:
    """A YAML file of the project as a mapping; refused when it cannot be read."""
    try:
        loaded = yaml.safe_load((PROJECT_DIR / name).read_text())
    except (OSError, yaml.YAMLError) as error:
        reason = str(error).splitlines()[0]
        raise RefusedError(f"{name} cannot be read ({reason}); restore it from git.") from None
    return loaded if isinstance(loaded, dict) else {}


def plural_of(name: str, registry: dict[str, Any]) -> str:
    entry = (registry.get("resources") or {}).get(name)
    plural = entry.get("plural") if isinstance(entry, dict) else None
    if not isinstance(plural, str):
        raise RefusedError(f"{REGISTRY} gives no plural for {name!r}; restore it from git.")
    return plural


def refuse_unknown(name: str, registry: dict[str, Any]) -> None:
    resources = registry.get("resources") or {}
    if name not in resources:
        known = ", ".join(sorted(resources)) or "none"
        raise RefusedError(
            f"{name!r} is not a resource of this service ({REGISTRY} lists: {known})."
        )


def referrers(name: str) -> list[str]:
    """The resources whose field spec refers to `name`: the added ones' answers and the
    service's own resource."""
    found = []
    for path in [PROJECT_DIR / SERVICE_ANSWERS, *PROJECT_DIR.glob(answers_file("*"))]:
        answers = read_yaml(path.name)
        fields = str(answers.get("resource_fields", ""))
        if answers.get("resource") != name and name in REFERENCE.findall(fields):
            found.append(str(answers.get("resource", path.name)))
    return sorted(found)


def git(*args: str) -> str:
    result = subprocess.run(
        [GIT, *args], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    )
    return result.stdout


def refuse_unless_clean(doing: str) -> None:
    """Refused outside git and in a tree with uncommitted changes: what the command does is
    undone (and reviewed) with git. `doing` names it: "removing", "changing"."""
    status = subprocess.run(
        [GIT, "status", "--porcelain"], cwd=PROJECT_DIR, capture_output=True, text=True
    )
    if status.returncode != 0:
        raise RefusedError(
            f"Not a git repository: commit the project first ({doing} is undone by git)."
        )
    if status.stdout:
        raise RefusedError(f"Commit your changes first: {doing} starts from a clean tree.")


def migration_scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(Config(PROJECT_DIR / "alembic.ini"))


def the_head(scripts: ScriptDirectory) -> str:
    heads = scripts.get_heads()
    if len(heads) != 1:
        raise RefusedError(f"Alembic has {len(heads)} heads; merge them first (alembic merge).")
    return heads[0]


def write_registry(registry: dict[str, Any], head: str) -> None:
    """The registry as given, its header comment kept; `migration_head` moves on to `head`, so
    that what is added next follows it."""
    path = PROJECT_DIR / REGISTRY
    lines = path.read_text().splitlines(keepends=True)
    header = "".join(line for line in lines if line.startswith("#"))
    registry["migration_head"] = head
    # As Copier's to_nice_yaml writes it.
    dumped = yaml.dump(registry, indent=4, allow_unicode=True, default_flow_style=False)
    path.write_text(header + dumped)


def conflicts(start: str) -> list[str]:
    """Files changed since the commit `start` with conflict markers, and hunks Copier could not
    place (`copier update` exits 0 even then)."""
    changed = git("diff", "--name-only", start).split()
    changed += git("ls-files", "--others", "--exclude-standard").split()
    if not changed:
        return []
    markers = ["-e", "^<<<<<<< ", "-e", "^>>>>>>> "]
    marked = subprocess.run(
        [GIT, "grep", "--untracked", "-l", *markers, "--", *changed],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    rejected = [str(path.relative_to(PROJECT_DIR)) for path in PROJECT_DIR.rglob("*.rej")]
    return sorted(set(marked)) + rejected
