"""Queries for users."""

from sqlalchemy import select

from app.models.user import User
from app.repos.base import Repository
from app.schemas.user import UserListParams, UserRead


class UserRepository(Repository[User, UserRead, UserListParams]):
    model = User
    read_model = UserRead
    searched_columns = ("email",)

    async def by_email(self, email: str) -> User | None:
        """The user with this (lowercased) email."""
        return await self.session.scalar(select(User).where(User.email == email))
