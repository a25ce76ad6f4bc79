"""Request and response bodies of the users API."""

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import MISSING, Field, StringConstraints

from app.schemas.base import InputModel, Record
from app.schemas.pagination import ListParams, Page
from app.security.principal import SCOPES, Scope

MAX_EMAIL_LENGTH = 254

# Stored lowercased: emails are unique whatever their case. The pattern spells its characters
# out: `\s` means other characters to JavaScript (the OpenAPI document's regex dialect) than here.
Email = Annotated[
    str,
    StringConstraints(
        to_lower=True,
        min_length=3,
        max_length=MAX_EMAIL_LENGTH,
        pattern=r"^[^@ \t\n\r\f\v\x00]+@[^@ \t\n\r\f\v\x00]+$",
    ),
]
# NIST SP 800-63B: at least 8 characters, any characters, no composition rules; the upper limit
# bounds the hashing work a request can ask for.
Password = Annotated[str, Field(min_length=8, max_length=256, pattern=r"^[^\x00]*$")]


class UserCreate(InputModel):
    email: Email
    password: Password
    scopes: list[Scope] = Field(default=[], max_length=len(SCOPES))
    is_active: bool = True


class UserUpdate(InputModel):
    """What an admin may change; the user changes their password themselves."""

    scopes: list[Scope] | MISSING = Field(default=MISSING, max_length=len(SCOPES))
    is_active: bool | MISSING = MISSING


class UserRead(Record):
    email: str
    is_active: bool
    scopes: list[str]
    version: int
    created_at: datetime
    updated_at: datetime


class UserListParams(ListParams):
    sort_fields: ClassVar[dict[str, type]] = {
        "id": int,
        "email": str,
        "created_at": datetime,
    }


UserPage = Page[UserRead]
