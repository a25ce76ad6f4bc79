"""Users: created by an admin (or by signing up), read by themselves, managed by admins."""

from datetime import UTC, datetime
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import get_settings
from app.models.user import User
from app.repos.refresh_token import RefreshTokenRepository
from app.repos.user import UserRepository
from app.schemas.user import UserCreate, UserListParams, UserRead, UserUpdate
from app.security.credentials import Credentials
from app.security.principal import Principal
from app.services.base import ResourceService


class UserService(ResourceService[User, UserRead, UserCreate, UserUpdate, UserListParams]):
    name = "User"
    repository_class = UserRepository

    def __init__(
        self,
        repository: UserRepository,
        credentials: Credentials,
        principal: Principal | None = None,
    ) -> None:
        super().__init__(repository)
        self.users = repository
        self.credentials = credentials
        self.principal = principal
        self.refresh_tokens = RefreshTokenRepository(repository.session)

    @classmethod
    def from_session(cls, session: AsyncSession) -> Self:
        """For jobs and scripts: the hashing parameters of the process's settings."""
        return cls.from_credentials(session, Credentials.from_settings(get_settings()))

    @classmethod
    def from_credentials(cls, session: AsyncSession, credentials: Credentials) -> Self:
        return cls(UserRepository(session), credentials)

    @classmethod
    def for_principal(
        cls, session: AsyncSession, credentials: Credentials, principal: Principal
    ) -> Self:
        """The service as `principal` uses it: how routes build it (`app.api.auth`)."""
        return cls(UserRepository(session), credentials, principal)

    async def me(self) -> UserRead:
        """The caller's own record."""
        if self.principal is None:
            raise ValueError("`me` needs the service built for a principal")
        return await self.read(self.principal.user_id)

    async def create(self, data: UserCreate) -> UserRead:
        """A new user; 409 if the email is taken (in any case)."""
        password_hash = await self.credentials.passwords.hash(data.password)
        values = data.model_dump(exclude={"password"})
        entity = await self.repository.add(User(**values, password_hash=password_hash))
        await self.repository.commit()
        return self.repository.record_of(entity)

    async def update(
        self, id_: int, data: UserUpdate, expected_version: int | None = None
    ) -> UserRead:
        """Change scopes or the active flag; either ends the user's sessions, so that no token
        keeps scopes or access the user no longer has."""
        # Locked (`UserRepository.lock`): no refresh in flight keeps a session alive.
        entity = await self.users.lock(id_)
        if entity is None:
            raise self._not_found(id_)
        self._check_version(entity, expected_version)
        changes = data.model_dump()
        for field, value in changes.items():
            setattr(entity, field, value)
        if changes:
            entity.session_version += 1
            await self.refresh_tokens.revoke_all_of(entity.id, datetime.now(UTC))
        await self.repository.commit()
        return self.repository.record_of(entity)
