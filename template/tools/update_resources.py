"""Update every resource added with tools.add_resource to the service's template version:

    uv run python -m tools.update_resources

Run it after `uvx copier update` of the service has been committed: each resource follows the
version recorded in .copier-answers.yml (or --vcs-ref). Copier updates one resource at a time
and only from a clean tree, so each update is committed in passing; at the end those commits are
undone again (`git reset --soft`), and everything is left staged for review, like an update of
the service: `git diff --cached`, then commit (or `git reset --hard` to drop it).
"""

import argparse
import sys
from pathlib import Path

import yaml

from tools import copier_run
from tools.resource_project import PROJECT_DIR, conflicts, git

# The passing commits are undone before the command ends: any identity does.
PASSING_COMMIT = ["-c", "user.name=tools.update_resources", "-c", "user.email=tools@localhost"]


def recorded_commit(answers_file: Path) -> str:
    return str(yaml.safe_load(answers_file.read_text())["_commit"])


def update(answers_file: Path, version: str) -> bool:
    """Copier's update of one resource, committed in passing; False if Copier failed."""
    try:
        copier_run.update(answers_file.name, version)
    except copier_run.CopierError as error:
        print(f"Copier failed on {answers_file.name}: {error}", file=sys.stderr)
        return False
    git("add", "--all")
    if git("status", "--porcelain"):
        git(*PASSING_COMMIT, "commit", "--quiet", "--no-verify", "-m", f"{answers_file.name}")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.update_resources",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--vcs-ref", help="template version (default: the service's)")
    args = parser.parse_args(argv)

    version = args.vcs_ref or recorded_commit(PROJECT_DIR / ".copier-answers.yml")
    answers_files = sorted(PROJECT_DIR.glob(".copier-answers.resource-*.yml"))
    behind = [path for path in answers_files if recorded_commit(path) != version]
    for path in sorted(set(answers_files) - set(behind)):
        print(f"{path.name}: at {version} already")
    if not behind:
        return 0
    if git("status", "--porcelain"):
        print("Commit your changes first: Copier updates a clean tree only.", file=sys.stderr)
        return 2
    start = git("rev-parse", "HEAD").strip()
    try:
        for path in behind:
            print(f"{path.name}: {recorded_commit(path)} -> {version}", flush=True)
            if not update(path, version):
                print("The updates before it are staged.", file=sys.stderr)
                return 1
    finally:
        git("reset", "--soft", "--quiet", start)
    print("Staged for review: git diff --cached; then commit (or git reset --hard to drop it).")
    if found := conflicts(start):
        print("Resolve the conflicts first:", *found, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
