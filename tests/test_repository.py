"""This repository's own Python code meets the bar it sets for rendered projects."""

import pytest

from tests.support.paths import TEMPLATE_ROOT
from tests.support.project import Project

REPOSITORY = Project(TEMPLATE_ROOT)


@pytest.mark.parametrize(
    "command",
    [("ruff", "check", "."), ("ruff", "format", "--check", "."), ("mypy",)],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_own_code_is_clean(command: tuple[str, ...]) -> None:
    REPOSITORY.run("uv", "run", *command)
