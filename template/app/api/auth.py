"""How routes learn who calls them: bearer tokens, scopes, and services built for the caller.

`Annotated[TaskService, owned_service(TaskService)]` authenticates the request and builds the
service for its principal, on one session (one dependency: each level of dependencies costs CPU
on every request). A missing or bad token is 401 with `WWW-Authenticate: Bearer`, a missing
scope 403, both as problem details (app.api.problems).
"""

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Protocol, Self

from fastapi import Depends, Request, params
from fastapi.security import OAuth2PasswordBearer, SecurityScopes
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import SessionService, get_database
from app.core.errors import AuthenticationError, PermissionDeniedError
from app.security.credentials import Credentials
from app.security.principal import SCOPES, Principal
from app.services.auth import AuthService
from app.services.user import UserService

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105  (a path, not a secret)
# Declares the OAuth2 password flow in the OpenAPI document (Swagger UI's Authorize button);
# auto_error=False: a missing token is answered below, as a problem with a challenge.
bearer_token = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, scopes=SCOPES, auto_error=False)
Token = Annotated[str | None, Depends(bearer_token)]


class PrincipalService(Protocol):
    """A service built for the request's principal (`OwnedResourceService` subclasses)."""

    @classmethod
    def for_principal(cls, session: AsyncSession, principal: Principal) -> Self: ...


def get_credentials(request: Request) -> Credentials:
    """The app's password hasher and token codec (built in `app.main.create_app`)."""
    credentials: Credentials = request.app.state.credentials
    return credentials


async def authenticate(
    session: AsyncSession, request: Request, token: str | None, required: SecurityScopes
) -> Principal:
    """The principal of the request's bearer token, holding every `required` scope."""
    if token is None:
        raise AuthenticationError("Sign in first: send `Authorization: Bearer <access token>`.")
    principal = await AuthService(session, get_credentials(request)).principal_of(token)
    if missing := set(required.scopes) - principal.scopes:
        raise PermissionDeniedError(f"This needs the scope(s): {', '.join(sorted(missing))}.")
    return principal


def for_caller[ServiceT](
    build: Callable[[AsyncSession, Request, Principal], ServiceT],
    scopes: tuple[str, ...] = (),
    name: str = "service",
) -> params.Depends:
    """`Depends` on what `build` makes for the authenticated caller (holding `scopes`), on a
    session of the request's own."""

    async def provide(
        request: Request, token: Token, required: SecurityScopes
    ) -> AsyncIterator[ServiceT]:
        async with get_database(request).session() as session:
            principal = await authenticate(session, request, token, required)
            yield build(session, request, principal)

    provide.__name__ = f"provide_{name}"
    return params.Security(provide, scope="function", scopes=list(scopes))


def owned_service[ServiceT: PrincipalService](service_class: type[ServiceT]) -> params.Depends:
    """`service_class` (owned records) built for the caller: it sees the caller's records."""
    return for_caller(
        lambda session, _, principal: service_class.for_principal(session, principal),
        name=service_class.__name__,
    )


def authenticated_service[ServiceT: SessionService](
    service_class: type[ServiceT], scopes: tuple[str, ...] = ()
) -> params.Depends:
    """`service_class` (records without owners), for callers holding `scopes`."""
    return for_caller(
        lambda session, _, __: service_class.from_session(session),
        scopes,
        name=service_class.__name__,
    )


def user_service(*scopes: str) -> params.Depends:
    """The users service for the caller, who holds `scopes`."""
    return for_caller(
        lambda session, request, principal: UserService.for_principal(
            session, get_credentials(request), principal
        ),
        scopes,
        name="UserService",
    )


async def anonymous_auth_service(request: Request) -> AsyncIterator[AuthService]:
    """The sign-in service for a caller without an access token."""
    async with get_database(request).session() as session:
        yield AuthService(session, get_credentials(request))


AnonymousAuth = Annotated[AuthService, Depends(anonymous_auth_service, scope="function")]
SignedInAuth = Annotated[
    AuthService,
    for_caller(
        lambda session, request, principal: AuthService(
            session, get_credentials(request), principal
        ),
        name="AuthService",
    ),
]
