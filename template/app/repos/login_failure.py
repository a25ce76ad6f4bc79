"""Counts of failed logins within a window, per key ("account:<email>", "client:<address>")."""

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

    async def record(self, keys: list[str], now: datetime, window_start: datetime) -> None:
        """Count a failure under each key, and forget this key's failures older than the window."""
        await self.session.execute(
            delete(LoginFailure).where(
                LoginFailure.key.in_(keys), LoginFailure.failed_at < window_start
            )
        )
        await self.session.execute(
            insert(LoginFailure), [{"key": key, "failed_at": now} for key in keys]
        )

    async def forget(self, key: str) -> None:
        await self.session.execute(delete(LoginFailure).where(LoginFailure.key == key))
