"""Signing in, refreshing, signing out, changing and resetting passwords: what each one revokes."""

import re

import pytest
from fastapi import FastAPI
from httpx import AsyncClient, Response
from sqlalchemy import text

from app.core.mail import Email
from app.models.user import User
from app.security.passwords import Passwords
from tests.assertions import assert_problem
from tests.auth.users import PASSWORD, Outbox, add_user, bearer

TOKEN, REFRESH = "/api/v1/auth/token", "/api/v1/auth/refresh"
ME = "/api/v1/users/me"
EMAIL = "someone@example.com"
NEW_PASSWORD = "a brand new passphrase"  # noqa: S105
RESET_PASSWORD = "reset passphrase 1"  # noqa: S105


async def sign_in(client: AsyncClient, email: str = EMAIL, password: str = PASSWORD) -> Response:
    return await client.post(TOKEN, data={"username": email, "password": password})


async def tokens(client: AsyncClient, email: str = EMAIL) -> dict[str, str]:
    response = await sign_in(client, email)
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


async def refresh(client: AsyncClient, refresh_token: str) -> Response:
    return await client.post(REFRESH, json={"refresh_token": refresh_token})


async def me(client: AsyncClient, access_token: str) -> int:
    return (await client.get(ME, headers=bearer(access_token))).status_code


@pytest.fixture
async def user_email(app: FastAPI) -> str:
    await add_user(app, EMAIL)
    return EMAIL


async def test_signing_in_gives_a_token_pair(anonymous: AsyncClient, user_email: str) -> None:
    response = await sign_in(anonymous, user_email.upper())  # emails ignore case
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"  # noqa: S105  (a token kind)
    assert body["expires_in"] == 15 * 60
    assert body["refresh_expires_in"] == 14 * 24 * 3600
    assert response.headers["cache-control"] == "no-store"
    assert await me(anonymous, body["access_token"]) == 200


