"""A resource's files rendered again with changed answers, the user's edits kept: the template
rendered twice (with the answers before and after), and the difference between the two merged
into the project, file by file, as `git merge-file` merges (conflicts marked in the file).

Hand-written rather than `copier update`: Copier renders the version before away from the
project, where the files `_external_data` reads (the service's answers) are missing, so that a
resource of a service with auth renders as if it had none, and a change that touches
auth-dependent lines (making a resource owned) conflicts with the user's unchanged file. Here
both renders see the service's answers.
"""

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tools import copier_run
from tools.resource_project import GIT, PROJECT_DIR, REGISTRY, SERVICE_ANSWERS, read_yaml

# Migrations are history, and the registry is the commands' own to write.
UNTOUCHED = ("alembic/versions/", REGISTRY)


@dataclass
class Merged:
    """What the merge did to the project: files changed, added, removed, and those left with
    conflict markers."""

    changed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


def files(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def merge_file(relative: str, base: Path, new: Path, merged: Merged) -> None:
    target = PROJECT_DIR / relative
    before, after = base / relative, new / relative
    if before.exists() and after.exists() and before.read_bytes() == after.read_bytes():
        return
    merged.changed.append(relative)
    if not after.exists():  # the change removes it: unless the user changed it since
        if target.exists() and before.read_bytes() == target.read_bytes():
            target.unlink()
        return
    if not before.exists():  # a file the change adds
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(after, target)
        return
    if not target.exists():  # the user removed it: it stays removed
        merged.changed.remove(relative)
        return
    labels = ["-L", "yours", "-L", "before the change", "-L", "after the change"]
    result = subprocess.run(
        [GIT, "merge-file", *labels, str(target), str(before), str(after)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        merged.conflicts.append(relative)


def rerender(answers_file: str, before: dict[str, object], after: dict[str, object]) -> Merged:
    """Render with the answers `before` and `after` (as the answers file records them), and
    merge the difference into the project."""
    merged = Merged()
    version = str(before["_commit"])
    with tempfile.TemporaryDirectory(prefix="change-resource-") as temporary:
        renders = []
        for name, answers in (("before", before), ("after", after)):
            destination = Path(temporary, name)
            destination.mkdir()
            # What `_external_data` reads; the registry without this resource, whose name the
            # render would otherwise refuse as taken by another.
            shutil.copyfile(PROJECT_DIR / SERVICE_ANSWERS, destination / SERVICE_ANSWERS)
            registry = read_yaml(REGISTRY)
            resources = registry.get("resources") or {}
            registry["resources"] = {k: v for k, v in resources.items() if k != before["resource"]}
            (destination / REGISTRY).write_text(yaml.safe_dump(registry))
            copier_run.render(answers_file, version, answers, destination)
            renders.append(destination)
        base, new = renders
        for relative in sorted(files(base) | files(new)):
            if not relative.startswith(UNTOUCHED):
                merge_file(relative, base, new, merged)
    return merged
