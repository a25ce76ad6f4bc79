"""Users for the tests: created in the app's database, signed in by an access token."""

import secrets
from collections.abc import Awaitable, Callable
from uuid import uuid4

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import NullPool, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.core.config import Settings
from app.core.mail import Email
from app.core.scopes import ADMIN_SCOPE
from app.models.user import User
from app.security.credentials import Credentials
from app.security.principal import Principal
from app.security.tokens import AccessClaims
from app.services.base import Caller

PASSWORD = "correct horse battery staple"  # noqa: S105  (every test user's password)
# The key the app under test signs with (tests/conftest.py): random, made by each test process.
SECRET_KEY = secrets.token_urlsafe(48)
OWNER = "owner@example.com"
# The emails the app sent (or queued) during a test: tests/auth/conftest.py's `outbox`.
Outbox = Callable[[], Awaitable[list[Email]]]
FUZZER = "fuzzer@example.com"
# Stands for the fuzzer's token until a call arrives (tests/api/shared/test_fuzz.py).
FUZZER_MARK = "fuzzer"


async def add_user(
    app: FastAPI, email: str, scopes: tuple[str, ...] = (), *, active: bool = True
) -> User:
    """The user with `email` (created with PASSWORD if new), committed in the app's database."""
    credentials: Credentials = app.state.credentials
    async with app.state.database.session() as session:
        user: User | None = await session.scalar(select(User).where(User.email == email))
        if user is None:
            password_hash = await credentials.passwords.hash(PASSWORD)
            user = User(email=email, password_hash=password_hash, scopes=list(scopes))
            user.is_active = active
            session.add(user)
            await session.commit()
        return user


def access_token(app: FastAPI, user: User) -> str:
    credentials: Credentials = app.state.credentials
    claims = AccessClaims(user.id, user.session_version, frozenset(user.scopes))
    return credentials.access_tokens.issue(claims)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sign_in(
    client: AsyncClient, app: FastAPI, email: str = OWNER, scopes: tuple[str, ...] = ()
) -> User:
    """Send `email`'s access token with every request of `client` from now on."""
    user = await add_user(app, email, scopes)
    client.headers.update(bearer(access_token(app, user)))
    return user


async def owner_caller(session: AsyncSession) -> Caller:
    """The caller for whom a service creates records outside requests: a new user (who cannot
    sign in) as principal; not committed."""
    user = User(email=f"owner-{uuid4().hex}@example.com", password_hash="!")  # noqa: S106
    session.add(user)
    await session.flush()
    return Caller(Principal(user.id, frozenset()))


async def fuzzing_token(app: FastAPI) -> str:
    """An access token of an active admin, FUZZER, created or repaired first if need be (one
    query on the app's own pool when nothing needs repair: the fuzzer asks before every call)."""
    credentials: Credentials = app.state.credentials
    async with app.state.database.session() as session:
        return await _admin_token(session, credentials)


async def served_admin_token(settings: Settings) -> str:
    """The same token, for an app served in another process on the database of `settings`."""
    credentials = Credentials.from_settings(settings)
    engine = create_async_engine(settings.database_url.get_secret_value(), poolclass=NullPool)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            return await _admin_token(session, credentials)
    finally:
        await engine.dispose()


async def _admin_token(session: AsyncSession, credentials: Credentials) -> str:
    user = await session.scalar(select(User).where(User.email == FUZZER))
    if user is None:
        password_hash = await credentials.passwords.hash(PASSWORD)
        user = User(email=FUZZER, password_hash=password_hash)
        session.add(user)
    if user.id is None or not user.is_active or user.scopes != [ADMIN_SCOPE]:
        user.is_active, user.scopes = True, [ADMIN_SCOPE]
        await session.commit()
    claims = AccessClaims(user.id, user.session_version, frozenset(user.scopes))
    return credentials.access_tokens.issue(claims)
