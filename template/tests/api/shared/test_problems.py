"""Errors reach clients as RFC 9457 problem details, without internals."""

from httpx import AsyncClient
from pydantic import SecretStr

from app.core.config import Settings
from app.main import create_app
from tests.assertions import assert_problem
from tests.clients import http_client
from tests.factories import all_factories


async def test_an_unknown_path_is_404(client: AsyncClient) -> None:
    problem = assert_problem(await client.get("/no/such/path"), 404)
    assert problem["instance"] == "/no/such/path"


async def test_a_wrong_method_is_405_with_allow(client: AsyncClient) -> None:
    response = await client.put("/health/live")
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET"


async def test_an_unexpected_error_is_500_without_details(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("SELECT password FROM secrets")

    async with http_client(app) as client:
        response = await client.get("/boom")
    problem = assert_problem(response, 500)
    assert "SELECT" not in response.text
    assert "RuntimeError" not in response.text
    assert problem["detail"] == "An unexpected error occurred."


async def test_an_unreachable_database_is_503_and_live_stays_200(settings: Settings) -> None:
    unreachable = settings.model_copy(
        update={"database_url": SecretStr("postgresql+asyncpg://nobody@127.0.0.1:9/none")}
    )
    app = create_app(unreachable)
    async with app.router.lifespan_context(app), http_client(app) as client:
        ready = await client.get("/health/ready")
        live = await client.get("/health/live")
    assert_problem(ready, 503)
    assert ready.headers["retry-after"] == "5"
    assert "nobody" not in ready.text
    assert live.status_code == 200


async def test_a_wrong_method_lists_every_method_of_the_path(client: AsyncClient) -> None:
    path = all_factories()[0].path
    response = await client.put(path)
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET, POST"
