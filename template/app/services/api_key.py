"""API keys: a signed-in user creates keys that act for them (with scopes they hold) until
revoked or expired; a request sends one as its bearer token (docs/auth.md).

Creating one asks for the user's password again: an access token alone (15 minutes) must not
become a credential that lasts. Every key expires: API_KEY_DEFAULT_DAYS unless asked otherwise,
never later than API_KEY_MAX_DAYS after its creation (a longer ask is shortened; checked at
each use too, so lowering the setting shortens existing keys).
"""

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
from app.schemas.api_key import ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyRead
from app.security.credentials import Credentials
from app.security.principal import Principal
from app.security.tokens import new_token, token_digest
from app.services.auth import AuthService

# Every key starts with this, so that a request's bearer token says which kind it is.
API_KEY_PREFIX = "ak_"
# Characters of a key kept in clear (the prefix and 7 random ones): enough to recognize it.
SHOWN_CHARACTERS = 10
MAX_KEYS_PER_USER = 50
INVALID_API_KEY = "The API key is invalid, expired or revoked."


def is_api_key(token: str) -> bool:
    return token.startswith(API_KEY_PREFIX)


class ApiKeyService:
    def __init__(
        self, session: AsyncSession, credentials: Credentials, principal: Principal | None = None
    ) -> None:
        self.session = session
        self.credentials = credentials
        self.principal = principal
        self.keys = ApiKeyRepository(session)

    async def principal_of(self, key: str) -> Principal:
        """Who a live key of an active user acts for, with its scopes (within the user's)."""
        now = datetime.now(UTC)
        live = await self.keys.live(
            token_digest(key), now, created_after=now - self.credentials.api_key_max_lifetime
        )
        if live is None:
            raise AuthenticationError(INVALID_API_KEY, token_sent=True)
        return Principal(live.user_id, live.scopes, api_key_id=live.key_id)

    async def create(self, data: ApiKeyCreate) -> ApiKeyCreated:
        """A new key of the caller, who gave their password again; the key itself is in the
        answer only."""
        caller = self._caller()
        if caller.api_key_id is not None:
            raise PermissionDeniedError("An API key cannot create API keys: sign in first.")
        lifetime = self._lifetime(data.expires_in_days)
        # Locks the user's row until the commit: concurrent creations take turns (the cap holds).
        await AuthService(self.session, self.credentials, caller).confirm_password(data.password)
        if beyond := set(data.scopes) - caller.scopes:
            raise PermissionDeniedError(
                f"You do not hold the scope(s): {', '.join(sorted(beyond))}."
            )
        if await self.keys.count_unrevoked(caller.user_id) >= MAX_KEYS_PER_USER:
            raise ConflictError(f"You have {MAX_KEYS_PER_USER} API keys: revoke one first.")
        key = new_token(API_KEY_PREFIX)
        expires_at = datetime.now(UTC) + lifetime
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

    def _lifetime(self, days: int | None) -> timedelta:
        """How long a new key lives: `days`, or the default; never beyond the maximum (a longer
        ask is shortened to it: the answer's `expires_at` says when the key ends)."""
        if days is None:
            return self.credentials.api_key_default_lifetime
        return min(timedelta(days=days), self.credentials.api_key_max_lifetime)

    def _caller(self) -> Principal:
        if self.principal is None:
            raise AuthenticationError("Sign in first.")
        return self.principal
