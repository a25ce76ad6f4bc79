"""Attempts counted per key within a window: failed sign-ins per account ("account:<email>") and
per client ("client:<address>"), password reset requests ("reset:account:...", "reset:client:...").
`app.services.attempts` bounds them."""

from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.login_failure import LoginFailure


class LoginFailureRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def counts_since(self, keys: list[str], since: datetime) -> dict[str, int]:
        query = (
            select(LoginFailure.key, func.count())
            .where(LoginFailure.key.in_(keys), LoginFailure.failed_at >= since)
            .group_by(LoginFailure.key)
        )
        rows = (await self.session.execute(query)).all()
        return {key: count for key, count in rows}  # noqa: C416  (rows are Row objects)

    async def record(self, keys: list[str], now: datetime, window_start: datetime) -> list[int]:
        """Count an attempt under each key (the ids of its rows, by key's order), and forget
        these keys' attempts older than the window."""
        await self.session.execute(
            delete(LoginFailure).where(
                LoginFailure.key.in_(keys), LoginFailure.failed_at < window_start
            )
        )
        query = insert(LoginFailure).returning(LoginFailure.id, sort_by_parameter_order=True)
        rows = await self.session.scalars(query, [{"key": key, "failed_at": now} for key in keys])
        return list(rows)

    async def discard(self, ids: list[int]) -> None:
        """Take back attempts counted by `record`."""
        await self.session.execute(delete(LoginFailure).where(LoginFailure.id.in_(ids)))

    async def forget(self, key: str) -> None:
        await self.session.execute(delete(LoginFailure).where(LoginFailure.key == key))
