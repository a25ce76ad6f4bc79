"""Security defaults: CORS only for configured origins, trusted hosts, no docs in production."""

from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from pydantic import SecretStr
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from app.main import create_app
from tests.clients import client_for

ORIGIN = "https://app.example.com"


@pytest.fixture
async def configured(app: FastAPI, connection: AsyncConnection) -> Any:
    """A factory of clients for the app with some settings changed."""
    clients: list[AsyncClient] = []

    async def make(**changes: Any) -> AsyncClient:
        settings = app.state.settings.model_copy(update=changes)
        client = await client_for(create_app(settings), connection)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def test_no_cross_origin_access_by_default(client: AsyncClient) -> None:
    response = await client.get("/health/live", headers={"origin": ORIGIN})
    assert "access-control-allow-origin" not in response.headers


async def test_configured_origins_may_call_the_api(configured: Any) -> None:
    client = await configured(cors_origins=[ORIGIN])
    preflight = await client.options(
        "/health/live",
        headers={"origin": ORIGIN, "access-control-request-method": "PATCH"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    response = await client.get("/health/live", headers={"origin": ORIGIN})
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "etag" in response.headers["access-control-expose-headers"].lower()

    other = await client.get("/health/live", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


async def test_only_allowed_hosts_are_served(configured: Any) -> None:
    client = await configured(allowed_hosts=["api.example.com"])
    assert (await client.get("/health/live")).status_code == 400
    response = await client.get("/health/live", headers={"host": "api.example.com"})
    assert response.status_code == 200


async def test_api_docs_are_off_in_production(configured: Any, app: FastAPI) -> None:
    url = make_url(app.state.settings.database_url.get_secret_value())
    secure = url.set(password="a-real-secret", query={"ssl": "require"})  # noqa: S106
    client = await configured(
        environment="production",
        database_url=SecretStr(secure.render_as_string(hide_password=False)),
    )
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert (await client.get(path)).status_code == 404


async def test_api_docs_are_on_in_development(client: AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    assert (await client.get("/openapi.json")).status_code == 200
