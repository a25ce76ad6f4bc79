"""Lockout as a denial of service: failed sign-ins (which anyone who knows an email can cause)
lock sign-in for the account, not its signed-in owner. A password change asks for the current
password, counted apart per user: only a holder of the user's tokens can fill that count, and
concurrent guesses through it are bounded by the limit."""

import asyncio
import secrets

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response

from app.core.config import Settings
from app.main import create_app
from tests.assertions import assert_problem
from tests.auth.users import PASSWORD, access_token, add_user, bearer
from tests.clients import running

TOKEN, CHANGE = "/api/v1/auth/token", "/api/v1/users/me/password"
EMAIL = "owner-locked-out@example.com"
NEW_PASSWORD = "a brand new passphrase"  # noqa: S105


async def sign_in_from(app: FastAPI, address: str, password: str) -> Response:
    """A sign-in attempt from the client address `address`."""
    transport = ASGITransport(app=app, client=(address, 50000))
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.post(TOKEN, data={"username": EMAIL, "password": password})


async def test_a_locked_sign_in_leaves_the_signed_in_owner_a_password_change(
    app: FastAPI, anonymous: AsyncClient
) -> None:
    owner = await add_user(app, EMAIL)
    limit = app.state.settings.login_max_failures
    for attacker in range(limit):  # from as many addresses: no per-client limit is reached
        assert (await sign_in_from(app, f"203.0.113.{attacker}", "guess")).status_code == 401
    assert_problem(await sign_in_from(app, "198.51.100.1", PASSWORD), 429)  # sign-in: locked

    change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    owner_session = bearer(access_token(app, owner))
    response = await anonymous.post(CHANGE, json=change, headers=owner_session)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"


async def test_wrong_current_passwords_are_limited_apart_from_sign_in(
    app: FastAPI, anonymous: AsyncClient
) -> None:
    owner = await add_user(app, EMAIL)
    stolen = bearer(access_token(app, owner))
    limit = app.state.settings.login_max_failures
    change = {"current_password": "guess", "new_password": NEW_PASSWORD}
    for _ in range(limit):
        assert_problem(await anonymous.post(CHANGE, json=change, headers=stolen), 400)
    right = change | {"current_password": PASSWORD}
    limited = await anonymous.post(CHANGE, json=right, headers=stolen)
    assert_problem(limited, 429)
    assert int(limited.headers["retry-after"]) > 0
    # The owner still signs in: these guesses did not lock sign-in.
    assert (await sign_in_from(app, "198.51.100.1", PASSWORD)).status_code == 200


async def guess(
    client: AsyncClient, barrier: asyncio.Barrier, headers: dict[str, str], number: int
) -> int:
    """A wrong current password, sent once every guesser is ready."""
    body = {"current_password": f"guess {number}", "new_password": NEW_PASSWORD}
    await barrier.wait()
    return (await client.post(CHANGE, json=body, headers=headers)).status_code


async def test_concurrent_wrong_passwords_evaluate_no_more_than_the_limit(
    live_settings: Settings,
) -> None:
    """Guesses released together through a stolen token: never more than the limit checked."""
    app = create_app(live_settings)
    limit, guesses = live_settings.login_max_failures, live_settings.login_max_failures * 3
    async with running(app, signed_in=False) as client:
        for trial in range(3):
            owner = await add_user(app, f"racer{trial}@example.com")
            stolen = bearer(access_token(app, owner))
            barrier = asyncio.Barrier(guesses)
            statuses = await asyncio.gather(
                *(guess(client, barrier, stolen, number) for number in range(guesses))
            )
            # Each guess is counted before it is checked; guesses that see one another may all
            # be refused (app/services/attempts.py), never more than the limit checked.
            assert statuses.count(400) <= limit, statuses
            assert statuses.count(400) + statuses.count(429) == guesses, statuses


async def test_a_sign_in_name_no_account_could_have_is_401_not_a_database_error(
    anonymous: AsyncClient,
) -> None:
    """A name longer than any email is counted under its digest (`stored_key`): a 2,800-byte key
    no longer fails the counter's index (a 503 "database unavailable")."""
    name = secrets.token_hex(1400)  # random: PostgreSQL cannot compress it below the limit
    for _ in range(2):
        response = await anonymous.post(TOKEN, data={"username": name, "password": "guess"})
        assert_problem(response, 401)
