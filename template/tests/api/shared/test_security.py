"""Security defaults: CORS only for configured origins, trusted hosts, no docs in production, the
security headers on every answer, no redirect built from the Host header."""

from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from pydantic import SecretStr
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from app.main import create_app
from tests.clients import client_for
from tests.factories import all_factories

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
    refused = await client.get("/openapi.json", headers={"host": "evil.example"})
    assert refused.status_code == 400
    assert "location" not in refused.headers
    response = await client.get("/openapi.json", headers={"host": "api.example.com"})
    assert response.status_code == 200
    # Probes name the pod's address: /health/... answers any host.
    assert (await client.get("/health/live", headers={"host": "10.1.2.3:8000"})).status_code == 200


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


async def test_every_answer_carries_the_security_headers(client: AsyncClient) -> None:
    for path in ("/health/live", "/docs", "/openapi.json", "/no/such/path"):
        response = await client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["referrer-policy"] == "no-referrer", path
        assert response.headers["content-security-policy"] == "frame-ancestors 'none'", path
        assert response.headers["x-frame-options"] == "DENY", path
        assert "strict-transport-security" not in response.headers, path  # not in development


async def test_production_answers_demand_https(configured: Any) -> None:
    client = await configured(environment="production", allowed_hosts=["test"])
    response = await client.get("/health/live")
    assert response.headers["strict-transport-security"].startswith("max-age=63072000")


async def test_no_redirect_is_built_from_the_host_header(client: AsyncClient) -> None:
    """`/path/` is not redirected to `/path`: the Location would name the request's Host."""
    for path in ("/health/live/", f"{all_factories()[0].path}/"):
        response = await client.get(path, headers={"host": "evil.example"})
        assert response.status_code == 404, path
        assert "location" not in response.headers, path
