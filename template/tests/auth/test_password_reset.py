"""Password reset requests: limited per email and per client, the same work whether or not
the account exists, and the token in no table and no log (only its hash is stored)."""

import logging
import re

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.config import Settings
from app.models.user import User
from app.services.auth import AuthService
from app.services.base import Caller
from tests.assertions import assert_problem
from tests.auth.users import Outbox, add_user

RESET = "/api/v1/auth/password-reset"
EMAIL = "forgetful@example.com"


async def test_reset_requests_are_limited_per_email_known_or_not(
    app: FastAPI, anonymous: AsyncClient
) -> None:
    """The limit stops a flood of emails (and of live tokens) to one person; unknown emails
    count alike, so that a 429 tells nothing about which accounts exist."""
    await add_user(app, EMAIL)
    settings: Settings = app.state.settings
    limit = settings.password_reset_max_requests
    for email in (EMAIL, "nobody@example.com"):
        for _ in range(limit):
            assert (await anonymous.post(RESET, json={"email": email})).status_code == 202
        refused = await anonymous.post(RESET, json={"email": email.upper()})  # the same email
        body = assert_problem(refused, 429)
        assert body["detail"] == "Too many password reset requests; try again later."
        assert refused.headers["retry-after"] == str(settings.password_reset_window_minutes * 60)


async def test_reset_requests_are_limited_per_client(app: FastAPI, anonymous: AsyncClient) -> None:
    limit = app.state.settings.password_reset_max_requests_per_client
    for number in range(limit):
        response = await anonymous.post(RESET, json={"email": f"someone{number}@example.com"})
        assert response.status_code == 202
    assert_problem(await anonymous.post(RESET, json={"email": "another@example.com"}), 429)


async def test_a_reset_request_does_the_same_work_whether_or_not_the_account_exists(
    app: FastAPI, session: AsyncSession, connection: AsyncConnection
) -> None:
    """No difference in time to measure: the same statements, none that looks the user up
    (that happens after the answer, or in a job)."""
    session.add(User(email=EMAIL, password_hash="!"))  # noqa: S106  (no password matches)
    await session.commit()
    statements: list[str] = []

    def record(*args: object) -> None:
        statement = str(args[2])  # (connection, cursor, statement, ...)
        # the test's transaction's (and, with tenancy, its sessions' leaving any organization)
        if not statement.startswith(("SAVEPOINT", "RELEASE", "SELECT set_config")):
            statements.append(statement)

    auth = AuthService.for_caller(session, Caller(credentials=app.state.credentials))
    work = []
    event.listen(connection.sync_connection, "before_cursor_execute", record)
    try:
        for email in (EMAIL, "nobody@example.com"):
            statements.clear()
            await auth.request_reset(email, f"client of {email}")
            work.append(statements.copy())
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", record)
    assert work[0] == work[1]
    assert not any("FROM users" in statement for statement in work[0])


async def test_the_reset_token_is_in_no_table_and_no_log(
    app: FastAPI,
    anonymous: AsyncClient,
    outbox: Outbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await add_user(app, EMAIL)
    with caplog.at_level(logging.DEBUG):
        assert (await anonymous.post(RESET, json={"email": EMAIL})).status_code == 202
        (email,) = await outbox()
    found = re.search(r"token=([A-Za-z0-9_\-]+)", email.body)
    assert found is not None
    token = found.group(1)
    assert token not in caplog.text
    async with app.state.database.session() as session:
        tables = await session.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        )
        for table in tables.all():
            query = text(f'SELECT count(*) FROM "{table}" AS row WHERE row::text LIKE :token')  # noqa: S608
            assert await session.scalar(query, {"token": f"%{token}%"}) == 0, table
