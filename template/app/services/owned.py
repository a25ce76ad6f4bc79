"""Services of owned records: built for the request's principal, they create records owned by
it and see only its records (all of them for an admin)."""

from typing import Any, Self

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.user import OwnedEntity
from app.repos.base import Repository
from app.repos.owned import OwnedRepository
from app.schemas.base import Record
from app.schemas.pagination import ListParams
from app.security.principal import Principal
from app.services.base import ResourceService


class OwnedResourceService[
    ModelT: OwnedEntity,
    ReadT: Record,
    CreateT: BaseModel,
    UpdateT: BaseModel,
    ParamsT: ListParams,
](ResourceService[ModelT, ReadT, CreateT, UpdateT, ParamsT]):
    repository_class: type[OwnedRepository[ModelT, ReadT, ParamsT]]

    def __init__(
        self, repository: Repository[ModelT, ReadT, ParamsT], creator_id: int | None = None
    ) -> None:
        super().__init__(repository)
        self.creator_id = creator_id

    @classmethod
    def for_principal(cls, session: AsyncSession, principal: Principal) -> Self:
        """The service as `principal` uses it: how routes build it (`app.api.auth`)."""
        repository = cls.repository_class.for_owner(session, principal.owner_filter())
        return cls(repository, creator_id=principal.user_id)

    async def create(self, data: CreateT, owner_id: int | None = None) -> ReadT:
        """Create a record owned by `owner_id`, by default the principal the service is for."""
        owner = owner_id if owner_id is not None else self.creator_id
        if owner is None:
            raise ValueError("a record needs an owner: pass owner_id outside a request")
        values: dict[str, Any] = data.model_dump()
        entity = await self.repository.add(self.repository.model(**values, owner_id=owner))
        await self.repository.commit()
        return self.repository.record_of(entity)
