"""The generic service: create, read, update and delete for one resource.

Each change is committed before the method returns, so a failed commit reaches the client as
an error (never after a 2xx response has gone out).
"""

from typing import Self

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFoundError, VersionMismatchError
from app.db.base import Entity
from app.repos.base import Repository
from app.schemas.base import Record
from app.schemas.pagination import Listing, ListParams


class ResourceService[
    ModelT: Entity,
    ReadT: Record,
    CreateT: BaseModel,
    UpdateT: BaseModel,
    ParamsT: ListParams,
]:
    """Each resource's service names its repository class and its name in messages."""

    name = "Resource"
    repository_class: type[Repository[ModelT, ReadT, ParamsT]]

    def __init__(self, repository: Repository[ModelT, ReadT, ParamsT]) -> None:
        self.repository = repository

    @classmethod
    def from_session(cls, session: AsyncSession) -> Self:
        """The service on `session`: how routes (`app.api.deps.service`), jobs and scripts
        build it. The caller owns the session and closes it."""
        return cls(cls.repository_class.from_session(session))

    def new_entity(self, data: CreateT) -> ModelT:
        """The ORM object a create adds."""
        return self.repository.model(**data.model_dump())

    async def create(self, data: CreateT) -> ReadT:
        return await self.repository.create(self.new_entity(data))

    async def read(self, id_: int) -> ReadT:
        """The resource's record, to show."""
        record = await self.repository.read(id_)
        if record is None:
            raise self._not_found(id_)
        return record

    async def list(self, params: ParamsT) -> Listing[ReadT]:
        """One page of records."""
        return await self.repository.read_page(params)

    async def load_entity(self, id_: int) -> ModelT:
        """The resource's ORM object, to change."""
        entity = await self.repository.load_entity(id_)
        if entity is None:
            raise self._not_found(id_)
        return entity

    async def update(self, id_: int, data: UpdateT, expected_version: int | None = None) -> ReadT:
        """Change the fields present in `data`; `expected_version` guards against lost updates."""
        entity = await self.load_entity(id_)
        self._check_version(entity, expected_version)
        for field, value in data.model_dump().items():
            setattr(entity, field, value)
        await self.repository.commit()
        return self.repository.record_of(entity)

    async def delete(self, id_: int, expected_version: int | None = None) -> None:
        """Delete the resource; `expected_version` guards against deleting a changed one."""
        entity = await self.load_entity(id_)
        self._check_version(entity, expected_version)
        await self.repository.delete(entity)
        await self.repository.commit()

    def _not_found(self, id_: int) -> NotFoundError:
        return NotFoundError(f"{self.name} {id_} does not exist.")

    def _check_version(self, entity: ModelT, expected_version: int | None) -> None:
        if expected_version is not None and entity.version != expected_version:
            raise VersionMismatchError(
                f"{self.name} {entity.id} has changed: it is at version {entity.version} now.",
                current_version=entity.version,
            )
