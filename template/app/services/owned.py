"""Services of owned records: built for the request's principal, they create records owned by
it and see only its records (all of them for an admin)."""

from typing import Self

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

    @classmethod
    def for_creator(cls, session: AsyncSession, creator_id: int) -> Self:
        """The service as a job or a script uses it: every record visible, new ones owned by
        `creator_id`."""
        return cls(cls.repository_class.for_owner(session, None), creator_id=creator_id)

    def new_entity(self, data: CreateT) -> ModelT:
        """The ORM object a create adds, owned by the principal the service is for."""
        if self.creator_id is None:
            raise ValueError("a record needs an owner: build the service with a creator_id")
        return self.repository.model(**data.model_dump(), owner_id=self.creator_id)