async def test_unknown_email_and_wrong_password_get_the_same_answer(
    anonymous: AsyncClient, user_email: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dummy_checks: list[str] = []
    real_dummy = Passwords._verify_dummy

    def counting_dummy(self: Passwords, password: str) -> None:
        dummy_checks.append(password)
        real_dummy(self, password)

    monkeypatch.setattr(Passwords, "_verify_dummy", counting_dummy)
    wrong_password = await sign_in(anonymous, user_email, "not the password")
    unknown_email = await sign_in(anonymous, "nobody@example.com", "not the password")

    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json()
    assert wrong_password.headers["www-authenticate"] == unknown_email.headers["www-authenticate"]
    # The unknown email cost a hash verification too (the same time as a wrong password).
    assert dummy_checks == ["not the password"]


async def test_an_inactive_account_gets_the_same_answer_as_a_wrong_password(
    app: FastAPI, anonymous: AsyncClient
) -> None:
    await add_user(app, "gone@example.com", active=False)
    inactive = await sign_in(anonymous, "gone@example.com")
    wrong = await sign_in(anonymous, "nobody@example.com")
    assert inactive.status_code == 401
    assert inactive.json() == wrong.json()


async def test_failed_logins_are_limited_per_account(
    app: FastAPI, anonymous: AsyncClient, user_email: str
) -> None:
    limit = app.state.settings.login_max_failures
    for _ in range(limit):
        assert (await sign_in(anonymous, user_email, "guess")).status_code == 401
    locked = await sign_in(anonymous, user_email)  # even the right password now
    assert_problem(locked, 429)
    assert int(locked.headers["retry-after"]) > 0
    # Another account from the same client is not locked by these.
    await add_user(app, "other@example.com")
    assert (await sign_in(anonymous, "other@example.com")).status_code == 200


async def test_failed_logins_are_limited_per_client(
    app: FastAPI, anonymous: AsyncClient, user_email: str
) -> None:
    limit = app.state.settings.login_max_failures_per_client
    for i in range(limit):
        assert (await sign_in(anonymous, f"guess{i}@example.com", "guess")).status_code == 401
    assert_problem(await sign_in(anonymous, user_email), 429)


async def test_a_successful_login_clears_the_accounts_failures(
    app: FastAPI, anonymous: AsyncClient, user_email: str
) -> None:
    limit = app.state.settings.login_max_failures
    for _ in range(limit - 1):
        await sign_in(anonymous, user_email, "guess")
    await tokens(anonymous)
    assert (await sign_in(anonymous, user_email, "guess")).status_code == 401  # not 429


async def test_the_password_hash_is_upgraded_on_login(app: FastAPI, anonymous: AsyncClient) -> None:
    stronger = Passwords(time_cost=2, memory_kib=16, parallelism=1)
    user = await add_user(app, "legacy@example.com")
    async with app.state.database.session() as session:
        stored = await session.get_one(User, user.id)
        stored.password_hash = old_hash = await stronger.hash(PASSWORD)
        await session.commit()
    await tokens(anonymous, "legacy@example.com")
    async with app.state.database.session() as session:
        stored = await session.get_one(User, user.id)
        assert stored.password_hash != old_hash
        assert "t=1" in stored.password_hash  # the app's (test) parameters
        assert (await app.state.credentials.passwords.verify(PASSWORD, stored.password_hash))[0]


async def test_an_account_without_a_password_is_refused_like_any_wrong_one(
    app: FastAPI, anonymous: AsyncClient
) -> None:
    """The legacy owner of rows older than auth (password hash "!"): 401, never a 500 that
    would tell the account exists."""
    user = await add_user(app, "legacy-owner@example.invalid")
    async with app.state.database.session() as session:
        stored = await session.get_one(User, user.id)
        stored.password_hash = "!"  # noqa: S105  (what the legacy owner has: no hash)
        await session.commit()
    for password in ("!", PASSWORD):
        response = await sign_in(anonymous, "legacy-owner@example.invalid", password)
        assert response.status_code == 401, response.text


async def test_refreshing_rotates_the_refresh_token(
    anonymous: AsyncClient, user_email: str
) -> None:
    first = await tokens(anonymous)
    second = await refresh(anonymous, first["refresh_token"])
    assert second.status_code == 200, second.text
    assert second.json()["refresh_token"] != first["refresh_token"]
    assert await me(anonymous, second.json()["access_token"]) == 200
    again = await refresh(anonymous, first["refresh_token"])
    assert_problem(again, 401)
    assert again.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_a_replayed_refresh_token_revokes_its_whole_family(
    anonymous: AsyncClient, user_email: str
) -> None:
    stolen = (await tokens(anonymous))["refresh_token"]
    other_session = (await tokens(anonymous))["refresh_token"]
    newest = (await refresh(anonymous, stolen)).json()["refresh_token"]
    assert_problem(await refresh(anonymous, stolen), 401)  # the replay
    assert_problem(await refresh(anonymous, newest), 401)  # its family is gone
    assert (await refresh(anonymous, other_session)).status_code == 200  # other logins stay


async def test_an_unknown_refresh_token_is_401(anonymous: AsyncClient) -> None:
    assert_problem(await refresh(anonymous, "x" * 43), 401)


async def test_logout_ends_that_session_only(anonymous: AsyncClient, user_email: str) -> None:
    first, second = await tokens(anonymous), await tokens(anonymous)
    logout = {"refresh_token": first["refresh_token"]}
    response = await anonymous.post("/api/v1/auth/logout", json=logout)
    assert response.status_code == 204
    assert_problem(await refresh(anonymous, first["refresh_token"]), 401)
    assert (await refresh(anonymous, second["refresh_token"])).status_code == 200


async def test_logout_all_revokes_every_access_and_refresh_token(
    anonymous: AsyncClient, user_email: str
) -> None:
    first, second = await tokens(anonymous), await tokens(anonymous)
    logout_all = "/api/v1/auth/logout-all"
    response = await anonymous.post(logout_all, headers=bearer(first["access_token"]))
    assert response.status_code == 204
    for pair in (first, second):
        assert await me(anonymous, pair["access_token"]) == 401
        assert_problem(await refresh(anonymous, pair["refresh_token"]), 401)
    assert (await sign_in(anonymous)).status_code == 200


async def test_changing_the_password_ends_the_other_sessions(
    anonymous: AsyncClient, user_email: str
) -> None:
    other, mine = await tokens(anonymous), await tokens(anonymous)
    change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    path = "/api/v1/users/me/password"
    response = await anonymous.post(path, json=change, headers=bearer(mine["access_token"]))
    assert response.status_code == 200, response.text
    assert await me(anonymous, response.json()["access_token"]) == 200
    for pair in (other, mine):
        assert await me(anonymous, pair["access_token"]) == 401
        assert_problem(await refresh(anonymous, pair["refresh_token"]), 401)
    assert (await sign_in(anonymous)).status_code == 401
    assert (await sign_in(anonymous, password=NEW_PASSWORD)).status_code == 200


async def test_changing_the_password_needs_the_current_one(
    anonymous: AsyncClient, user_email: str
) -> None:
    mine = await tokens(anonymous)
    change = {"current_password": "wrong", "new_password": NEW_PASSWORD}
    path = "/api/v1/users/me/password"
    response = await anonymous.post(path, json=change, headers=bearer(mine["access_token"]))
    assert_problem(response, 400)
    assert await me(anonymous, mine["access_token"]) == 200


def reset_token(email: Email) -> str:
    found = re.search(r"token=([A-Za-z0-9_\-]+)", email.body)
    assert found, email.body
    return found.group(1)


async def test_a_password_reset_ends_every_session_and_is_single_use(
    anonymous: AsyncClient, user_email: str, outbox: Outbox
) -> None:
    session = await tokens(anonymous)
    asked = await anonymous.post("/api/v1/auth/password-reset", json={"email": user_email})
    assert asked.status_code == 202
    assert [email.to for email in await outbox()] == [user_email]
    token = reset_token((await outbox())[0])
    confirm = {"token": token, "new_password": RESET_PASSWORD}
    path = "/api/v1/auth/password-reset/confirm"
    assert (await anonymous.post(path, json=confirm)).status_code == 204
    assert await me(anonymous, session["access_token"]) == 401
    assert_problem(await refresh(anonymous, session["refresh_token"]), 401)
    assert (await sign_in(anonymous, password=RESET_PASSWORD)).status_code == 200
    again = await anonymous.post(path, json=confirm | {"new_password": "reset passphrase 2"})
    assert_problem(again, 400)


async def test_a_reset_request_answers_the_same_for_an_unknown_email(
    anonymous: AsyncClient, user_email: str, outbox: Outbox
) -> None:
    path = "/api/v1/auth/password-reset"
    known = await anonymous.post(path, json={"email": user_email})
    unknown = await anonymous.post(path, json={"email": "nobody@example.com"})
    assert (known.status_code, known.content) == (unknown.status_code, unknown.content)
    assert len(await outbox()) == 1


async def test_an_expired_reset_token_is_refused(
    app: FastAPI, anonymous: AsyncClient, user_email: str, outbox: Outbox
) -> None:
    await anonymous.post("/api/v1/auth/password-reset", json={"email": user_email})
    token = reset_token((await outbox())[0])
    async with app.state.database.session() as session:
        await session.execute(
            text("UPDATE password_reset_tokens SET expires_at = now() - interval '1 second'")
        )
        await session.commit()
    confirm = {"token": token, "new_password": RESET_PASSWORD}
    response = await anonymous.post("/api/v1/auth/password-reset/confirm", json=confirm)
    assert_problem(response, 400)
