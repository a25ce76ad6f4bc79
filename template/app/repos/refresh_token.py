"""Queries for refresh tokens: issue, use once, revoke."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.refresh_token import RefreshToken


@dataclass(frozen=True, slots=True)
class TokenFamily:
    user_id: int
    family_id: UUID


class RefreshTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, user_id: int, family_id: UUID, token_hash: str, expires_at: datetime
    ) -> None:
        token = RefreshToken(
            user_id=user_id, family_id=family_id, token_hash=token_hash, expires_at=expires_at
        )
        self.session.add(token)
        await self.session.flush()

    async def use(self, token_hash: str, now: datetime) -> TokenFamily | None:
        """Mark a live token used, in one conditional UPDATE: of two concurrent uses, the
        second waits for the first's row lock, then finds the token used (None). Take the
        user's lock first (`UserRepository.lock`)."""
        query = (
            update(RefreshToken)
            .where(
                RefreshToken.token_hash == token_hash,
                RefreshToken.used_at.is_(None),
                RefreshToken.revoked_at.is_(None),
                RefreshToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(RefreshToken.user_id, RefreshToken.family_id)
        )
        row = (await self.session.execute(query)).one_or_none()
        return None if row is None else TokenFamily(row.user_id, row.family_id)

    async def find(self, token_hash: str) -> TokenFamily | None:
        """The user and family of a token that exists, live or not."""
        query = select(RefreshToken.user_id, RefreshToken.family_id).where(
            RefreshToken.token_hash == token_hash
        )
        row = (await self.session.execute(query)).one_or_none()
        return None if row is None else TokenFamily(row.user_id, row.family_id)

    async def revoke_family(self, family_id: UUID, now: datetime) -> None:
        await self._revoke(RefreshToken.family_id == family_id, now)

    async def revoke_all_of(self, user_id: int, now: datetime) -> None:
        await self._revoke(RefreshToken.user_id == user_id, now)

    async def _revoke(self, condition: ColumnElement[bool], now: datetime) -> None:
        query = (
            update(RefreshToken)
            .where(condition, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        await self.session.execute(query, execution_options={"synchronize_session": False})
