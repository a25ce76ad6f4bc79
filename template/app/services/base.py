"""What every service shares: the session it works in and the one way to commit it, and the
generic service (create, read, update and delete for one resource).

A service owns its unit of work: repositories add, change and delete, never commit; a service
commits through `Service.commit` before its method returns, so that a failed commit reaches the
client as an error (never after a 2xx response has gone out), and a violation a client caused
as a domain error. tests/test_commits.py fails when anything else in app/ commits.
"""

from contextlib import AbstractContextManager, nullcontext
from typing import Protocol, Self

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFoundError, VersionMismatchError
from app.db.base import Entity
from app.repos.base import Repository
from app.schemas.base import Record
from app.schemas.pagination import Listing, ListParams


class RecordReader(Protocol):
    """What a nested list asks of the service of the records its records refer to: `read`, which
    raises NotFoundError for a record the caller may not see (`ResourceService.read`)."""

    async def read(self, id_: int) -> Record: ...


class Service:
    """A service on `session`: its methods commit what they change through `commit`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def client_errors(self) -> AbstractContextManager[None]:
        """Where the database's refusals a client caused become domain errors: none here; a
        service of one resource translates its repository's (`Repository.client_errors`)."""
        return nullcontext()

    async def commit(self) -> None:
        """Commit the session: the one place where a service's changes become durable."""
        with self.client_errors():
            await self.session.commit()


class ResourceService[
    ModelT: Entity,
    ReadT: Record,
    CreateT: BaseModel,
    UpdateT: BaseModel,
    ParamsT: ListParams,
](Service):
    """Each resource's service names its repository class and its name in messages."""

    name = "Resource"
    repository_class: type[Repository[ModelT, ReadT, ParamsT]]

    def __init__(self, repository: Repository[ModelT, ReadT, ParamsT]) -> None:
        super().__init__(repository.session)
        self.repository = repository

    @classmethod
    def from_session(cls, session: AsyncSession) -> Self:
        """The service on `session`: how routes (`app.api.deps.service`), jobs and scripts
        build it. The caller owns the session and closes it."""
        return cls(cls.repository_class.from_session(session))

    def new_entity(self, data: CreateT) -> ModelT:
        """The ORM object a create adds."""
        return self.repository.model(**data.model_dump())

    def client_errors(self) -> AbstractContextManager[None]:
        return self.repository.client_errors()

    async def create(self, data: CreateT) -> ReadT:
        """Add the record, and commit."""
        return await self.commit_new(self.new_entity(data))

    async def commit_new(self, entity: ModelT) -> ReadT:
        """Add `entity` and commit, as the whole unit of work: one INSERT ... RETURNING, which
        the database commits on its own when nothing else is pending (`Repository.insert_alone`);
        else through the ORM. Queue jobs or change other rows? `add` them, then `commit`."""
        record = await self.repository.insert_alone(entity)
        await self.commit()
        return record

    async def read(self, id_: int) -> ReadT:
        """The resource's record, to show."""
        record = await self.repository.read(id_)
        if record is None:
            raise self._not_found(id_)
        return record

    async def list(self, params: ParamsT) -> Listing[ReadT]:
        """One page of records."""
        return await self.repository.read_page(params)

    async def list_within(
        self, parent: RecordReader, parent_id: int, attribute: str, params: ParamsT
    ) -> Listing[ReadT]:
        """One page of the records whose reference `attribute` holds `parent_id`, filtered by
        `params` too: the list under a record (`GET /customers/{customer_id}/orders`). The
        record's own service, `parent`, reads it first: NotFoundError when the caller cannot
        see it."""
        await parent.read(parent_id)
        return await self.repository.read_page(params, within={attribute: parent_id})

    async def load_entity(self, id_: int) -> ModelT:
        """The resource's ORM object, to change (update, delete): override it to lock the row."""
        entity = await self.repository.load_entity(id_)
        if entity is None:
            raise self._not_found(id_)
        return entity

    async def update(self, id_: int, data: UpdateT, expected_version: int | None = None) -> ReadT:
        """Change the fields present in `data`; `expected_version` guards against lost updates."""
        entity = await self.load_entity(id_)
        self._check_version(entity, expected_version)
        await self.apply_update(entity, data)
        await self.commit()
        return self.repository.record_of(entity)

    async def apply_update(self, entity: ModelT, data: UpdateT) -> None:
        """Set the fields present in `data` on `entity`: override it for a rule on changes
        (call this one, then add yours), as `new_entity` for creations."""
        for field, value in data.model_dump().items():
            setattr(entity, field, value)

    async def delete(self, id_: int, expected_version: int | None = None) -> None:
        """Delete the resource; `expected_version` guards against deleting a changed one."""
        entity = await self.load_entity(id_)
        self._check_version(entity, expected_version)
        await self.repository.delete(entity)
        await self.commit()

    def _not_found(self, id_: int) -> NotFoundError:
        return NotFoundError(f"{self.name} {id_} does not exist.")

    def _check_version(self, entity: ModelT, expected_version: int | None) -> None:
        if expected_version is not None and entity.version != expected_version:
            raise VersionMismatchError(
                f"{self.name} {entity.id} has changed: it is at version {entity.version} now.",
                current_version=entity.version,
            )
