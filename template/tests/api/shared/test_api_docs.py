"""The API docs pages load every asset from this service: they work offline (app/api/docs.py)."""

import re

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from app.main import create_app
from tests.clients import http_client

ASSET = re.compile(r"""(?:src|href|spec-url)=["']([^"']+)["']|url:\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_their_assets_from_the_service(
    client: AsyncClient, page: str
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    urls = [first or second for first, second in ASSET.findall(response.text)]
    assert "/openapi.json" in urls
    assert len(urls) >= 3, urls  # the script, the favicon and the document, at least
    for url in urls:
        assert re.match(r"/[^/]", url), f"{page} loads {url} from elsewhere"
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].split(";")[0] in {
            "application/javascript",
            "text/javascript",
            "text/css",
            "image/png",
            "application/json",
        }, url


async def test_docs_assets_are_not_served_in_production(app: FastAPI) -> None:
    production = app.state.settings.model_copy(update={"environment": "production"})
    async with http_client(create_app(production)) as client:
        for path in ("/docs/assets/swagger-ui-bundle.js", "/docs/oauth2-redirect"):
            assert (await client.get(path)).status_code == 404
