"""Readiness: whether the database answers."""

from typing import Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


class HealthService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> Self:
        return cls(session)

    async def check_database(self) -> None:
        """Run a real query; the database's errors propagate (503 through app.api.problems)."""
        await self.session.execute(text("SELECT 1"))
