"""Queries for password reset tokens: issue, use once."""

from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.reset_token import ResetToken


class ResetTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, user_id: int, token_hash: str, expires_at: datetime) -> None:
        self.session.add(ResetToken(user_id=user_id, token_hash=token_hash, expires_at=expires_at))
        await self.session.flush()

    async def owner_of_live(self, token_hash: str, now: datetime) -> int | None:
        """The user of a live token, without using it up."""
        query = select(ResetToken.user_id).where(*live(token_hash, now))
        user_id: int | None = await self.session.scalar(query)
        return user_id

    async def use(self, token_hash: str, now: datetime) -> int | None:
        """The user of a live token, which this marks used (once: a conditional UPDATE)."""
        query = (
            update(ResetToken)
            .where(*live(token_hash, now))
            .values(used_at=now)
            .returning(ResetToken.user_id)
        )
        user_id: int | None = (await self.session.execute(query)).scalar_one_or_none()
        return user_id

    async def discard_all_of(self, user_id: int, now: datetime) -> None:
        """Use up the user's other reset tokens (after a reset, the older links are dead)."""
        query = (
            update(ResetToken)
            .where(ResetToken.user_id == user_id, ResetToken.used_at.is_(None))
            .values(used_at=now)
        )
        await self.session.execute(query, execution_options={"synchronize_session": False})


def live(token_hash: str, now: datetime) -> tuple[ColumnElement[bool], ...]:
    """The token with this hash, if neither used nor expired."""
    return (
        ResetToken.token_hash == token_hash,
        ResetToken.used_at.is_(None),
        ResetToken.expires_at > now,
    )
