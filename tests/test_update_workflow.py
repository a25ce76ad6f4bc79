"""The rendered project's scheduled update workflow (.github/workflows/template-update.yml): its
own shell steps, run here in a project one release behind, update it with `--conflict=rej` and
write the pull request's text, which names every file that did not apply.

The steps run as GitHub runs them (bash -eo pipefail, outputs through $GITHUB_OUTPUT); the
`${{ steps.<id>.outputs.<name> }}` expressions of their `env:` are the only ones substituted,
which is all these steps use. Opening the pull request is the marketplace action's job.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.git import GIT_IDENTITY, commit, git
from tests.support.project import ISOLATED_ENV, Project, start
from tests.support.releases import versioned_clone

WORKFLOW = Path(".github/workflows/template-update.yml")
EXPRESSION = re.compile(r"\$\{\{\s*steps\.(\w+)\.outputs\.(\w+)\s*\}\}")


def run_step(project: Project, step_id: str, outputs: dict[str, dict[str, str]]) -> None:
    """Run the step `step_id` of the project's workflow, recording its outputs in `outputs`."""
    workflow = yaml.safe_load((project.path / WORKFLOW).read_text())
    step = next(step for step in workflow["jobs"]["update"]["steps"] if step.get("id") == step_id)
    output_file = project.path.parent / f"{step_id}.out"
    output_file.write_text("")
    env = {
        name: EXPRESSION.sub(lambda match: outputs[match[1]][match[2]], str(value))
        for name, value in step.get("env", {}).items()
    }
    env |= {"GITHUB_OUTPUT": str(output_file), "RUNNER_TEMP": str(project.path.parent)}
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=project.path,
        env=ISOLATED_ENV | GIT_IDENTITY | env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = output_file.read_text().splitlines()
    outputs[step_id] = dict(line.split("=", 1) for line in lines)


@pytest.fixture
def template(tmp_path: Path) -> Path:
    """This template plus a newer release that rewrites the README's third line."""
    template = versioned_clone(tmp_path / "template")
    readme = template / "template" / "README.md.jinja"
    lines = readme.read_text().splitlines(keepends=True)
    lines[2] = "{{ description }} Now with a template-side edit.\n"
    readme.write_text("".join(lines))
    git("commit", "--quiet", "--all", "-m", "Edit the README intro", cwd=template)
    git("tag", "999.0.0", cwd=template)
    return template


def updated_by_the_workflow(project: Project) -> tuple[dict[str, dict[str, str]], str]:
    outputs: dict[str, dict[str, str]] = {}
    run_step(project, "update", outputs)
    run_step(project, "report", outputs)
    return outputs, Path(outputs["report"]["body"]).read_text()


@pytest.mark.skipif(os.name != "posix", reason="the workflow's steps are bash scripts")
def test_a_change_that_does_not_apply_is_named_in_the_pull_request(
    template: Path, tmp_path: Path
) -> None:
    project = start(template, tmp_path / "project", {"project_name": "Workflow"}, "HEAD~1")
    readme = project.path / "README.md"
    lines = readme.read_text().splitlines(keepends=True)
    lines[2] = "Our own description of the service.\n"
    readme.write_text("".join(lines))
    commit(project.path, "Describe the service our way")

    outputs, body = updated_by_the_workflow(project)

    assert outputs["update"]["after"] == "999.0.0"
    assert outputs["report"]["attention"] == "yes"
    assert "Needs attention" in body
    assert "- `README.md.rej`" in body
    # rej mode: the file takes the template's version, the project's change waits in the .rej.
    assert "Now with a template-side edit." in readme.read_text()
    assert "Our own description of the service." in (project.path / "README.md.rej").read_text()
    assert not [line for line in readme.read_text().splitlines() if line.startswith("<<<<<<< ")]


def test_a_clean_update_says_so(template: Path, tmp_path: Path) -> None:
    project = start(template, tmp_path / "project", {"project_name": "Workflow"}, "HEAD~1")

    outputs, body = updated_by_the_workflow(project)

    assert outputs["update"]["before"] != outputs["update"]["after"] == "999.0.0"
    assert "attention" not in outputs["report"]
    assert "applied cleanly" in body
    assert "Now with a template-side edit." in (project.path / "README.md").read_text()
