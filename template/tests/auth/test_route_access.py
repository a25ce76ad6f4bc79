"""Every route needs a signed-in caller unless its endpoint is marked `@public`, however it was
written (a route of a resource added before auth, which authenticates nobody, included); every
answer to a signed-in caller is `Cache-Control: no-store`."""

import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.types import Receive, Scope, Send

from app.api.access import is_public, public
from app.api.auth import signed_in_by_default
from app.api.deps import service
from app.api.problems import problem_handlers
from app.services.health import HealthService
from tests.assertions import assert_problem
from tests.auth.users import access_token, add_user, bearer
from tests.clients import client_for, in_test_transaction

# The routes anyone may call, and nothing else: a new public route is a decision made here too.
PUBLIC_ROUTES = {
    "GET /health/live",
    "GET /health/ready",
    "GET /openapi.json",
    "GET /docs",
    "GET /docs/oauth2-redirect",
    "GET /redoc",
    "GET /docs/assets/swagger-ui.css",
    "POST /api/v1/auth/token",
    "POST /api/v1/auth/refresh",
    "POST /api/v1/auth/logout",
    "POST /api/v1/auth/password-reset",
    "POST /api/v1/auth/password-reset/confirm",
    "POST /api/v1/auth/register",
    "POST /api/v1/invitations/sign-up",  # with tenancy: the emailed token proves the mailbox
}


class EndpointRecorder:
    """The app, remembering which endpoint (route function or mounted app) answered: routing
    puts it in the request's scope."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.endpoint: object = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.endpoint = None
        await self.app(scope, receive, send)
        self.endpoint = scope.get("endpoint")


def every_operation(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path with its parameters filled in) of every operation of the OpenAPI document,
    and of every route left out of it (the docs pages, the document itself, the docs assets)."""
    spec = app.openapi()
    operations = [
        (method.upper(), re.sub(r"\{[^}]+\}", "1", path))
        for path, item in spec["paths"].items()
        for method in item
    ]
    documented = {path for _, path in operations}
    for route in app.routes:
        path = getattr(route, "path", None)
        methods = getattr(route, "methods", None) or {"GET"}
        if path and "{" not in path and path not in documented:
            if not hasattr(route, "methods"):  # a mounted app: one of its files
                path = f"{path}/swagger-ui.css"
            operations += [(method, path) for method in methods if method != "HEAD"]
    return sorted(operations)


@pytest.fixture
async def recorded(
    app: FastAPI, connection: AsyncConnection
) -> AsyncIterator[tuple[AsyncClient, EndpointRecorder]]:
    """An anonymous client of the app, and what answered its last request."""
    app.state.database = in_test_transaction(connection)
    recorder = EndpointRecorder(app)
    transport = ASGITransport(app=recorder, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, recorder


async def test_every_route_needs_a_signed_in_caller_unless_marked_public(
    app: FastAPI, recorded: tuple[AsyncClient, EndpointRecorder]
) -> None:
    client, recorder = recorded
    operations = every_operation(app)
    assert len(operations) > len(PUBLIC_ROUTES)
    public_routes, refused = set(), []
    for method, path in operations:
        response = await client.request(method, path, json={})
        assert recorder.endpoint is not None, f"{method} {path}: no route answered"
        if is_public(recorder.endpoint):
            public_routes.add(f"{method} {path}")
        elif response.status_code != 401:
            refused.append(f"{method} {path}: {response.status_code}")
    assert refused == [], "answered an anonymous caller without being marked public"
    assert public_routes <= PUBLIC_ROUTES


def legacy_router() -> APIRouter:
    """Routes written the way a resource added before auth writes them: nobody is asked who
    they are."""
    router = APIRouter(prefix="/legacy")

    @router.get("")
    async def read(health: Annotated[HealthService, service(HealthService)]) -> str:
        await health.check_database()
        return "data"

    @router.post("/{item_id}")
    async def change(item_id: int, body: dict[str, Any]) -> int:
        return item_id

    @router.get("/open")
    @public
    async def open_to_all() -> str:
        return "open"

    nested = APIRouter(prefix="/nested")  # a router of its own, included in this one

    @nested.get("")
    async def nested_read() -> str:
        return "nested"

    router.include_router(nested)
    return router


async def test_routes_that_authenticate_nobody_get_the_check(
    app: FastAPI, connection: AsyncConnection
) -> None:
    legacy = FastAPI(exception_handlers=problem_handlers())
    legacy.state.credentials = app.state.credentials
    legacy.include_router(signed_in_by_default(legacy_router()))
    async with await client_for(legacy, connection, signed_in=False) as client:
        user = await add_user(legacy, "legacy@example.com")
        assert_problem(await client.get("/legacy"), 401)
        assert_problem(await client.post("/legacy/7", json={}), 401)
        assert_problem(await client.get("/legacy/nested"), 401)
        assert (await client.get("/legacy/open")).status_code == 200
        signed_in = bearer(access_token(legacy, user))
        read = await client.get("/legacy", headers=signed_in)
        assert (read.status_code, read.json()) == (200, "data")
        assert read.headers["cache-control"] == "no-store"
        assert (await client.post("/legacy/7", json={}, headers=signed_in)).json() == 7
        assert (await client.get("/legacy/nested", headers=signed_in)).json() == "nested"


async def test_answers_to_a_signed_in_caller_are_not_stored(
    app: FastAPI, client: AsyncClient
) -> None:
    """Every GET of the API a signed-in user may call answers `no-store`: a user's data stays
    out of shared and browser caches."""
    paths = [
        path
        for method, path in every_operation(app)
        if method == "GET" and path.startswith("/api/") and f"{method} {path}" not in PUBLIC_ROUTES
    ]
    answered = []
    for path in paths:
        response = await client.get(path)
        if response.status_code == 200:
            assert response.headers.get("cache-control") == "no-store", path
            answered.append(path)
    assert "/api/v1/users/me" in answered
