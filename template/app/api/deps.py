"""Dependencies shared by the routes.

The one way a route gets its service: `Annotated[TaskService, service(TaskService)]` (with auth,
`service` of app.api.auth, which authenticates the caller first). The dependency opens the
request's session, builds the service for the caller with `TaskService.for_caller` (the one
constructor, which jobs and scripts use too) and closes the session before the response is sent.
Services commit explicitly; nothing is committed after `yield`.
"""

from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, params, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.db.session import Database
from app.services.base import Caller, Service

ANONYMOUS = Caller()


async def app_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    """The app's database, connected by the lifespan (or put in place by the tests)."""
    database: Database = request.app.state.database
    return database


def service(service_class: type[Service], *more_classes: type[Service]) -> params.Depends:
    """`Depends` on `service_class` built for an anonymous caller on a session of the request's
    own; with more classes, on a tuple of them all, on that one session (one connection, not
    one each: a nested list's service and its parent's, `GET /customers/{customer_id}/orders`).

    One dependency, not a service dependency on a session dependency: each level of dependency
    resolution costs CPU on every request (docs/template/performance.md).
    """
    classes = (service_class, *more_classes)

    async def provide(request: Request) -> AsyncIterator[Any]:
        async with get_database(request).session() as session:
            yield built(classes, session, ANONYMOUS)

    provide.__name__ = f"provide_{named(classes)}"
    return params.Depends(provide, scope="function")


def built(classes: Sequence[type[Service]], session: AsyncSession, caller: Caller) -> Any:
    """Each of `classes` for `caller` on `session`: the one service, or a tuple of them."""
    if len(classes) == 1:
        return classes[0].for_caller(session, caller)
    return tuple(service_class.for_caller(session, caller) for service_class in classes)


def named(classes: Sequence[type[Service]]) -> str:
    return "_".join(service_class.__name__ for service_class in classes)


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
