"""The interactive API docs (/docs, /redoc), served with their assets from this service.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so they stay blank offline or behind a
firewall. This is FastAPI's self-hosting recipe with the assets of the `fastapi-offline` package
(Swagger UI and ReDoc bundles, kept up to date there); `create_app` adds it in development only.
"""

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import Route

from app.api.access import public

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/docs/assets"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"


def add_api_docs(app: FastAPI) -> None:
    """Serve Swagger UI at /docs and ReDoc at /redoc for the app's OpenAPI document; all of
    them, and the document, are public."""
    if app.openapi_url is None:
        raise ValueError("The API docs need the OpenAPI document: set openapi_url.")
    openapi_url = app.openapi_url
    for route in app.routes:
        if isinstance(route, Route) and route.path == openapi_url:
            public(route.endpoint)
    assets = public(StaticFiles(directory=str(files("fastapi_offline") / "static")))
    app.mount(ASSETS_URL, assets, name="api-docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    @public
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = root_path(request)
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=root + OAUTH2_REDIRECT_URL,
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    @public
    async def swagger_ui_oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    @public
    async def redoc(request: Request) -> HTMLResponse:
        root = root_path(request)
        return get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )


def root_path(request: Request) -> str:
    """The prefix a proxy mounts the app under (uvicorn --root-path), as FastAPI's own pages use."""
    prefix: str = request.scope.get("root_path", "")
    return prefix.rstrip("/")
