"""Dependencies shared by the routes, as `Annotated` aliases to put in route signatures."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.db.session import Database


async def app_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def database(request: Request) -> Database:
    """The app's database, connected by the lifespan (or put in place by the tests)."""
    connected: Database = request.app.state.database
    return connected


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, closed before the response is sent; services commit explicitly.

    Routes that use a service open theirs in the service's own dependency, which saves FastAPI
    a level of dependency resolution per request.
    """
    async with database(request).session() as session:
        yield session


async def require_json_body(request: Request) -> None:
    """Refuse (415) a request body that is not JSON, rather than failing to validate it."""
    if not await request.body():  # FastAPI has read and cached the body already
        return
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise HTTPException(
            status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail="Send the body as JSON, with Content-Type: application/json.",
        )


SettingsDep = Annotated[Settings, Depends(app_settings)]
# For routes with a request body: `dependencies=[JSON_BODY]`.
JSON_BODY = Depends(require_json_body)
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
