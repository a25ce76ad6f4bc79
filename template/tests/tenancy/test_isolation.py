"""Tenant isolation, every scoped resource and endpoint: each role of another organization, and
each role of the record's own.

Another organization's record answers like a missing one (404) on every verb the caller's role
may use (403, for any record, on those it may not), and never shows in a list or a count;
naming an organization one is not a member of is a 404 too. Within the record's organization,
each role may do exactly what app/core/permissions.py grants it (403 otherwise).
"""

import pytest
from httpx import AsyncClient, Response

from app.api.organization_access import HEADER
from app.core.permissions import Role, allows
from tests.assertions import assert_problem
from tests.factories import ResourceFactory, all_factories
from tests.tenancy.conftest import Member

SCOPED = [factory for factory in all_factories() if factory.scoped]

pytestmark = pytest.mark.parametrize("factory", SCOPED, ids=lambda factory: factory.name)


def if_match(record: dict[str, object]) -> dict[str, str]:
    return {"if-match": f'"{record["version"]}"'}


@pytest.mark.parametrize("role", list(Role))
async def test_another_organizations_record_is_404_on_every_verb(
    client: AsyncClient, member: Member, theirs: int, factory: ResourceFactory, role: Role
) -> None:
    """404, as for a missing record, wherever the role may use the verb; where it may not,
    403 for any record at all (checked first): nothing tells whether the record exists."""
    record = await factory.create(client)
    url = f"{factory.path}/{record['id']}"
    change = await factory.build(client, 1)
    read, write, delete = (f"{factory.subject}:{action}" for action in ("read", "write", "delete"))
    async with member(theirs, role) as outsider:
        for response, permission in (
            (await outsider.get(url), read),
            (await outsider.patch(url, json=change), write),
            (await outsider.patch(url, json=change, headers=if_match(record)), write),
            (await outsider.delete(url), delete),
            (await outsider.delete(url, headers=if_match(record)), delete),
        ):
            assert_problem(response, 404 if allows(role, permission) else 403)
        page = (await outsider.get(factory.path, params={"offset": 0})).json()
        assert page["items"] == []
        assert page["total"] == 0
    assert (await client.get(url)).json() == record  # untouched


@pytest.mark.parametrize("role", list(Role))
async def test_naming_an_organization_one_is_not_a_member_of_is_404(
    client: AsyncClient,
    member: Member,
    ours: int,
    theirs: int,
    factory: ResourceFactory,
    role: Role,
) -> None:
    record = await factory.create(client)
    body = await factory.build(client, 1)
    async with member(theirs, role) as outsider:
        outsider.headers[HEADER] = str(ours)
        for response in (
            await outsider.get(factory.path),
            await outsider.post(factory.path, json=body),
            await outsider.get(f"{factory.path}/{record['id']}"),
        ):
            assert_problem(response, 404)
            assert response.json()["detail"] == f"Organization {ours} does not exist."


async def test_lists_and_counts_show_only_the_organizations_records(
    client: AsyncClient, member: Member, theirs: int, factory: ResourceFactory
) -> None:
    ours = [(await factory.create(client, i))["id"] for i in range(2)]
    async with member(theirs, Role.MEMBER) as other:
        mine = [(await factory.create(other, 2))["id"]]
        for caller, expected in ((client, ours), (other, mine)):
            page = (await caller.get(factory.path, params={"offset": 0})).json()
            assert [item["id"] for item in page["items"]] == expected
            assert page["total"] == len(expected)
            cursor_page = (await caller.get(factory.path)).json()
            assert [item["id"] for item in cursor_page["items"]] == expected


async def test_records_belong_to_the_organization_they_were_created_in(
    client: AsyncClient, ours: int, factory: ResourceFactory
) -> None:
    assert (await factory.create(client))["organization_id"] == ours


def expect(response: Response, role: Role, permission: str, allowed_status: int) -> None:
    if allows(role, permission):
        assert response.status_code == allowed_status, response.text
    else:
        assert_problem(response, 403)
        assert permission in response.json()["detail"]


@pytest.mark.parametrize("role", list(Role))
async def test_each_role_does_what_its_permissions_grant(
    client: AsyncClient, member: Member, ours: int, factory: ResourceFactory, role: Role
) -> None:
    records = [await factory.create(client, i) for i in range(2)]
    subject = factory.subject
    async with member(ours, role) as caller:
        url = f"{factory.path}/{records[0]['id']}"
        expect(await caller.get(factory.path), role, f"{subject}:read", 200)
        expect(await caller.get(url), role, f"{subject}:read", 200)
        body = await factory.build(caller, 5)
        expect(await caller.post(factory.path, json=body), role, f"{subject}:write", 201)
        change = await factory.build(caller, 6)
        expect(await caller.patch(url, json=change), role, f"{subject}:write", 200)
        other = f"{factory.path}/{records[1]['id']}"
        expect(await caller.delete(other), role, f"{subject}:delete", 204)


@pytest.mark.parametrize(
    "value", ["", "0", "-1", "+1", "01", "1.0", "1_0", " 1", "9" * 17, "1,2", "x"]
)
async def test_an_organization_header_that_is_not_an_id_is_422(
    client: AsyncClient, anonymous: AsyncClient, factory: ResourceFactory, value: str
) -> None:
    response = await client.get(factory.path, headers={HEADER: value})
    assert_problem(response, 422)
    assert response.json()["errors"][0]["loc"] == ["header", HEADER]
    # an anonymous caller is told to sign in first, whatever the header says
    assert_problem(await anonymous.get(factory.path, headers={HEADER: value}), 401)


async def test_the_organization_is_named_once(
    client: AsyncClient, ours: int, theirs: int, factory: ResourceFactory
) -> None:
    headers = [(HEADER, str(ours)), (HEADER, str(theirs))]
    response = await client.get(factory.path, headers=headers)
    assert_problem(response, 422)
    assert response.json()["errors"][0]["msg"] == f"Send {HEADER} once."
