"""API keys: a signed-in user creates keys that act for them (with scopes they hold) until
revoked or expired; a request sends one as its bearer token (docs/auth.md)."""

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from app.models.api_key import ApiKey
from app.repos.api_key import ApiKeyRepository
from app.repos.user import UserRepository
from app.schemas.api_key import ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyRead
from app.security.principal import Principal
from app.security.tokens import new_token, token_digest

# Every key starts with this, so that a request's bearer token says which kind it is.
API_KEY_PREFIX = "ak_"
# Characters of a key kept in clear (the prefix and 7 random ones): enough to recognize it.
SHOWN_CHARACTERS = 10
MAX_KEYS_PER_USER = 50
INVALID_API_KEY = "The API key is invalid, expired or revoked."


def is_api_key(token: str) -> bool:
    return token.startswith(API_KEY_PREFIX)


class ApiKeyService:
    def __init__(self, session: AsyncSession, principal: Principal | None = None) -> None:
        self.session = session
        self.principal = principal
        self.keys = ApiKeyRepository(session)

    async def principal_of(self, key: str) -> Principal:
        """Who a live key of an active user acts for, with its scopes (within the user's)."""
        live = await self.keys.live(token_digest(key), datetime.now(UTC))
        if live is None:
            raise AuthenticationError(INVALID_API_KEY, token_sent=True)
        return Principal(live.user_id, live.scopes, api_key_id=live.key_id)

    async def create(self, data: ApiKeyCreate) -> ApiKeyCreated:
        """A new key of the caller; the key itself is in the answer only."""
        caller = self._caller()
        if caller.api_key_id is not None:
            raise PermissionDeniedError("An API key cannot create API keys: sign in first.")
        if beyond := set(data.scopes) - caller.scopes:
            raise PermissionDeniedError(
                f"You do not hold the scope(s): {', '.join(sorted(beyond))}."
            )
        # The user's row lock makes parallel creations count one after the other.
        await UserRepository(self.session).lock(caller.user_id)
        if await self.keys.count_unrevoked(caller.user_id) >= MAX_KEYS_PER_USER:
            raise ConflictError(f"You have {MAX_KEYS_PER_USER} API keys: revoke one first.")
        key = new_token(API_KEY_PREFIX)
        expires_at = None
        if data.expires_in_days is not None:
            expires_at = datetime.now(UTC) + timedelta(days=data.expires_in_days)
        entity = await self.keys.add(
            ApiKey(
                user_id=caller.user_id,
                name=data.name,
                prefix=key[:SHOWN_CHARACTERS],
                key_hash=token_digest(key),
                scopes=sorted(set(data.scopes)),
                expires_at=expires_at,
            )
        )
        await self.session.commit()
        return ApiKeyCreated(**ApiKeyRead.model_validate(entity).model_dump(), key=key)

    async def list(self) -> ApiKeyList:
        """The caller's keys that are not revoked, oldest first (never the keys themselves)."""
        keys = await self.keys.unrevoked_of(self._caller().user_id)
        return ApiKeyList(items=[ApiKeyRead.model_validate(key) for key in keys])

    async def revoke(self, key_id: int) -> None:
        """Revoke one of the caller's keys (another user's key is as unknown as a missing one)."""
        if not await self.keys.revoke(self._caller().user_id, key_id, datetime.now(UTC)):
            raise NotFoundError(f"You have no API key {key_id}.")
        await self.session.commit()

    def _caller(self) -> Principal:
        if self.principal is None:
            raise AuthenticationError("Sign in first.")
        return self.principal
