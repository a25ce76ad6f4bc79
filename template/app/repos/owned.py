"""Repositories of owned records: every query sees only the owner's rows (OWASP API1).

Filtering in the query, not checking after loading, makes another user's record answer exactly
like a missing one (404 on every verb; absent from lists and counts).
"""

from typing import Any, Self

from sqlalchemy.ext.asyncio import AsyncSession

from app.models.user import OwnedEntity
from app.repos.base import Repository
from app.schemas.base import Record
from app.schemas.pagination import ListParams


class OwnedRepository[ModelT: OwnedEntity, ReadT: Record, ParamsT: ListParams](
    Repository[ModelT, ReadT, ParamsT]
):
    """`owner_id` None sees every row: admins, jobs and scripts."""

    def __init__(self, session: AsyncSession, owner_id: int | None = None) -> None:
        super().__init__(session)
        self.owner_id = owner_id

    @classmethod
    def for_owner(cls, session: AsyncSession, owner_id: int | None) -> Self:
        return cls(session, owner_id)

    def visible_values(self) -> dict[str, Any]:
        return {} if self.owner_id is None else {"owner_id": self.owner_id}
