"""In-memory stand-ins for the database layer, for service unit tests."""

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.db.base import Entity
from app.db.links import Link
from app.repos.base import Repository
from app.schemas.base import Record
from app.schemas.pagination import Listing, ListParams


class InMemoryRepository[ModelT: Entity, ReadT: Record, ParamsT: ListParams](
    Repository[ModelT, ReadT, ParamsT]
):
    """Keeps entities in a dict, and counts the commits of its session (one without a
    database: the service commits it, `Service.commit`); paging is by id only. The ids of a
    model's `links` are kept as attributes of its entities."""

    def __init__(
        self, model: type[ModelT], read_model: type[ReadT], links: tuple[Link, ...] = ()
    ) -> None:
        super().__init__(AsyncSession())
        self.model = model
        self.read_model = read_model
        self.links = links
        self.rows: dict[int, ModelT] = {}
        self.commits = 0
        event.listen(self.session.sync_session, "after_commit", self._count_commit)

    def _count_commit(self, session: Session) -> None:
        self.commits += 1

    async def read(self, id_: int) -> ReadT | None:
        entity = self.rows.get(id_)
        return None if entity is None else self.record_of(entity)

    async def read_page(
        self, params: ParamsT, within: dict[str, int] | None = None
    ) -> Listing[ReadT]:
        entities = sorted(self.rows.values(), key=lambda entity: entity.id)
        for name, value in (within or {}).items():
            entities = [entity for entity in entities if getattr(entity, name) == value]
        entities = entities[: params.limit]
        items = [self.record_of(entity) for entity in entities]
        return Listing(items, total=None, limit=params.limit, offset=None, next_cursor=None)

    async def load_entity(self, id_: int) -> ModelT | None:
        return self.rows.get(id_)

    async def add(self, entity: ModelT) -> ModelT:
        now = datetime.now(UTC)
        entity.id = max(self.rows, default=0) + 1
        entity.version, entity.created_at, entity.updated_at = 1, now, now
        self.rows[entity.id] = entity
        return entity

    async def refuse_unseen_references(self, data: BaseModel, owner_id: int | None) -> None:
        """No other table here: whose records a record points at is checked on the database
        (tests/api/test_<plural>.py)."""

    async def save_links(self, entity: ModelT, data: BaseModel, *, new: bool = False) -> None:
        given = data.model_dump(include={link.attribute for link in self.links})
        for attribute, ids in given.items():
            setattr(entity, attribute, sorted(set(ids)))

    async def insert_alone(self, entity: ModelT) -> ReadT:
        return self.record_of(await self.add(entity))

    async def delete(self, entity: ModelT) -> None:
        del self.rows[entity.id]

    async def flush(self) -> None:
        pass
