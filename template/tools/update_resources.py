"""Update every resource added with tools.add_resource to the service's template version:

    uv run python -m tools.update_resources

Run it after `uvx copier update` of the service has been committed: each resource follows the
version recorded in .copier-answers.yml (or --vcs-ref). Copier updates one resource at a time
and only from a clean tree, so each update is committed in passing; at the end those commits are
undone again (`git reset --soft`), and everything is left staged for review, like an update of
the service: `git diff --cached`, then commit (or `git reset --hard` to drop it).
"""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Copier re-renders a resource's old version away from the project, where the service's files
# it reads are missing, and warns about each (MissingFileWarning), harmlessly.
QUIET_WARNINGS = "ignore:File not found; returning empty dict"
GIT = shutil.which("git") or "git"
# The passing commits are undone before the command ends: any identity does.
PASSING_COMMIT = ["-c", "user.name=tools.update_resources", "-c", "user.email=tools@localhost"]


def git(*args: str) -> str:
    result = subprocess.run(
        [GIT, *args], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    )
    return result.stdout


def recorded_commit(answers_file: Path) -> str:
    return str(yaml.safe_load(answers_file.read_text())["_commit"])


def update(answers_file: Path, version: str) -> bool:
    """Copier's update of one resource, committed in passing; False if Copier failed."""
    command = ["uvx", "--from", "copier>=9.19", "copier", "update", "--defaults", "--quiet"]
    command += ["--vcs-ref", version, "--answers-file", answers_file.name]
    env = os.environ | {"PYTHONWARNINGS": QUIET_WARNINGS}
    copier = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    if copier.returncode != 0:  # its traceback's last line says why
        reason = next(reversed(copier.stderr.strip().splitlines()), "no message")
        print(f"Copier failed on {answers_file.name}: {reason}", file=sys.stderr)
        return False
    git("add", "--all")
    if git("status", "--porcelain"):
        git(*PASSING_COMMIT, "commit", "--quiet", "--no-verify", "-m", f"{answers_file.name}")
    return True


def conflicts(start: str) -> list[str]:
    """Changed files with conflict markers, and hunks Copier could not place (`copier update`
    exits 0 even then)."""
    changed = git("diff", "--cached", "--name-only", start).split()
    markers = ["-e", "^<<<<<<< ", "-e", "^>>>>>>> "]
    marked = subprocess.run(
        [GIT, "grep", "--cached", "-l", *markers, "--", *changed],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    return marked + [str(path.relative_to(PROJECT_DIR)) for path in PROJECT_DIR.rglob("*.rej")]


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
