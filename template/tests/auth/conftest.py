"""Clients of several users, an anonymous one, and the emails the app sends."""

from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.mail import Email
from app.security.principal import ADMIN_SCOPE
from tests.auth.users import sign_in
from tests.clients import client_for


@pytest.fixture
async def anonymous(app: FastAPI, connection: AsyncConnection) -> AsyncIterator[AsyncClient]:
    async with await client_for(app, connection, signed_in=False) as client:
        yield client


@pytest.fixture
async def intruder(app: FastAPI, connection: AsyncConnection) -> AsyncIterator[AsyncClient]:
    """Another user than `client`'s, with no scope."""
    async with await client_for(app, connection, signed_in=False) as client:
        await sign_in(client, app, "intruder@example.com")
        yield client


@pytest.fixture
async def admin(app: FastAPI, connection: AsyncConnection) -> AsyncIterator[AsyncClient]:
    async with await client_for(app, connection, signed_in=False) as client:
        await sign_in(client, app, "admin@example.com", (ADMIN_SCOPE,))
        yield client


class RecordingMailSender:
    def __init__(self) -> None:
        self.sent: list[Email] = []

    async def send(self, email: Email) -> None:
        self.sent.append(email)


@pytest.fixture
def outbox(app: FastAPI) -> Iterator[list[Email]]:
    """The emails the app sends during the test (in place of its LogMailSender)."""
    sender, original = RecordingMailSender(), app.state.mail_sender
    app.state.mail_sender = sender
    yield sender.sent
    app.state.mail_sender = original
