"""The command-line tools answer a wrong environment with one line, never a traceback."""

import pytest
from pydantic import SecretStr

from app.core.config import Settings
from tools.cli import one_line_errors


@one_line_errors
def reads_settings(argv: list[str] | None = None) -> int:
    Settings(_env_file=None, database_url=SecretStr("not a url"))
    return 0


@one_line_errors
def connects(argv: list[str] | None = None) -> int:
    raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 1)")


def test_invalid_settings_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert reads_settings() == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("The settings are invalid: database_url:")


def test_an_unreachable_database_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert connects() == 1
    assert capsys.readouterr().err.splitlines() == [
        "Cannot reach the database (DATABASE_URL): [Errno 111] Connect call failed ('127.0.0.1', 1)"
    ]
