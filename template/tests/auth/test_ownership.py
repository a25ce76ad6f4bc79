"""Object-level authorization (OWASP API1): every owned resource, every endpoint, two users.

Another user's record answers like a missing one (404) on every verb, and never shows in a
list or a count; an admin sees and changes everyone's.
"""

import pytest
from httpx import AsyncClient

from tests.assertions import assert_problem
from tests.factories import ResourceFactory, all_factories

OWNED = [factory for factory in all_factories() if factory.owned]

pytestmark = pytest.mark.parametrize("factory", OWNED, ids=lambda factory: factory.name)


async def test_another_users_record_is_404_on_every_verb(
    client: AsyncClient, intruder: AsyncClient, factory: ResourceFactory
) -> None:
    record = await factory.create(client)
    url = f"{factory.path}/{record['id']}"
    change = await factory.build(client, 1)
    for response in (
        await intruder.get(url),
        await intruder.patch(url, json=change),
        await intruder.patch(url, json=change, headers={"if-match": f'"{record["version"]}"'}),
        await intruder.delete(url),
        await intruder.delete(url, headers={"if-match": f'"{record["version"]}"'}),
    ):
        assert_problem(response, 404)
    assert (await client.get(url)).json() == record  # untouched


async def test_lists_and_counts_show_only_the_callers_records(
    client: AsyncClient, intruder: AsyncClient, factory: ResourceFactory
) -> None:
    mine = [(await factory.create(client, i))["id"] for i in range(2)]
    theirs = (await factory.create(intruder, 2))["id"]
    for caller, expected in ((client, mine), (intruder, [theirs])):
        page = (await caller.get(factory.path, params={"offset": 0})).json()
        assert [item["id"] for item in page["items"]] == expected
        assert page["total"] == len(expected)
        cursor_page = (await caller.get(factory.path)).json()
        assert [item["id"] for item in cursor_page["items"]] == expected


async def test_records_belong_to_their_creator(
    client: AsyncClient, factory: ResourceFactory
) -> None:
    me = (await client.get("/api/v1/users/me")).json()
    assert (await factory.create(client))["owner_id"] == me["id"]


async def test_an_admin_sees_and_changes_every_record(
    client: AsyncClient, intruder: AsyncClient, admin: AsyncClient, factory: ResourceFactory
) -> None:
    ids = [(await factory.create(caller, i))["id"] for i, caller in enumerate((client, intruder))]
    page = (await admin.get(factory.path, params={"offset": 0})).json()
    assert [item["id"] for item in page["items"]] == ids
    assert page["total"] == 2
    assert (await admin.delete(f"{factory.path}/{ids[0]}")).status_code == 204


async def test_anonymous_calls_are_401_on_every_endpoint(
    client: AsyncClient, anonymous: AsyncClient, factory: ResourceFactory
) -> None:
    record = await factory.create(client)
    url = f"{factory.path}/{record['id']}"
    body = await factory.build(client, 1)
    for response in (
        await anonymous.get(factory.path),
        await anonymous.post(factory.path, json=body),
        await anonymous.get(url),
        await anonymous.patch(url, json=body),
        await anonymous.delete(url),
    ):
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
