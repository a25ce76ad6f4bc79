"""The users resource: each user reads their own account; admins manage every account."""

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from tests.assertions import assert_problem
from tests.auth.users import OWNER, PASSWORD

USERS = "/api/v1/users"
NEW_USER = {"email": "New.Person@Example.com", "password": "a long passphrase"}


async def test_a_user_reads_their_own_account(client: AsyncClient) -> None:
    response = await client.get(f"{USERS}/me")
    assert response.status_code == 200
    account = response.json()
    assert account["email"] == OWNER
    assert account["scopes"] == []
    assert "password_hash" not in account


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", USERS),
        ("POST", USERS),
        ("GET", f"{USERS}/1"),
        ("PATCH", f"{USERS}/1"),
        ("DELETE", f"{USERS}/1"),
    ],
)
async def test_managing_users_needs_the_admin_scope(
    client: AsyncClient, method: str, path: str
) -> None:
    body = NEW_USER if method == "POST" else {"is_active": False} if method == "PATCH" else None
    response = await client.request(method, path, json=body)
    problem = assert_problem(response, 403)
    assert "admin" in problem["detail"]


async def test_an_admin_creates_a_user_who_can_sign_in(
    admin: AsyncClient, anonymous: AsyncClient
) -> None:
    response = await admin.post(USERS, json=NEW_USER)
    assert response.status_code == 201, response.text
    assert response.json()["email"] == "new.person@example.com"  # stored lowercased
    form = {"username": "NEW.person@example.com", "password": NEW_USER["password"]}
    assert (await anonymous.post("/api/v1/auth/token", data=form)).status_code == 200
    duplicate = await admin.post(USERS, json=NEW_USER | {"email": "new.PERSON@example.com"})
    assert_problem(duplicate, 409)


async def test_deactivating_a_user_ends_their_sessions(
    admin: AsyncClient, client: AsyncClient, app: FastAPI
) -> None:
    me = (await client.get(f"{USERS}/me")).json()
    response = await admin.patch(f"{USERS}/{me['id']}", json={"is_active": False})
    assert response.status_code == 200, response.text
    assert_problem(await client.get(f"{USERS}/me"), 401)
    form = {"username": OWNER, "password": PASSWORD}
    assert (await client.post("/api/v1/auth/token", data=form)).status_code == 401


async def test_a_user_who_owns_records_cannot_be_deleted(
    admin: AsyncClient, client: AsyncClient
) -> None:
    from tests.factories import all_factories

    owned = [factory for factory in all_factories() if factory.owned]
    me = (await client.get(f"{USERS}/me")).json()
    if owned:
        await owned[0].create(client)
        assert_problem(await admin.delete(f"{USERS}/{me['id']}"), 409)
