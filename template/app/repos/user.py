"""Queries for users."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, select

from app.db.direct import fetch_rows
from app.models.user import User
from app.repos.base import Repository
from app.schemas.user import UserListParams, UserRead


@dataclass(frozen=True, slots=True)
class UserAccess:
    """What deciding a request's access needs of its user: checked on every request."""

    is_active: bool
    session_version: int
    scopes: frozenset[str]


class UserRepository(Repository[User, UserRead, UserListParams]):
    model = User
    read_model = UserRead
    searched_columns = ("email",)

    async def by_email(self, email: str) -> User | None:
        """The user with this email (normalized: `app.schemas.user.normalize_email`)."""
        return await self.session.scalar(select(User).where(User.email == email))

    async def lock(self, user_id: int) -> User | None:
        """The user, read afresh with their row locked until the transaction ends.

        Whatever starts or ends a user's sessions takes this lock first (SELECT ... FOR NO KEY
        UPDATE, the lock an UPDATE of the row takes, so that inserting the user's records is not
        held up): a refresh and a logout-all (or a password change, a reset, a deactivation)
        then run one after the other, and the revoking UPDATE sees every token the refresh
        issued. Without it, the UPDATE waits for the refresh's row lock on the used token, then
        misses the new token, which stays alive.
        """
        query = select(User).where(User.id == user_id).with_for_update(key_share=True)
        return await self.session.scalar(query.execution_options(populate_existing=True))

    async def access(self, user_id: int) -> UserAccess | None:
        """The user's access state: one statement of three columns (app/db/direct.py), not an
        ORM load, since every authenticated request reads it."""

        def build() -> Select[Any]:
            columns: tuple[Any, ...] = (User.is_active, User.session_version, User.scopes)
            return select(*columns).where(User.id == bindparam("id"))

        rows = await fetch_rows(self.session, (UserRepository, "access"), build, {"id": user_id})
        if not rows:
            return None
        row = rows[0]
        return UserAccess(row["is_active"], row["session_version"], frozenset(row["scopes"]))
