"""Request and response bodies of the API keys endpoints."""

from datetime import datetime
from typing import Annotated

from pydantic import Field

from app.schemas.base import JSON_INTEGER, NO_NUL, InputModel, OutputModel, Record
from app.security.principal import SCOPES, Scope

KeyName = Annotated[str, Field(min_length=1, max_length=100, pattern=NO_NUL)]
ExpiryDays = Annotated[int, Field(strict=False, ge=1, le=3650), JSON_INTEGER]


class ApiKeyCreate(InputModel):
    name: KeyName = Field(description="What the key is for, to tell keys apart.")
    password: str = Field(
        max_length=256, description="The caller's password, asked again to create a key."
    )
    scopes: list[Scope] = Field(
        default=[], max_length=len(SCOPES), description="At most the scopes the caller holds."
    )
    expires_in_days: ExpiryDays | None = Field(
        default=None,
        description="Days until the key stops working, at most API_KEY_MAX_DAYS (a longer "
        "ask is shortened to it); null: API_KEY_DEFAULT_DAYS.",
    )


class ApiKeyRead(Record):
    name: str
    prefix: str = Field(description="The key's first characters, to recognize it.")
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The key itself, shown this once: store it now.")


class ApiKeyList(OutputModel):
    items: list[ApiKeyRead]
