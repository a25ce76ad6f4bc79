"""Access tokens: only well-formed, unexpired tokens this service signed, for its audience, of a
user whose sessions they have not outlived, open the API; anything else is 401 with a challenge."""

import base64
import json
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from jwt.warnings import InsecureKeyLengthWarning

from app.core.config import Settings
from app.models.user import User
from app.security.tokens import ALGORITHM, AccessClaims, AccessTokens, InvalidTokenError
from tests.assertions import assert_problem
from tests.auth.users import SECRET_KEY, access_token, add_user, bearer

# The app under test signs with SECRET_KEY and the settings' default issuer and audience.
DEFAULTS = Settings.model_fields
KEY = SECRET_KEY
ISSUER, AUDIENCE = DEFAULTS["auth_issuer"].default, DEFAULTS["auth_audience"].default
PROTECTED = "/api/v1/users/me"  # any route that needs a signed-in caller, and nothing more


def codec() -> AccessTokens:
    return AccessTokens(KEY, issuer=ISSUER, audience=AUDIENCE, lifetime=timedelta(minutes=5))


def claims(sub: str | None = "1", **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": sub,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=5),
        "jti": "j",
        "sv": 1,
        "scope": "",
    }
    return {name: value for name, value in (base | changes).items() if value is not None}


def signed(payload: dict[str, Any], **headers: Any) -> str:
    return jwt.encode(payload, KEY, algorithm=ALGORITHM, headers=headers or None)


def test_a_token_round_trips() -> None:
    tokens = codec()
    token = tokens.issue(AccessClaims(7, 3, frozenset({"admin"})))
    assert tokens.decode(token) == AccessClaims(7, 3, frozenset({"admin"}))


@pytest.mark.parametrize("moved", [timedelta(minutes=5), -timedelta(seconds=1)])
def test_a_token_verified_once_is_refused_outside_its_validity_window(moved: timedelta) -> None:
    """Verified tokens are kept for their next uses: each use still checks exp and nbf."""
    now = [time.time()]
    tokens = AccessTokens(KEY, ISSUER, AUDIENCE, timedelta(minutes=5), clock=lambda: now[0])
    token = tokens.issue(AccessClaims(7, 3, frozenset()))
    assert tokens.decode(token).user_id == 7
    now[0] += moved.total_seconds()
    with pytest.raises(InvalidTokenError):
        tokens.decode(token)


def unsigned(payload: dict[str, Any]) -> str:
    return jwt.encode(payload, None, algorithm="none")


def forged(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"sig") -> str:
    """A token with any header, as an attacker writes it (no library refuses to)."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    encoded = json.dumps(payload, default=lambda value: int(value.timestamp())).encode()
    return ".".join([part(json.dumps(header).encode()), part(encoded), part(signature)])


def with_other_algorithm(payload: dict[str, Any]) -> str:
    """`payload` signed with the service's key by HS512 (PyJWT warns that the key is short for
    it: the point is that even with the right key, only HS256 is accepted)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(payload, KEY, algorithm="HS512")


REFUSED: dict[str, Callable[[str], str]] = {
    "expired": lambda sub: signed(claims(sub, exp=datetime.now(UTC) - timedelta(seconds=1))),
    "not yet valid": lambda sub: signed(claims(sub, nbf=datetime.now(UTC) + timedelta(minutes=1))),
    "wrong issuer": lambda sub: signed(claims(sub, iss="elsewhere")),
    "wrong audience": lambda sub: signed(claims(sub, aud="other-api")),
    "no expiry": lambda sub: signed(claims(sub, exp=None)),
    "no subject": lambda sub: signed(claims(sub=None)),
    "no jti": lambda sub: signed(claims(sub, jti=None)),
    "no issued-at": lambda sub: signed(claims(sub, iat=None)),
    "non-integer session version": lambda sub: signed(claims(sub, sv="1")),
    "alg none": lambda sub: unsigned(claims(sub)),
    "other key": lambda sub: jwt.encode(claims(sub), "x" * 48, algorithm=ALGORITHM),
    "other algorithm": lambda sub: with_other_algorithm(claims(sub)),
    "algorithm confusion (RS256)": lambda sub: forged({"alg": "RS256", "typ": "JWT"}, claims(sub)),
    "ES256": lambda sub: forged({"alg": "ES256", "typ": "JWT"}, claims(sub)),
    "unknown crit header": lambda sub: signed(claims(sub), crit=["ext"], ext=1),
    "garbage": lambda _: "not.a.token",
}


@pytest.mark.parametrize("make", REFUSED.values(), ids=REFUSED.keys())
def test_the_codec_refuses(make: Callable[[str], str]) -> None:
    codec().decode(signed(claims("1")))  # the control: a good token passes
    with pytest.raises(InvalidTokenError):
        codec().decode(make("1"))


async def test_no_token_is_401_with_a_bearer_challenge(anonymous: AsyncClient) -> None:
    response = await anonymous.get(PROTECTED)
    problem = assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Bearer" in problem["detail"]


@pytest.mark.parametrize("make", REFUSED.values(), ids=REFUSED.keys())
async def test_a_bad_token_is_401_invalid_token(
    app: FastAPI, anonymous: AsyncClient, make: Callable[[str], str]
) -> None:
    user = await add_user(app, "holder@example.com")
    good = signed(claims(str(user.id)))
    assert (await anonymous.get(PROTECTED, headers=bearer(good))).status_code == 200
    response = await anonymous.get(PROTECTED, headers=bearer(make(str(user.id))))
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_a_token_of_an_old_session_version_is_refused(
    app: FastAPI, anonymous: AsyncClient
) -> None:
    user = await add_user(app, "versioned@example.com")
    token = access_token(app, user)
    assert (await anonymous.get(PROTECTED, headers=bearer(token))).status_code == 200
    async with app.state.database.session() as session:
        stored = await session.get_one(User, user.id)
        stored.session_version += 1
        await session.commit()
    response = await anonymous.get(PROTECTED, headers=bearer(token))
    assert_problem(response, 401)


async def test_a_token_of_a_deactivated_or_deleted_user_is_refused(
    app: FastAPI, anonymous: AsyncClient
) -> None:
    inactive = await add_user(app, "inactive@example.com", active=False)
    assert_problem(await anonymous.get(PROTECTED, headers=bearer(access_token(app, inactive))), 401)
    ghost = AccessClaims(10**12, 1, frozenset())
    token = app.state.credentials.access_tokens.issue(ghost)
    assert_problem(await anonymous.get(PROTECTED, headers=bearer(token)), 401)


async def test_scopes_in_a_token_beyond_the_users_own_are_ignored(
    app: FastAPI, anonymous: AsyncClient
) -> None:
    user = await add_user(app, "plain@example.com")
    forged_scopes = AccessClaims(user.id, user.session_version, frozenset({"admin"}))
    token = app.state.credentials.access_tokens.issue(forged_scopes)
    response = await anonymous.get("/api/v1/users", headers=bearer(token))
    assert_problem(response, 403)


async def test_the_openapi_document_declares_the_password_flow(client: AsyncClient) -> None:
    schemes = (await client.get("/openapi.json")).json()["components"]["securitySchemes"]
    flow = schemes["OAuth2PasswordBearer"]["flows"]["password"]
    assert flow["tokenUrl"] == "/api/v1/auth/token"
    assert "admin" in flow["scopes"]
