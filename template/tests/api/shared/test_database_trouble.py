"""When the database is down, slow or saturated, the API answers 503/504 quickly, never 500 or
a hang, and recovers by itself."""

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

import pytest
from pydantic import SecretStr
from sqlalchemy import make_url, text

from app.api.deps import service
from app.core.config import Settings
from app.main import create_app
from app.services.base import Service
from tests.assertions import assert_problem
from tests.clients import running
from tests.database import time_out_statements
from tests.factories import all_factories
from tests.tcp_proxy import TcpProxy

PATH = all_factories()[0].path


class SessionHolder(Service):
    """A service of the tests' own, for routes that run SQL of their choosing."""


SessionDep = Annotated[SessionHolder, service(SessionHolder)]


@pytest.fixture
async def proxy(live_settings: Settings) -> AsyncIterator[TcpProxy]:
    database = make_url(live_settings.database_url.get_secret_value())
    proxy = TcpProxy(database.host or "127.0.0.1", database.port or 5432)
    await proxy.start()
    yield proxy
    await proxy.cut()


def through(proxy: TcpProxy, settings: Settings) -> Settings:
    url = make_url(settings.database_url.get_secret_value()).set(host="127.0.0.1", port=proxy.port)
    return settings.model_copy(
        update={
            "database_url": SecretStr(url.render_as_string(hide_password=False)),
            "db_connect_timeout_seconds": 2,
        }
    )


async def test_an_outage_gives_503_and_the_app_recovers(
    proxy: TcpProxy, live_settings: Settings
) -> None:
    async with running(create_app(through(proxy, live_settings))) as client:
        assert (await client.get(PATH)).status_code == 200

        await proxy.cut()
        for path in (PATH, "/health/ready"):
            response = await client.get(path)
            assert_problem(response, 503)
            assert response.headers["retry-after"] == "5"
        assert (await client.get("/health/live")).status_code == 200

        await proxy.restore()
        statuses = [(await client.get(PATH)).status_code for _ in range(3)]
        assert statuses[-2:] == [200, 200], statuses  # at most the first request fails


async def test_a_statement_timeout_gives_504(live_settings: Settings) -> None:
    app = create_app(await time_out_statements(live_settings, 100))

    @app.get("/slow")
    async def slow(holder: SessionDep) -> None:
        await holder.session.execute(text("SELECT pg_sleep(2)"))

    async with running(app) as client:
        problem = assert_problem(await client.get("/slow"), 504)
        assert "pg_sleep" not in problem["detail"]
        assert (await client.get(PATH)).status_code == 200


async def test_an_exhausted_pool_gives_503_after_a_bounded_wait(live_settings: Settings) -> None:
    settings = live_settings.model_copy(
        update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout_seconds": 0.2}
    )
    app = create_app(settings)
    holding, release = asyncio.Event(), asyncio.Event()

    @app.get("/hold")
    async def hold(holder: SessionDep) -> None:
        await holder.session.execute(text("SELECT 1"))  # checks out the pool's only connection
        holding.set()
        await release.wait()

    async with running(app) as client:
        held = asyncio.create_task(client.get("/hold"))
        await holding.wait()
        response = await client.get(PATH)
        assert_problem(response, 503)
        assert response.headers["retry-after"] == "5"
        release.set()
        assert (await held).status_code == 200
        assert (await client.get(PATH)).status_code == 200
