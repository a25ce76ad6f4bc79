"""Optimistic concurrency under real concurrent requests: no update is ever lost."""

import asyncio

import pytest

from app.core.config import Settings
from app.main import create_app
from tests.clients import running
from tests.factories import ResourceFactory, all_factories


@pytest.mark.parametrize("factory", all_factories(), ids=lambda factory: factory.name)
async def test_of_two_concurrent_changes_with_the_same_etag_exactly_one_wins(
    live_settings: Settings, factory: ResourceFactory
) -> None:
    async with running(create_app(live_settings)) as client:
        created = await factory.create(client, 0)
        url = f"{factory.path}/{created['id']}"
        first, second = await factory.build(client, 1), await factory.build(client, 2)

        responses = await asyncio.gather(
            client.patch(url, json=first, headers={"if-match": '"1"'}),
            client.patch(url, json=second, headers={"if-match": '"1"'}),
        )

        assert sorted(response.status_code for response in responses) == [200, 412]
        winner = next(response.json() for response in responses if response.status_code == 200)
        assert (await client.get(url)).json() == winner
        assert winner["version"] == 2
