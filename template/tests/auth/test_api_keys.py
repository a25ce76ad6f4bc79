"""API keys: created by a signed-in user who gives their password again, shown once, stored as a
hash, acting for the user with scopes the user still holds, until revoked or expired (every key
expires); another user's keys are out of reach; a password reset revokes them all."""

from datetime import UTC, datetime, timedelta
from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.services.api_key import MAX_KEYS_PER_USER
from tests.assertions import assert_problem
from tests.auth.test_sessions import reset_token
from tests.auth.users import OWNER, PASSWORD, Outbox, bearer

KEYS, ME, USERS = "/api/v1/auth/api-keys", "/api/v1/users/me", "/api/v1/users"


async def create_key(client: AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post(KEYS, json={"name": "ci", "password": PASSWORD} | fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def with_key(client: AsyncClient, key: str, path: str = ME) -> Response:
    """GET `path` sending `key` instead of the client's access token."""
    return await client.get(path, headers=bearer(key))


def assert_refused_key(response: Response) -> None:
    body = assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert body["detail"] == "The API key is invalid, expired or revoked."


async def test_a_new_key_is_shown_once_and_acts_for_its_user(client: AsyncClient) -> None:
    response = await client.post(KEYS, json={"name": "deploy bot", "password": PASSWORD})
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    created = response.json()
    assert created["key"].startswith("ak_")
    assert len(created["key"]) == 46
    assert created["prefix"] == created["key"][:10]
    assert (created["name"], created["scopes"]) == ("deploy bot", [])

    me = await with_key(client, created["key"])
    assert me.status_code == 200
    assert me.json()["email"] == OWNER
    listed = (await client.get(KEYS)).json()["items"]
    assert listed == [{key: value for key, value in created.items() if key != "key"}]


async def test_only_a_hash_of_the_key_is_stored(client: AsyncClient, session: AsyncSession) -> None:
    created = await create_key(client)
    stored = (await session.execute(text("SELECT * FROM api_keys"))).mappings().one()
    assert created["key"] not in {str(value) for value in stored.values()}
    assert len(stored["key_hash"]) == 64


async def test_a_revoked_key_stops_working_at_once(client: AsyncClient) -> None:
    created = await create_key(client)
    assert (await client.delete(f"{KEYS}/{created['id']}")).status_code == 204
    assert_refused_key(await with_key(client, created["key"]))
    assert (await client.get(KEYS)).json()["items"] == []
    assert_problem(await client.delete(f"{KEYS}/{created['id']}"), 404)


async def test_a_key_can_revoke_itself(client: AsyncClient) -> None:
    created = await create_key(client)
    revoked = await client.delete(f"{KEYS}/{created['id']}", headers=bearer(created["key"]))
    assert revoked.status_code == 204
    assert_refused_key(await with_key(client, created["key"]))


async def test_an_expired_key_is_refused(client: AsyncClient, session: AsyncSession) -> None:
    created = await create_key(client, expires_in_days=30)
    assert created["expires_at"] is not None
    assert (await with_key(client, created["key"])).status_code == 200
    expire = "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = :id"
    await session.execute(text(expire), {"id": created["id"]})
    assert_refused_key(await with_key(client, created["key"]))


async def test_keys_of_an_inactive_user_are_refused(
    client: AsyncClient, session: AsyncSession
) -> None:
    created = await create_key(client)
    await session.execute(text("UPDATE users SET is_active = false WHERE email = :e"), {"e": OWNER})
    assert_refused_key(await with_key(client, created["key"]))


async def test_made_up_keys_are_refused(client: AsyncClient) -> None:
    await create_key(client)
    for key in ("ak_" + "A" * 43, "ak_", "ak_ bad"):
        assert_refused_key(await with_key(client, key))


async def test_another_users_keys_are_out_of_reach(
    client: AsyncClient, intruder: AsyncClient
) -> None:
    created = await create_key(client)
    assert (await intruder.get(KEYS)).json()["items"] == []
    assert_problem(await intruder.delete(f"{KEYS}/{created['id']}"), 404)
    assert (await with_key(client, created["key"])).status_code == 200


async def test_a_key_cannot_create_keys(client: AsyncClient) -> None:
    created = await create_key(client)
    child = {"name": "child", "password": PASSWORD}
    response = await client.post(KEYS, json=child, headers=bearer(created["key"]))
    assert "cannot create API keys" in assert_problem(response, 403)["detail"]


async def test_a_key_gets_only_scopes_its_user_holds(
    client: AsyncClient, admin: AsyncClient, session: AsyncSession
) -> None:
    admin_scope = {"name": "x", "password": PASSWORD, "scopes": ["admin"]}
    assert_problem(await client.post(KEYS, json=admin_scope), 403)

    plain = await create_key(admin)
    assert_problem(await with_key(admin, plain["key"], USERS), 403)
    scoped = await create_key(admin, scopes=["admin"])
    assert (await with_key(admin, scoped["key"], USERS)).status_code == 200

    # Never more than the user holds now: the admin loses the scope, the key loses it too.
    revoke_admin = "UPDATE users SET scopes = '{}' WHERE email = 'admin@example.com'"
    await session.execute(text(revoke_admin))
    assert_problem(await with_key(admin, scoped["key"], USERS), 403)


async def test_keys_outlive_sign_outs_but_not_revocation(client: AsyncClient) -> None:
    """Keys are credentials of their own: ending every session leaves them working."""
    created = await create_key(client)
    assert (await client.post("/api/v1/auth/logout-all")).status_code == 204
    assert (await with_key(client, created["key"])).status_code == 200


async def test_a_user_holds_a_bounded_number_of_keys(
    client: AsyncClient, session: AsyncSession
) -> None:
    first = await create_key(client, name="key 0")
    copies = (  # the others made in SQL: each creation through the API checks a password
        "INSERT INTO api_keys (user_id, name, prefix, key_hash, scopes) "
        "SELECT user_id, 'key ' || n, prefix, md5(random()::text) || n, scopes "
        "FROM api_keys, generate_series(1, :more) AS n WHERE id = :id"
    )
    await session.execute(text(copies), {"more": MAX_KEYS_PER_USER - 2, "id": first["id"]})
    await create_key(client, name="the last one")
    assert_problem(await client.post(KEYS, json={"name": "one more", "password": PASSWORD}), 409)


async def test_the_right_password_is_no_failed_guess_when_the_creation_is_refused(
    client: AsyncClient, settings: Settings
) -> None:
    """A creation refused after the password check (a scope the user lacks: 403) leaves no
    failed guess behind: the owner is not locked out of their own password change."""
    for _ in range(settings.login_max_failures + 1):
        body = {"name": "x", "password": PASSWORD, "scopes": ["admin"]}
        assert_problem(await client.post(KEYS, json=body), 403)
    change = {"current_password": PASSWORD, "new_password": "a new password, long enough"}
    assert (await client.post(f"{ME}/password", json=change)).status_code == 200


async def test_bad_requests_are_refused_with_problems(client: AsyncClient) -> None:
    for body in (
        {},
        {"name": "x"},  # no password
        {"name": "", "password": PASSWORD},
        {"name": "x", "password": PASSWORD, "scopes": ["root"]},
        {"name": "x", "password": PASSWORD, "expires_in_days": 0},
    ):
        assert_problem(await client.post(KEYS, json=body), 422)
    assert_problem(await client.delete(f"{KEYS}/0"), 422)


async def test_an_access_token_alone_cannot_create_a_key(client: AsyncClient) -> None:
    """A stolen access token (15 minutes) must not become a lasting credential."""
    wrong = await client.post(KEYS, json={"name": "persistence", "password": "a guess"})
    assert_problem(wrong, 400)
    assert (await client.get(KEYS)).json()["items"] == []


async def test_every_key_expires_by_default_and_within_the_maximum(
    client: AsyncClient, settings: Settings
) -> None:
    created = await create_key(client)
    lifetime = datetime.fromisoformat(created["expires_at"]) - datetime.now(UTC)
    default = timedelta(days=settings.api_key_default_days)
    assert default - timedelta(minutes=1) < lifetime <= default
    shortened = await create_key(client, expires_in_days=settings.api_key_max_days + 1)
    lifetime = datetime.fromisoformat(shortened["expires_at"]) - datetime.now(UTC)
    assert lifetime <= timedelta(days=settings.api_key_max_days)


async def test_a_key_stops_at_the_maximum_lifetime_whatever_it_was_created_with(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """Keys created without an expiry by earlier versions, or before the maximum was lowered."""
    created = await create_key(client)
    old = datetime.now(UTC) - timedelta(days=settings.api_key_max_days, seconds=1)
    unbounded = "UPDATE api_keys SET expires_at = NULL, created_at = :old WHERE id = :id"
    await session.execute(text(unbounded), {"old": old, "id": created["id"]})
    assert_refused_key(await with_key(client, created["key"]))


async def test_a_password_reset_revokes_the_keys(
    client: AsyncClient, anonymous: AsyncClient, outbox: Outbox
) -> None:
    """Account recovery removes the intruder, whatever keys they made."""
    created = await create_key(client)
    await anonymous.post("/api/v1/auth/password-reset", json={"email": OWNER})
    (email,) = await outbox()
    confirm = {"token": reset_token(email), "new_password": "a recovered passphrase"}
    confirmed = await anonymous.post("/api/v1/auth/password-reset/confirm", json=confirm)
    assert confirmed.status_code == 204
    assert_refused_key(await with_key(client, created["key"]))
    assert (await client.get(KEYS)).status_code == 401  # the session ended too
