"""Queries for API keys: add, list a user's, find a live one, revoke one or all of a user's."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.api_key import ApiKey
from app.models.user import User


@dataclass(frozen=True, slots=True)
class LiveKey:
    """A live key of an active user: who it acts for, and with which scopes."""

    key_id: int
    user_id: int
    scopes: frozenset[str]


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, key: ApiKey) -> ApiKey:
        self.session.add(key)
        await self.session.flush()
        return key

    async def unrevoked_of(self, user_id: int) -> list[ApiKey]:
        """The user's keys that are not revoked (expired ones included), oldest first."""
        query = select(ApiKey).where(*unrevoked(user_id)).order_by(ApiKey.id)
        return list(await self.session.scalars(query))

    async def count_unrevoked(self, user_id: int) -> int:
        query = select(func.count()).where(*unrevoked(user_id))
        return int(await self.session.scalar(query) or 0)

    async def live(self, key_hash: str, now: datetime, created_after: datetime) -> LiveKey | None:
        """The key with this hash if it is neither revoked nor expired, was created after
        `created_after` (the longest lifetime allowed now) and its user is active, in one query;
        its scopes are those the user still holds."""
        query = (
            select(ApiKey.id, ApiKey.user_id, ApiKey.scopes, User.scopes.label("user_scopes"))
            .join(User, User.id == ApiKey.user_id)
            .where(
                ApiKey.key_hash == key_hash,
                ApiKey.revoked_at.is_(None),
                or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
                ApiKey.created_at > created_after,
                User.is_active,
            )
        )
        row = (await self.session.execute(query)).one_or_none()
        if row is None:
            return None
        return LiveKey(row.id, row.user_id, frozenset(row.scopes) & frozenset(row.user_scopes))

    async def revoke(self, user_id: int, key_id: int, now: datetime) -> bool:
        """Revoke the user's key `key_id`; False if they have no such unrevoked key."""
        query = (
            update(ApiKey)
            .where(ApiKey.id == key_id, ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(ApiKey.id)
        )
        return (await self.session.execute(query)).scalar_one_or_none() is not None

    async def revoke_all_of(self, user_id: int, now: datetime) -> None:
        """Revoke every unrevoked key of the user."""
        await self.session.execute(update(ApiKey).where(*unrevoked(user_id)).values(revoked_at=now))


def unrevoked(user_id: int) -> tuple[ColumnElement[bool], ...]:
    """The user's keys that are not revoked (expired ones included)."""
    return ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None)
