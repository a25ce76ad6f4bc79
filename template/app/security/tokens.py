"""Access tokens (short-lived JWTs) and opaque tokens (refresh, reset, API keys).

An access token is checked without the database except for one thing: its `sv` claim must
equal the user's `session_version`, which logout-all, a password change or reset and
deactivation increment, revoking every access token of the user at once (the user is loaded
by primary key on each request anyway).
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import jwt

ALGORITHM = "HS256"
# Opaque tokens carry 256 random bits; only their SHA-256 is stored.
TOKEN_BYTES = 32


class InvalidTokenError(Exception):
    """The token is malformed, forged, expired or not meant for this service."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    session_version: int
    scopes: frozenset[str]


class AccessTokens:
    """Issues and checks the service's access tokens (HS256, one secret key)."""

    def __init__(self, secret_key: str, issuer: str, audience: str, lifetime: timedelta) -> None:
        self._key = secret_key
        self.issuer = issuer
        self.audience = audience
        self.lifetime = lifetime

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
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["iss", "aud", "exp", "iat", "nbf", "sub", "jti"]},
            )
            return AccessClaims(
                user_id=int(payload["sub"]),
                session_version=_integer(payload.get("sv")),
                scopes=frozenset(str(payload.get("scope", "")).split()),
            )
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
