"""Dependencies shared by the routes.

The one way a route gets a service: `Annotated[TaskService, service_dependency(TaskService)]`. The
dependency opens the request's session, builds the service with `from_session` (the same
constructor jobs and scripts use) and closes the session before the response is sent. Services
commit explicitly; nothing is committed after `yield`.
"""

from collections.abc import AsyncIterator
from typing import Annotated, Protocol, Self

from fastapi import Depends, HTTPException, Request, params, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.db.session import Database


class SessionService(Protocol):
    """Anything built from a session: `ResourceService` subclasses, `HealthService`, ..."""

    @classmethod
    def from_session(cls, session: AsyncSession) -> Self: ...


async def app_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    """The app's database, connected by the lifespan (or put in place by the tests)."""
    database: Database = request.app.state.database
    return database


def service_dependency[ServiceT: SessionService](service_class: type[ServiceT]) -> params.Depends:
    """`Depends` on `service_class` built on a session of the request's own.

    One dependency, not a service dependency on a session dependency: each level of dependency
    resolution costs CPU on every request (docs/template/performance.md). When a service has
    owners, this is where the request's principal is read and passed to `from_session`.
    """

    async def provide(request: Request) -> AsyncIterator[ServiceT]:
        async with get_database(request).session() as session:
            yield service_class.from_session(session)

    provide.__name__ = f"provide_{service_class.__name__}"
    return params.Depends(provide, scope="function")


def services_dependency[ServiceT: SessionService, ParentT: SessionService](
    service_class: type[ServiceT], parent_class: type[ParentT]
) -> params.Depends:
    """`Depends` on the two services of a nested list, built on one session of the request's own
    (one connection, not two): `service_class`, whose records it lists, and `parent_class`, which
    shows the record they refer to (`GET /customers/{customer_id}/orders`: `OrderService` and
    `CustomerService`)."""

    async def provide(request: Request) -> AsyncIterator[tuple[ServiceT, ParentT]]:
        async with get_database(request).session() as session:
            yield service_class.from_session(session), parent_class.from_session(session)

    provide.__name__ = f"provide_{service_class.__name__}_{parent_class.__name__}"
    return params.Depends(provide, scope="function")


async def require_json_body(request: Request) -> None:
    """Refuse (415) a request body that is not JSON, rather than failing to validate it.

    For routes with a request body: `dependencies=[Depends(require_json_body)]`.
    """
    if not await request.body():  # FastAPI has read and cached the body already
        return
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise HTTPException(
            status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail="Send the body as JSON, with Content-Type: application/json.",
        )


SettingsDep = Annotated[Settings, Depends(app_settings)]
