"""Access tokens (short-lived JWTs) and opaque tokens (refresh, reset, API keys).

An access token is checked without the database except for one thing: its `sv` claim must
equal the user's `session_version`, which logout-all, a password change or reset and
deactivation increment, revoking every access token of the user at once (the user is loaded
by primary key on each request anyway).
"""

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from uuid import uuid4

import jwt

ALGORITHM = "HS256"
# Opaque tokens carry 256 random bits; only their SHA-256 is stored.
TOKEN_BYTES = 32
# Access tokens verified once and kept, with their validity window, for their next uses.
VERIFIED_TOKENS = 4096


class InvalidTokenError(Exception):
    """The token is malformed, forged, expired or not meant for this service."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    session_version: int
    scopes: frozenset[str]


class AccessTokens:
    """Issues and checks the service's access tokens (HS256, one secret key)."""

    def __init__(
        self,
        secret_key: str,
        issuer: str,
        audience: str,
        lifetime: timedelta,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = secret_key
        self.issuer = issuer
        self.audience = audience
        self.lifetime = lifetime
        self._clock = clock
        # Checking a signature and the claims costs about 85 µs, a tenth of an authenticated
        # read, and a client sends the same token for minutes: a token verified once is kept
        # (a bounded LRU, keyed by the whole token, so a changed byte is verified anew) with
        # its validity window, which every use checks again. Refused tokens are not kept.
        self._verified = lru_cache(maxsize=VERIFIED_TOKENS)(self._verify)

    def issue(self, claims: AccessClaims, now: datetime | None = None) -> str:
        issued = now or datetime.now(UTC)
        payload = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(claims.user_id),
            "iat": issued,
            "nbf": issued,
            "exp": issued + self.lifetime,
            "jti": uuid4().hex,
            "sv": claims.session_version,
            "scope": " ".join(sorted(claims.scopes)),
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM)

    def decode(self, token: str) -> AccessClaims:
        """The claims of a valid token, else InvalidTokenError.

        One algorithm only (no `alg: none`, no RSA public key taken as an HMAC secret); every
        registered claim is required; PyJWT >= 2.12 refuses unknown `crit` headers."""
        claims, not_before, expires = self._verified(token)
        if not not_before <= self._clock() < expires:
            raise InvalidTokenError("The token has expired or is not valid yet.")
        return claims

    def _verify(self, token: str) -> tuple[AccessClaims, float, float]:
        """The claims of a token PyJWT accepts now, and its validity window (nbf, exp)."""
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["iss", "aud", "exp", "iat", "nbf", "sub", "jti"]},
            )
            claims = AccessClaims(
                user_id=int(payload["sub"]),
                session_version=_integer(payload.get("sv")),
                scopes=frozenset(str(payload.get("scope", "")).split()),
            )
            return claims, float(payload["nbf"]), float(payload["exp"])
        except (jwt.InvalidTokenError, ValueError, TypeError) as error:
            raise InvalidTokenError(str(error)) from error


def _integer(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("sv must be an integer")
    return value


def new_token(prefix: str = "") -> str:
    """An opaque, URL-safe random token."""
    return prefix + secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """What the database stores of an opaque token: SHA-256 suffices for 256 random bits
    (no salt or slow hash needed: there is nothing to guess)."""
    return hashlib.sha256(token.encode()).hexdigest()
