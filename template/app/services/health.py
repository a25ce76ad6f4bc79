"""Readiness: whether the database answers."""

from sqlalchemy import text

from app.services.base import Service


class HealthService(Service):
    async def check_database(self) -> None:
        """Run a real query; the database's errors propagate (503 through app.api.problems)."""
        await self.session.execute(text("SELECT 1"))
