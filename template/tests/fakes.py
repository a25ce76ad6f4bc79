"""In-memory stand-ins for the database layer, for service unit tests."""

from datetime import UTC, datetime
from typing import Any

from app.db.base import Entity
from app.repos.base import Listing, Repository
from app.schemas.pagination import ListParams


class InMemoryRepository[ModelT: Entity, ParamsT: ListParams](Repository[ModelT, ParamsT]):
    """Keeps rows in a dict and counts commits; paging is by id only."""

    def __init__(self, model: type[ModelT]) -> None:
        self.model = model
        self.rows: dict[int, ModelT] = {}
        self.commits = 0

    async def get(self, id_: int) -> ModelT | None:
        return self.rows.get(id_)

    async def find(self, id_: int) -> Any:
        return self.rows.get(id_)  # the object stands in for the row of its columns

    async def add(self, entity: ModelT) -> ModelT:
        now = datetime.now(UTC)
        entity.id = max(self.rows, default=0) + 1
        entity.version, entity.created_at, entity.updated_at = 1, now, now
        self.rows[entity.id] = entity
        return entity

    async def delete(self, entity: ModelT) -> None:
        del self.rows[entity.id]

    async def flush(self) -> None:
        pass

    async def commit(self) -> None:
        self.commits += 1

    async def page(self, params: ParamsT) -> Listing[Any]:
        items: list[Any] = sorted(self.rows.values(), key=lambda row: row.id)[: params.limit]
        return Listing(items, total=None, limit=params.limit, offset=None, next_cursor=None)
