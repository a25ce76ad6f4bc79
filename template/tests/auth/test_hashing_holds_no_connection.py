"""Argon2 runs with no pooled connection held: each hashing takes tens of milliseconds in
production, and a burst of anonymous sign-ins that held a connection each for it took the whole
pool, so that other users' requests got 503 (the pool's timeout)."""

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy.pool import Pool

from app.core.config import Settings
from app.security.passwords import Passwords
from tests.auth.race import live_app, new_email, new_reset_tokens
from tests.auth.users import PASSWORD, add_user, bearer

TOKEN, RESET = "/api/v1/auth/token", "/api/v1/auth/password-reset/confirm"
NEW_PASSWORD = "a new password, long enough"  # noqa: S105


def recording(
    held: list[tuple[str, int]], name: str, pool: Pool, method: Callable[..., Awaitable[Any]]
) -> Callable[..., Awaitable[Any]]:
    """`method`, recording how many of `pool`'s connections are out each time it runs."""

    async def checked(self: Passwords, *arguments: Any) -> Any:
        held.append((name, pool.checkedout()))  # type: ignore[attr-defined]
        return await method(self, *arguments)

    return checked


async def test_no_connection_is_held_while_a_password_is_checked_or_hashed(
    live_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    held: list[tuple[str, int]] = []
    async with live_app(live_settings) as (app, client):
        user = await add_user(app, email := new_email("hashing"))
        [reset_token] = await new_reset_tokens(app, user.id, 1)
        pool = app.state.database.engine.pool
        for name in ("verify", "hash"):
            spy = recording(held, name, pool, getattr(Passwords, name))
            monkeypatch.setattr(Passwords, name, spy)

        wrong = await client.post(TOKEN, data={"username": email, "password": "not it"})
        assert wrong.status_code == 401
        signed_in = await client.post(TOKEN, data={"username": email, "password": PASSWORD})
        assert signed_in.status_code == 200
        change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        headers = bearer(signed_in.json()["access_token"])
        changed = await client.post("/api/v1/users/me/password", json=change, headers=headers)
        assert changed.status_code == 200, changed.text
        reset = {"token": reset_token, "new_password": PASSWORD}
        assert (await client.post(RESET, json=reset)).status_code == 204

    # Sign-in twice, the password change (the current one checked, the new one hashed), the reset.
    assert held == [("verify", 0), ("verify", 0), ("verify", 0), ("hash", 0), ("hash", 0)]
