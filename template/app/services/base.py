"""The generic service: create, read, update and delete for one resource.

Each change is committed before the method returns, so a failed commit reaches the client as
an error (never after a 2xx response has gone out).
"""

from typing import Any

from pydantic import BaseModel
from sqlalchemy import Row

from app.core.errors import NotFoundError, VersionMismatchError
from app.db.base import Entity
from app.repos.base import Listing, Repository
from app.schemas.pagination import ListParams


class ResourceService[ModelT: Entity, CreateT: BaseModel, UpdateT: BaseModel, ParamsT: ListParams]:
    name = "Resource"

    def __init__(self, repository: Repository[ModelT, ParamsT]) -> None:
        self.repository = repository

    async def create(self, data: CreateT) -> ModelT:
        entity = await self.repository.add(self.repository.model(**data.model_dump()))
        await self.repository.commit()
        return entity

    async def read(self, id_: int) -> Row[Any]:
        """The resource's columns, to show."""
        row = await self.repository.find(id_)
        if row is None:
            raise self._not_found(id_)
        return row

    async def list(self, params: ParamsT) -> Listing[Row[Any]]:
        return await self.repository.page(params)

    async def get(self, id_: int) -> ModelT:
        """The resource's ORM object, to change."""
        entity = await self.repository.get(id_)
        if entity is None:
            raise self._not_found(id_)
        return entity

    async def update(self, id_: int, data: UpdateT, expected_version: int | None = None) -> ModelT:
        """Change the fields present in `data`; `expected_version` guards against lost updates."""
        entity = await self.get(id_)
        self._check_version(entity, expected_version)
        for field, value in data.model_dump().items():
            setattr(entity, field, value)
        await self.repository.commit()
        return entity

    async def delete(self, id_: int, expected_version: int | None = None) -> None:
        entity = await self.get(id_)
        self._check_version(entity, expected_version)
        await self.repository.delete(entity)
        await self.repository.commit()

    def _not_found(self, id_: int) -> NotFoundError:
        return NotFoundError(f"{self.name} {id_} does not exist.")

    def _check_version(self, entity: ModelT, expected_version: int | None) -> None:
        if expected_version is not None and entity.version != expected_version:
            raise VersionMismatchError(
                f"{self.name} {entity.id} is at version {entity.version}, not {expected_version}."
            )
