"""Request and response bodies of the auth endpoints."""

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from app.schemas.base import InputModel
from app.schemas.user import Email, Password

# Opaque tokens are 43 URL-safe characters; the bound refuses absurd input before any lookup.
OpaqueToken = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_\-]+$")]


class TokenPair(BaseModel):
    """The OAuth 2.0 token response (RFC 6749 section 5.1), with the refresh token's lifetime."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105  (a token kind, not a secret)
    expires_in: int = Field(description="Seconds the access token stays valid.")
    refresh_token: str
    refresh_expires_in: int = Field(description="Seconds the refresh token stays valid.")


class RefreshRequest(InputModel):
    refresh_token: OpaqueToken


class PasswordChange(InputModel):
    current_password: Annotated[str, Field(max_length=256)]
    new_password: Password


class ResetRequest(InputModel):
    email: Email


class ResetConfirm(InputModel):
    token: OpaqueToken
    new_password: Password


class Registration(InputModel):
    email: Email
    password: Password
