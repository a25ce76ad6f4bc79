"""tools/create_user.py, run as users run it: the first admin, who can then sign in and manage
users; bad input and a taken email create nothing."""

import re
import subprocess
import sys

import pytest

from app.core.config import Settings
from app.main import create_app
from tests.clients import running
from tests.database import PROJECT_DIR, database_environment

PASSPHRASE = "a long passphrase for the first admin"  # noqa: S105


def create_user(settings: Settings, *args: str, password: str = PASSPHRASE) -> tuple[int, str]:
    """Run the command on the database of `settings`: its exit status and output."""
    env = database_environment(settings) | {"PATH": ""}
    result = subprocess.run(  # noqa: S603  (our own command)
        [sys.executable, "-m", "tools.create_user", *args, "--password-stdin"],
        cwd=PROJECT_DIR,
        env=env,
        input=f"{password}\n",
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


async def test_the_first_admin_is_created_and_signs_in(live_settings: Settings) -> None:
    status, output = create_user(live_settings, "Admin@Example.com", "--scope", "admin")
    assert status == 0, output
    assert re.fullmatch(r"Created user \d+ \(admin@example.com\) with scopes: admin\n", output)

    async with running(create_app(live_settings), signed_in=False) as client:
        form = {"username": "admin@example.com", "password": PASSPHRASE}
        token = (await client.post("/api/v1/auth/token", data=form)).json()["access_token"]
        users = await client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    assert users.status_code == 200
    assert [user["email"] for user in users.json()["items"]] == ["admin@example.com"]

    # The same address in other case, full-width and with a no-break space: the same account.
    for same in ("ADMIN@example.com", "\uff41dmin@example.com\u00a0"):
        status, output = create_user(live_settings, same)
        assert (status, output.startswith("Nothing was created:")) == (1, True), output


@pytest.mark.parametrize(
    ("args", "password", "refusal"),
    [
        (("not-an-email",), PASSPHRASE, "email: String should match pattern"),
        (("someone@example.com",), "short", "password: String should have at least 8 characters"),
    ],
)
def test_bad_input_is_refused_and_says_why(
    settings: Settings, args: tuple[str, ...], password: str, refusal: str
) -> None:
    status, output = create_user(settings, *args, password=password)
    assert status == 2
    assert output.startswith(f"Nothing was created: {refusal}")
    assert password not in output
