"""Members and roles: who may change whom, changes that apply at the member's next request, and
the owner an organization keeps, also when two changes race (tests/auth/race.py)."""

from functools import partial

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.config import Settings
from app.core.permissions import Role
from app.core.scopes import ADMIN_SCOPE
from app.main import create_app
from app.models.membership import Membership
from tests.assertions import assert_problem
from tests.auth.race import race
from tests.auth.users import join, sign_in
from tests.clients import client_for, http_client, running
from tests.factories import all_factories
from tests.tenancy.conftest import Member

FACTORY = next(factory for factory in all_factories() if factory.scoped)


def members_url(organization_id: int, user_id: int | None = None) -> str:
    url = f"/api/v1/organizations/{organization_id}/members"
    return url if user_id is None else f"{url}/{user_id}"


async def user_id_of(client: AsyncClient) -> int:
    me: int = (await client.get("/api/v1/users/me")).json()["id"]
    return me


async def test_creating_an_organization_makes_its_creator_the_owner(
    client: AsyncClient,
) -> None:
    response = await client.post("/api/v1/organizations", json={"name": "  Acme  "})
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["name"], created["role"]) == ("Acme", "owner")
    listed = (await client.get("/api/v1/organizations")).json()["items"]
    assert created in listed
    members = (await client.get(members_url(created["id"]))).json()["items"]
    assert [(m["user_id"], m["role"]) for m in members] == [(await user_id_of(client), "owner")]


async def test_a_blank_name_is_refused(client: AsyncClient) -> None:
    for name in ("", "   ", "x" * 201):
        assert_problem(await client.post("/api/v1/organizations", json={"name": name}), 422)


async def test_a_removed_member_is_refused_at_their_next_request(
    client: AsyncClient, member: Member, ours: int
) -> None:
    async with member(ours, Role.MEMBER) as someone:
        assert (await someone.get(FACTORY.path)).status_code == 200
        removed = await client.delete(members_url(ours, await user_id_of(someone)))
        assert removed.status_code == 204, removed.text
        assert_problem(await someone.get(FACTORY.path), 404)
        assert_problem(await someone.get(f"/api/v1/organizations/{ours}"), 404)


async def test_a_lower_role_applies_at_the_next_request(
    client: AsyncClient, member: Member, ours: int
) -> None:
    records = [await FACTORY.create(client, i) for i in range(2)]
    async with member(ours, Role.ADMIN) as admin:
        assert (await admin.delete(f"{FACTORY.path}/{records[0]['id']}")).status_code == 204
        lowered = await client.patch(
            members_url(ours, await user_id_of(admin)), json={"role": "member"}
        )
        assert lowered.status_code == 200, lowered.text
        assert lowered.json()["role"] == "member"
        assert_problem(await admin.delete(f"{FACTORY.path}/{records[1]['id']}"), 403)


async def test_who_may_change_whom(client: AsyncClient, member: Member, ours: int) -> None:
    owner_id = await user_id_of(client)
    async with (
        member(ours, Role.MEMBER) as plain,
        member(ours, Role.ADMIN) as admin,
        member(ours, Role.MEMBER) as other,
    ):
        other_id = await user_id_of(other)
        # a member manages nobody
        assert_problem(await plain.patch(members_url(ours, other_id), json={"role": "admin"}), 403)
        assert_problem(await plain.delete(members_url(ours, other_id)), 403)
        # an admin manages members, not owners, and makes no owner
        assert (
            await admin.patch(members_url(ours, other_id), json={"role": "admin"})
        ).status_code == 200
        assert_problem(await admin.patch(members_url(ours, other_id), json={"role": "owner"}), 403)
        assert_problem(await admin.patch(members_url(ours, owner_id), json={"role": "member"}), 403)
        assert_problem(await admin.delete(members_url(ours, owner_id)), 403)
        # anyone may leave
        assert (await plain.delete(members_url(ours, await user_id_of(plain)))).status_code == 204
        # an unknown member, a bad role
        assert_problem(await client.patch(members_url(ours, 10**9), json={"role": "admin"}), 404)
        assert_problem(await client.patch(members_url(ours, other_id), json={"role": "boss"}), 422)


async def test_the_last_owner_stays_one(client: AsyncClient, ours: int) -> None:
    me = await user_id_of(client)
    assert_problem(await client.patch(members_url(ours, me), json={"role": "admin"}), 409)
    assert_problem(await client.delete(members_url(ours, me)), 409)
    members = (await client.get(members_url(ours))).json()["items"]
    assert [m["role"] for m in members] == ["owner"]


async def test_outsiders_see_nothing_of_an_organization(
    member: Member, ours: int, theirs: int
) -> None:
    async with member(theirs, Role.OWNER) as outsider:
        for response in (
            await outsider.get(f"/api/v1/organizations/{ours}"),
            await outsider.get(members_url(ours)),
            await outsider.patch(f"/api/v1/organizations/{ours}", json={"name": "Mine"}),
            await outsider.delete(members_url(ours, 1)),
        ):
            assert_problem(response, 404)


async def test_two_owners_who_leave_at_once_leave_one(live_settings: Settings) -> None:
    """Each of two owners leaves (or demotes the other) at the same moment: one change wins,
    the other is refused, and the organization keeps an owner, in every trial."""
    app = create_app(live_settings)
    async with running(app) as first, http_client(app) as second:
        first_user = await user_id_of(first)
        for trial in range(6):
            created = await first.post("/api/v1/organizations", json={"name": f"Race {trial}"})
            organization = created.json()["id"]
            co_owner = await join(second, app, "co-owner@example.com", organization, Role.OWNER)
            if trial % 2:  # both leave
                responses = await race(
                    partial(first.delete, members_url(organization, first_user)),
                    partial(second.delete, members_url(organization, co_owner.id)),
                )
            else:  # each demotes the other
                demoted = {"role": "member"}
                responses = await race(
                    partial(first.patch, members_url(organization, co_owner.id), json=demoted),
                    partial(second.patch, members_url(organization, first_user), json=demoted),
                )
            # the loser is refused: the last owner stays (409), or, demoted first, it may no
            # longer manage owners (403)
            statuses = sorted(response.status_code for response in responses)
            assert statuses in ([200, 403], [200, 409], [204, 409]), statuses
            owners = await owners_of(app, organization)
            assert owners == 1, f"trial {trial}: {owners} owners"


async def owners_of(app: FastAPI, organization_id: int) -> int:
    async with app.state.database.session() as session:
        query = select(func.count()).where(
            Membership.organization_id == organization_id, Membership.role == Role.OWNER
        )
        return int(await session.scalar(query) or 0)


async def test_the_last_owner_cannot_be_deleted(
    app: FastAPI, connection: AsyncConnection, client: AsyncClient, member: Member, ours: int
) -> None:
    """An admin deleting a user who is an organization's only owner gets 409; once another
    member owns it, the deletion goes through."""
    async with await client_for(app, connection, signed_in=False) as admin:
        await sign_in(admin, app, "admin@example.com", (ADMIN_SCOPE,))
        me = await user_id_of(client)
        assert_problem(await admin.delete(f"/api/v1/users/{me}"), 409)
        async with member(ours, Role.MEMBER) as other:
            promoted = await client.patch(
                members_url(ours, await user_id_of(other)), json={"role": "owner"}
            )
            assert promoted.status_code == 200, promoted.text
        assert (await admin.delete(f"/api/v1/users/{me}")).status_code == 204
