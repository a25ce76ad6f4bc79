"""The users table, and the owner column of every owned resource."""

from sqlalchemy import ARRAY, BigInteger, ForeignKey, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Entity


class User(Entity):
    __tablename__ = "users"

    # Normalized by the schemas (app.schemas.user.normalize_email): unique whatever the case or
    # Unicode form.
    email: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)
    is_active: Mapped[bool] = mapped_column(nullable=False, server_default=text("true"))
    scopes: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default=text("'{}'")
    )
    # In every access token (`sv`); incrementing it revokes all of them at once.
    session_version: Mapped[int] = mapped_column(
        BigInteger, nullable=False, server_default=text("1")
    )


class OwnedEntity(Entity):
    """A resource whose records belong to a user: only they (and admins) see them."""

    __abstract__ = True

    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), nullable=False, index=True
    )
