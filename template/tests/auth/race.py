"""A race harness: requests released together against the real app and PostgreSQL (real commits,
a connection each), repeated, with the invariant asserted after every trial.

The clients are coroutines on one event loop: a barrier holds each until all are ready, then
they go at once, and their statements interleave on separate connections however PostgreSQL
schedules them. A race that a trial happens not to hit passes that trial; the invariant must
hold in every one, so a broken mechanism fails within a few trials.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from app.core.config import Settings
from app.main import create_app
from app.models.user import User
from app.repos.refresh_token import RefreshTokenRepository
from app.repos.reset_token import ResetTokenRepository
from app.security.credentials import Credentials
from app.security.tokens import AccessClaims, new_token, token_digest
from tests.clients import running

type Action[T] = Callable[[], Awaitable[T]]


async def race[T](*actions: Action[T]) -> list[T]:
    """Start every action at the same moment (a barrier); their results, in order."""
    barrier = asyncio.Barrier(len(actions))

    async def run(action: Action[T]) -> T:
        await barrier.wait()
        return await action()

    return list(await asyncio.gather(*(run(action) for action in actions)))


@asynccontextmanager
async def live_app(settings: Settings) -> AsyncIterator[tuple[FastAPI, AsyncClient]]:
    """The app on the database of `settings` (`live_settings`), started, with a client."""
    app = create_app(settings)
    async with running(app, signed_in=False) as client:
        yield app, client


def client_from(app: FastAPI, address: str) -> AsyncClient:
    """A client whose requests come from `address` (the per-client limits key on it)."""
    transport = ASGITransport(app=app, raise_app_exceptions=False, client=(address, 50000))
    return AsyncClient(transport=transport, base_url="http://test")


def new_email(label: str) -> str:
    return f"{label}-{uuid4().hex[:12]}@example.com"


async def new_sessions(app: FastAPI, user_id: int, count: int) -> list[tuple[str, str]]:
    """The access and refresh tokens of `count` new sessions of the user, as signing in gives
    them, without the password check (the trials need many)."""
    credentials: Credentials = app.state.credentials
    refresh_tokens = [new_token() for _ in range(count)]
    async with app.state.database.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        repository, expires_at = (
            RefreshTokenRepository(session),
            datetime.now(UTC) + timedelta(days=1),
        )
        for refresh_token in refresh_tokens:
            await repository.add(user_id, uuid4(), token_digest(refresh_token), expires_at)
        claims = AccessClaims(user.id, user.session_version, frozenset(user.scopes))
        await session.commit()
    access_token = credentials.access_tokens.issue(claims)
    return [(access_token, refresh_token) for refresh_token in refresh_tokens]


async def new_reset_tokens(app: FastAPI, user_id: int, count: int) -> list[str]:
    """Reset tokens of the user, as a reset email carries them."""
    tokens = [new_token() for _ in range(count)]
    async with app.state.database.session() as session:
        repository = ResetTokenRepository(session)
        expires_at = datetime.now(UTC) + timedelta(minutes=10)
        for token in tokens:
            await repository.add(user_id, token_digest(token), expires_at)
        await session.commit()
    return tokens


async def unrevoked_refresh_tokens(app: FastAPI, user_id: int, *, but: str | None = None) -> int:
    """How many refresh tokens of the user are not revoked (`but` this one), used or not: a
    token used up by a refused refresh (its user inactive) was alive until then."""
    query = text(
        "SELECT count(*) FROM refresh_tokens"
        " WHERE user_id = :user_id AND revoked_at IS NULL AND token_hash <> :but"
    )
    values = {"user_id": user_id, "but": token_digest(but) if but is not None else ""}
    async with app.state.database.session() as session:
        return int(await session.scalar(query, values) or 0)
