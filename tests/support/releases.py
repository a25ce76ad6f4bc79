"""Releases of the template, as recorded in CHANGELOG.md, and a git clone that carries them as tags.

A release is a `## X.Y.Z - YYYY-MM-DD` heading; the commit that added the heading is the release.
A `## X.Y.Z - unreleased` heading names the version the working tree is heading for. Tags are not
needed in this repository (CI clones may not have them): `versioned_clone` recreates them.
"""

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from tests.support.git import commit, git
from tests.support.paths import TEMPLATE_ROOT

RELEASED = re.compile(r"^## (\d+\.\d+\.\d+) - \d{4}-\d{2}-\d{2}$", re.MULTILINE)
UPCOMING = re.compile(r"^## (\d+\.\d+\.\d+) - unreleased$", re.MULTILINE)


@dataclass(frozen=True)
class Release:
    version: str
    commit: str


def changelog() -> str:
    return (TEMPLATE_ROOT / "CHANGELOG.md").read_text()


def releases() -> list[Release]:
    """Every dated release, newest first."""
    found = []
    for version in RELEASED.findall(changelog()):
        heading = rf"^## {re.escape(version)} - [0-9]{{4}}-"
        log = ["log", "--format=%H", "--reverse", "-G", heading, "--", "CHANGELOG.md"]
        commits = git(*log, cwd=TEMPLATE_ROOT)
        assert commits, f"no commit adds the {version} heading to CHANGELOG.md"
        found.append(Release(version, commits.splitlines()[0]))
    return found


def manual_steps(after: str, up_to: str | None) -> list[str]:
    """The commands (`$ ...` lines) of the releases after `after`, up to and including `up_to`
    (the upcoming version when None)."""
    sections = re.split(r"^## ", changelog(), flags=re.MULTILINE)[1:]
    steps = []
    for section in reversed(sections):  # oldest first
        version = section.split(" ", 1)[0]
        if Version(after) < Version(version) and (
            up_to is None or Version(version) <= Version(up_to)
        ):
            steps += re.findall(r"^\s+\$ (.+)$", section, re.MULTILINE)
    return steps


def upcoming_version() -> str | None:
    match = UPCOMING.search(changelog())
    return match.group(1) if match else None


def versioned_clone(destination: Path) -> Path:
    """A clone of this repository with a tag per release, plus the working tree (committed
    changes or not) as its newest commit, tagged with the upcoming version when there is one."""
    git(
        "clone",
        "--quiet",
        "--no-hardlinks",
        str(TEMPLATE_ROOT),
        str(destination),
        cwd=TEMPLATE_ROOT,
    )
    for release in releases():
        git("tag", release.version, release.commit, cwd=destination)
    for tracked in git("ls-files", cwd=destination).splitlines():
        (destination / tracked).unlink()
    listed = git("ls-files", "--cached", "--others", "--exclude-standard", "-z", cwd=TEMPLATE_ROOT)
    for path in filter(None, listed.split("\0")):
        if (TEMPLATE_ROOT / path).is_file():
            (destination / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TEMPLATE_ROOT / path, destination / path)
    commit(destination, "The working tree under test")
    if version := upcoming_version():
        git("tag", version, cwd=destination)
    return destination
