"""The API through a real PgBouncer in transaction pooling mode (DB_PGBOUNCER=true), under load.

Many concurrent requests share PgBouncer's two server connections, so consecutive transactions
of one app connection run on different server sessions: what breaks prepared statements.
"""

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from httpx import AsyncClient
from sqlalchemy import make_url

from app.core.config import Settings
from app.main import create_app
from tests.clients import running
from tests.database import DatabaseServer
from tests.factories import ResourceFactory, all_factories
from tests.pgbouncer import (
    INSTALL_HINT,
    PgBouncer,
    find_pgbouncer,
    suite_through_pgbouncer,
    through,
)

CONCURRENT = 40


@pytest.fixture
def pgbouncer(database_server: DatabaseServer, live_settings: Settings) -> Iterator[PgBouncer]:
    """A PgBouncer per test, started after the test's database is created and stopped before it
    is dropped: DROP DATABASE ... WITH (FORCE) kills the pooled server connections, and a login
    PgBouncer attempted meanwhile would fail every client for server_login_retry (15 s)."""
    binary = find_pgbouncer()
    if binary is None:
        pytest.skip(INSTALL_HINT)
    with PgBouncer(
        binary, database_server.admin_url, live_settings.database_url.get_secret_value()
    ) as bouncer:
        yield bouncer


@pytest.fixture
async def client(pgbouncer: PgBouncer, live_settings: Settings) -> AsyncIterator[AsyncClient]:
    async with running(create_app(through(pgbouncer.port, live_settings))) as client:
        yield client


async def crud_under_load(client: AsyncClient, factory: ResourceFactory) -> None:
    """Create, read, change, page through and delete CONCURRENT records, all at once."""
    bodies = [await factory.build(client, i) for i in range(CONCURRENT)]
    created = await asyncio.gather(*(client.post(factory.path, json=body) for body in bodies))
    assert [response.status_code for response in created] == [201] * CONCURRENT, created[0].text
    urls = [response.headers["location"] for response in created]

    read = await asyncio.gather(*(client.get(url) for url in urls))
    assert [response.json() for response in read] == [response.json() for response in created]

    changes = [await factory.build(client, CONCURRENT + i) for i in range(CONCURRENT)]
    patched = await asyncio.gather(
        *(
            client.patch(url, json=change, headers={"if-match": '"1"'})
            for url, change in zip(urls, changes, strict=True)
        )
    )
    assert [response.headers.get("etag") for response in patched] == ['"2"'] * CONCURRENT

    seen, cursor = [], None
    while True:
        params = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(factory.path, params=params)).json()
        seen += [item["id"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert sorted(seen) == sorted(response.json()["id"] for response in created)

    deleted = await asyncio.gather(
        *(client.delete(url, headers={"if-match": '"2"'}) for url in urls)
    )
    assert [response.status_code for response in deleted] == [204] * CONCURRENT


def test_the_suite_connects_as_test_through_pgbouncer_asks(
    database_server: DatabaseServer, settings: Settings
) -> None:
    """TEST_THROUGH_PGBOUNCER=1 puts every test's app behind the suite's PgBouncer; otherwise it
    connects to the server itself (docs/template/testing.md)."""
    port = make_url(settings.database_url.get_secret_value()).port
    if suite_through_pgbouncer():
        expected = (database_server.pgbouncer_port, True)
    else:
        expected = (make_url(database_server.admin_url).port, False)
    assert (port, settings.db_pgbouncer) == expected


async def test_readiness_queries_the_database_through_pgbouncer(client: AsyncClient) -> None:
    assert (await client.get("/health/ready")).status_code == 200


@pytest.mark.parametrize("factory", all_factories(), ids=lambda factory: factory.name)
async def test_concurrent_crud_through_pgbouncer(
    client: AsyncClient, factory: ResourceFactory
) -> None:
    await crud_under_load(client, factory)


@pytest.mark.parametrize("factory", all_factories(), ids=lambda factory: factory.name)
async def test_of_two_concurrent_changes_through_pgbouncer_exactly_one_wins(
    client: AsyncClient, factory: ResourceFactory
) -> None:
    created = await factory.create(client, 0)
    url = f"{factory.path}/{created['id']}"
    first, second = await factory.build(client, 1), await factory.build(client, 2)
    responses = await asyncio.gather(
        client.patch(url, json=first, headers={"if-match": '"1"'}),
        client.patch(url, json=second, headers={"if-match": '"1"'}),
    )
    assert sorted(response.status_code for response in responses) == [200, 412]


async def test_without_pgbouncer_mode_the_same_load_fails(
    pgbouncer: PgBouncer, live_settings: Settings
) -> None:
    """The pooler really moves transactions between server sessions: without DB_PGBOUNCER the
    app's cached prepared statements go missing (so the tests above prove the setting works)."""
    factory = all_factories()[0]
    # No statement_timeout start-up parameter either (PgBouncer refuses it): only the statement
    # caches differ from DB_PGBOUNCER=true.
    settings = through(pgbouncer.port, live_settings, pgbouncer_mode=False).model_copy(
        update={"db_statement_timeout_ms": 0}
    )
    async with running(create_app(settings)) as client:
        statuses: set[int] = set()
        for _ in range(5):
            lists = [client.get(factory.path, params={"offset": 0}) for _ in range(CONCURRENT)]
            statuses |= {response.status_code for response in await asyncio.gather(*lists)}
            if statuses != {200}:
                break
    assert statuses != {200}, "every request passed: is PgBouncer in transaction pooling mode?"
