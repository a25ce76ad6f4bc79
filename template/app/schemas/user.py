"""Request and response bodies of the users API."""

import unicodedata
from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import MISSING, AfterValidator, Field, StringConstraints

from app.schemas.base import InputModel, Record
from app.schemas.pagination import ListParams, Page
from app.security.principal import SCOPES, Scope

MAX_EMAIL_LENGTH = 254
# What an address cannot hold, spelled out (`\s` means other characters to JavaScript, the
# OpenAPI document's regex dialect, than here): an `@` but the one, whitespace, NUL, and the
# invisible characters that would make two addresses look alike (soft hyphen, zero-width and
# direction marks, word joiners, byte order mark). Spaces around it are trimmed.
NOT_IN_EMAIL = r"@ \t\n\r\f\v\x00\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff"
AROUND_EMAIL = r"[ \t\n\r\f\v]*"
EMAIL_PATTERN = rf"^{AROUND_EMAIL}[^{NOT_IN_EMAIL}]+@[^{NOT_IN_EMAIL}]+{AROUND_EMAIL}$"


def normalize_email(value: str) -> str:
    """An email as accounts are stored and looked up by (sign-up, sign-in, resets, admins and
    `tools.create_user`): Unicode NFKC (a full-width letter is the letter, a no-break space a
    space), trimmed of Unicode whitespace, lowercased, so that one address is one account."""
    return unicodedata.normalize("NFKC", value).strip().lower()


# Checked as sent (the OpenAPI document's limits), then normalized (`normalize_email`): emails
# are unique whatever their case or Unicode form.
Email = Annotated[
    str,
    StringConstraints(min_length=3, max_length=MAX_EMAIL_LENGTH, pattern=EMAIL_PATTERN),
    AfterValidator(normalize_email),
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
