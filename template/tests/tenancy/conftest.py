"""Clients of members of two organizations: `ours` (the signed-in `client` owns it) and
`theirs`, each with any role."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncConnection

from app.api.organization_access import HEADER
from app.core.permissions import Role
from tests.auth.conftest import anonymous, outbox  # noqa: F401  (fixtures of tests/auth/)
from tests.auth.users import join, own_organization, sign_in
from tests.clients import client_for

type Member = Callable[[int, Role], AbstractAsyncContextManager[AsyncClient]]


@pytest.fixture
def ours(client: AsyncClient) -> int:
    """The organization `client` works in (and owns)."""
    return int(client.headers[HEADER])


@pytest.fixture
async def theirs(app: FastAPI, connection: AsyncConnection) -> AsyncIterator[int]:
    """Another organization, owned by someone else."""
    async with await client_for(app, connection, signed_in=False) as other:
        user = await sign_in(other, app, "other-owner@example.com")
        yield await own_organization(app, user.id)


@pytest.fixture
def member(app: FastAPI, connection: AsyncConnection) -> Member:
    """`member(organization_id, role)`: a client of a new member with `role` there."""
    made = iter(range(1_000_000))

    @asynccontextmanager
    async def client_of(organization_id: int, role: Role) -> AsyncIterator[AsyncClient]:
        async with await client_for(app, connection, signed_in=False) as client:
            email = f"{role}-{next(made)}-of-{organization_id}@example.com"
            await join(client, app, email, organization_id, role)
            yield client

    return client_of
