"""Isolation the database enforces: with the app's own role and session, a query without any
organization filter sees only the rows of the organization its transaction entered, none
without one, and cannot write another organization's rows (app/db/tenancy.py).

On a database of the test's own, with the app's role (not the tables' owner, no BYPASSRLS),
as in production."""

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

import pytest
from fastapi import FastAPI
from sqlalchemy import NullPool, Table, delete, func, make_url, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

import app.models  # noqa: F401  (every model, so that every scoped table is known)
from app.api.organization_access import HEADER
from app.core.config import Settings
from app.db.base import Base
from app.db.isolation_check import (
    IsolationBypassedError,
    check_isolation,
    refuse_bypassing_connections,
)
from app.main import create_app
from app.models.scoped import ScopedEntity
from app.repos.organization import OrganizationRepository
from tests.auth.users import OWNER, sign_in
from tests.clients import http_client, running
from tests.factories import all_factories

SCOPED_TABLES = [cast(Table, model.__table__) for model in ScopedEntity.__subclasses__()]
FACTORY = next(factory for factory in all_factories() if factory.scoped)


@pytest.fixture
async def app_engine(live_settings: Settings) -> AsyncIterator[AsyncEngine]:
    """An engine as the app connects: its own role."""
    engine = create_async_engine(live_settings.database_url.get_secret_value(), poolclass=NullPool)
    yield engine
    await engine.dispose()


async def two_organizations(app: FastAPI) -> tuple[tuple[int, int], tuple[int, int]]:
    """Records in two organizations (two in the first, one in the second): each one's
    (organization id, owner's user id)."""
    ids = []
    async with running(app) as first, http_client(app) as second:
        for client, email, count in ((first, OWNER, 2), (second, "second@example.com", 1)):
            user = await sign_in(client, app, email)
            for i in range(count):
                await FACTORY.create(client, i)
            ids.append((int(client.headers[HEADER]), user.id))
    return ids[0], ids[1]


@asynccontextmanager
async def working_in(
    engine: AsyncEngine, organization_id: int, user_id: int
) -> AsyncIterator[AsyncSession]:
    """A session of the app's role whose transaction entered the organization as the app does
    for its member `user_id` (rolled back at the end)."""
    async with engine.connect() as connection, connection.begin():
        session = AsyncSession(bind=connection)
        assert await OrganizationRepository(session).enter(organization_id, user_id)
        yield session


async def test_a_query_without_a_filter_sees_its_organizations_rows_only(
    live_settings: Settings, app_engine: AsyncEngine
) -> None:
    (first, first_owner), _ = await two_organizations(create_app(live_settings))
    async with app_engine.connect() as connection:
        for table in SCOPED_TABLES:  # no organization entered: nothing at all
            assert await connection.scalar(select(func.count()).select_from(table)) == 0
        for name in await isolated_tables(connection):  # links' tables too
            counted = select(func.count()).select_from(Base.metadata.tables[name])
            assert await connection.scalar(counted) == 0
    async with working_in(app_engine, first, first_owner) as session:
        for table in SCOPED_TABLES:
            rows = (await session.execute(select(table.c.organization_id))).scalars()
            assert set(rows) <= {first}
        table = factory_table()
        assert await session.scalar(select(func.count()).select_from(table)) == 2


async def test_another_organizations_rows_cannot_be_written(
    live_settings: Settings, app_engine: AsyncEngine
) -> None:
    (first, first_owner), (second, _) = await two_organizations(create_app(live_settings))
    table = factory_table()
    async with working_in(app_engine, first, first_owner) as session:
        with pytest.raises(DBAPIError, match="row-level security"):  # ours moved to theirs
            await session.execute(update(table).values(organization_id=second))
    async with working_in(app_engine, first, first_owner) as session:
        theirs = delete(table).where(table.c.organization_id == second)
        assert (await session.execute(theirs)).rowcount == 0  # type: ignore[attr-defined]


async def isolated_tables(connection: AsyncConnection) -> list[str]:
    """The tables under row-level security."""
    query = text("SELECT relname FROM pg_class WHERE relkind = 'r' AND relrowsecurity")
    return list((await connection.execute(query)).scalars())


def every_scoped_table() -> set[str]:
    """The scoped models' tables and their links' tables (app/db/links.py: whose first column
    is the scoped record's)."""
    names = {table.name for table in SCOPED_TABLES}
    return names | {
        table.name
        for table in Base.metadata.tables.values()
        for key in table.c[0].foreign_keys
        if "__" in table.name and key.column.table.name in names
    }


def factory_table() -> Table:
    return next(table for table in SCOPED_TABLES if table.name == FACTORY.subject)


async def test_the_apps_role_neither_owns_the_tables_nor_bypasses_row_level_security(
    app_engine: AsyncEngine,
) -> None:
    async with app_engine.connect() as connection:
        role = (
            await connection.execute(
                text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            )
        ).one()
        assert tuple(role) == (False, False)
        owned = await connection.scalar(
            text("SELECT count(*) FROM pg_tables WHERE tableowner = current_user")
        )
        assert owned == 0
        assert every_scoped_table() <= set(await isolated_tables(connection))


async def test_in_production_the_app_refuses_a_role_that_bypasses_row_level_security(
    live_settings: Settings, app_engine: AsyncEngine
) -> None:
    production = live_settings.model_copy(update={"environment": "production"})
    await check_isolation(app_engine, production)  # the app's own role: fine
    owner_url = live_settings.direct_database_url()  # the tables' owner (a superuser here)
    owner = create_async_engine(owner_url, poolclass=NullPool)
    try:
        with pytest.raises(IsolationBypassedError, match="bypasses row-level security"):
            await check_isolation(owner, production)
        await check_isolation(owner, live_settings)  # elsewhere: a warning only
    finally:
        await owner.dispose()


async def test_in_production_no_connection_of_a_role_that_bypasses_it_serves_a_request(
    live_settings: Settings,
) -> None:
    """However the start-up went (the database may come up after the app), each connection the
    pool opens is checked: a role that bypasses row-level security gets 503s, never rows."""
    owner = live_settings.model_copy(
        update={"environment": "production", "database_url": live_settings.database_direct_url}
    )
    engine = create_async_engine(live_settings.direct_database_url(), poolclass=NullPool)
    refuse_bypassing_connections(engine, owner)
    try:
        with pytest.raises(IsolationBypassedError):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    app_role = create_async_engine(
        live_settings.database_url.get_secret_value(), poolclass=NullPool
    )
    refuse_bypassing_connections(app_role, owner)
    try:
        async with app_role.connect() as connection:
            assert await connection.scalar(text("SELECT 1")) == 1
    finally:
        await app_role.dispose()


async def test_a_member_of_the_owners_role_is_refused_too(live_settings: Settings) -> None:
    """A role that owns no table but is a member of the owner's role bypasses the policies as
    the owner does: the check sees it."""
    owner_url = make_url(live_settings.direct_database_url())
    admin = create_async_engine(owner_url, poolclass=NullPool)
    role, password = f"{owner_url.database}_member", secrets.token_urlsafe(16)
    try:
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
            await connection.execute(
                text(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}' IN ROLE CURRENT_USER")
            )
        member_url = owner_url.set(username=role, password=password)
        member = create_async_engine(member_url, poolclass=NullPool)
        production = live_settings.model_copy(update={"environment": "production"})
        try:
            with pytest.raises(IsolationBypassedError):
                await check_isolation(member, production)
        finally:
            await member.dispose()
    finally:
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        await admin.dispose()
