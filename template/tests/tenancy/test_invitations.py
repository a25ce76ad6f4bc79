"""Invitations: sent by an organization's admins, their token only in the email (its hash in the
database), accepted once by the user of the invited email or used to sign up, refused alike when
unknown, expired, used or revoked; and one membership when two accepts race
(tests/auth/race.py)."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient, Response
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.config import Settings
from app.core.permissions import Role
from app.main import create_app
from app.models.invitation import Invitation
from app.models.membership import Membership
from app.models.user import User
from app.security.tokens import new_token, token_digest
from app.services.invitation import INVALID_INVITATION
from tests.assertions import assert_problem
from tests.auth.race import new_email, race
from tests.auth.users import PASSWORD, Outbox, join, sign_in
from tests.clients import client_for, http_client, running
from tests.tenancy.conftest import Member

ACCEPT, SIGN_UP = "/api/v1/invitations/accept", "/api/v1/invitations/sign-up"
INVITEE = "invitee@example.com"
RACE_TRIALS = 10  # of each race: accept twice, sign up twice


def invitations_url(organization_id: int, invitation_id: int | None = None) -> str:
    url = f"/api/v1/organizations/{organization_id}/invitations"
    return url if invitation_id is None else f"{url}/{invitation_id}"


@pytest.fixture
async def stranger(app: FastAPI, connection: AsyncConnection) -> AsyncIterator[AsyncClient]:
    """A client signed in as nobody yet: `sign_in` or `join` it."""
    async with await client_for(app, connection, signed_in=False) as client:
        yield client


async def invite(
    client: AsyncClient, organization_id: int, email: str = INVITEE, role: Role = Role.MEMBER
) -> dict[str, Any]:
    """The invitation, as the API returns it (JSON)."""
    body = {"email": email, "role": role}
    response = await client.post(invitations_url(organization_id), json=body)
    assert response.status_code == 201, response.text
    invitation: dict[str, Any] = response.json()
    return invitation


async def emailed_token(app: FastAPI, outbox: Outbox, email: str = INVITEE) -> str:
    """The token of the last invitation emailed to `email`."""
    link: str = app.state.settings.invitation_accept_url
    bodies = [sent.body for sent in await outbox() if sent.to == email and link in sent.body]
    assert bodies, f"no invitation emailed to {email}"
    return bodies[-1].split(link)[1].split()[0]


def assert_invalid(response: Response) -> None:
    """The one refusal of a token unknown, expired, used or revoked."""
    assert_problem(response, 400)
    assert response.json()["detail"] == INVALID_INVITATION


async def stored_invitation(app: FastAPI, invitation_id: int) -> Invitation:
    async with app.state.database.session() as session:
        found: Invitation | None = await session.get(Invitation, invitation_id)
        assert found is not None
        return found


async def test_an_invitation_is_emailed_and_accepted_once(
    app: FastAPI, client: AsyncClient, stranger: AsyncClient, ours: int, outbox: Outbox
) -> None:
    created = await invite(client, ours, " Invitee@Example.COM ", Role.ADMIN)
    assert set(created) == {"id", "organization_id", "email", "role", "expires_at", "accepted_at"}
    assert (created["email"], created["role"], created["accepted_at"]) == (INVITEE, "admin", None)
    token = await emailed_token(app, outbox)
    stored = await stored_invitation(app, created["id"])
    assert stored.token_hash == token_digest(token)  # the hash only: no column holds the token
    assert all(token not in str(value) for value in vars(stored).values())
    listed = await client.get(invitations_url(ours))
    assert listed.json()["items"] == [created]

    invitee = await sign_in(stranger, app, INVITEE)
    accepted = await stranger.post(ACCEPT, json={"token": token})
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["id"], accepted.json()["role"]) == (ours, "admin")
    members = (await client.get(f"/api/v1/organizations/{ours}/members")).json()["items"]
    assert (invitee.id, "admin") in [(m["user_id"], m["role"]) for m in members]
    assert_invalid(await stranger.post(ACCEPT, json={"token": token}))  # used up
    assert (await client.get(invitations_url(ours))).json()["items"] == []


async def test_inviting_again_replaces_the_pending_invitation(
    app: FastAPI, client: AsyncClient, stranger: AsyncClient, ours: int, outbox: Outbox
) -> None:
    await invite(client, ours)
    first = await emailed_token(app, outbox)
    second_invitation = await invite(client, ours, role=Role.ADMIN)
    second = await emailed_token(app, outbox)
    assert first != second
    assert (await client.get(invitations_url(ours))).json()["items"] == [second_invitation]
    await sign_in(stranger, app, INVITEE)
    assert_invalid(await stranger.post(ACCEPT, json={"token": first}))
    assert (await stranger.post(ACCEPT, json={"token": second})).status_code == 200


async def test_who_may_invite(
    app: FastAPI, client: AsyncClient, member: Member, ours: int, theirs: int
) -> None:
    body = {"email": INVITEE, "role": "member"}
    async with (
        member(ours, Role.MEMBER) as plain,
        member(ours, Role.ADMIN) as admin,
        member(theirs, Role.OWNER) as outsider,
    ):
        # a member invites nobody, nor sees or revokes invitations
        assert_problem(await plain.post(invitations_url(ours), json=body), 403)
        assert_problem(await plain.get(invitations_url(ours)), 403)
        # an admin invites members and admins, not owners
        assert_problem(await admin.post(invitations_url(ours), json={**body, "role": "owner"}), 403)
        invited = await invite(admin, ours, role=Role.ADMIN)
        assert_problem(await plain.delete(invitations_url(ours, invited["id"])), 403)
        # an outsider learns nothing of the organization
        for response in (
            await outsider.post(invitations_url(ours), json=body),
            await outsider.get(invitations_url(ours)),
            await outsider.delete(invitations_url(ours, invited["id"])),
        ):
            assert_problem(response, 404)
        # the owner invites an owner; a member's email is refused
        assert (await invite(client, ours, "co-owner@example.com", Role.OWNER))["role"] == "owner"
        member_email = (await plain.get("/api/v1/users/me")).json()["email"]
        taken = {**body, "email": member_email}
        assert_problem(await admin.post(invitations_url(ours), json=taken), 409)
        assert_problem(await client.post(invitations_url(ours), json={**body, "role": "boss"}), 422)


async def test_an_invitation_to_another_email_is_refused_and_stays(
    app: FastAPI, client: AsyncClient, stranger: AsyncClient, ours: int, outbox: Outbox
) -> None:
    await invite(client, ours)
    token = await emailed_token(app, outbox)
    await sign_in(stranger, app, "someone-else@example.com")
    assert_problem(await stranger.post(ACCEPT, json={"token": token}), 403)
    await sign_in(stranger, app, INVITEE)
    assert (await stranger.post(ACCEPT, json={"token": token})).status_code == 200


async def test_expired_revoked_and_unknown_tokens_are_refused_alike(
    app: FastAPI, client: AsyncClient, stranger: AsyncClient, ours: int, outbox: Outbox
) -> None:
    expiring = await invite(client, ours, "late@example.com")
    expired_token = await emailed_token(app, outbox, "late@example.com")
    async with app.state.database.session() as session:
        past = datetime.now(UTC) - timedelta(seconds=1)
        await session.execute(
            update(Invitation).where(Invitation.id == expiring["id"]).values(expires_at=past)
        )
        await session.commit()
    revoked = await invite(client, ours)
    revoked_token = await emailed_token(app, outbox)
    assert (await client.delete(invitations_url(ours, revoked["id"]))).status_code == 204
    assert_problem(await client.delete(invitations_url(ours, revoked["id"])), 404)
    assert (await client.get(invitations_url(ours))).json()["items"] == []  # the expired too

    await sign_in(stranger, app, INVITEE)
    assert_invalid(await stranger.post(ACCEPT, json={"token": revoked_token}))
    assert_invalid(await stranger.post(ACCEPT, json={"token": new_token()}))
    await sign_in(stranger, app, "late@example.com")
    assert_invalid(await stranger.post(ACCEPT, json={"token": expired_token}))
    for token in (expired_token, revoked_token, new_token()):
        assert_invalid(await stranger.post(SIGN_UP, json={"token": token, "password": PASSWORD}))


async def test_a_member_already_is_refused_and_the_invitation_stays(
    app: FastAPI, client: AsyncClient, stranger: AsyncClient, ours: int, outbox: Outbox
) -> None:
    await invite(client, ours)
    token = await emailed_token(app, outbox)
    await join(stranger, app, INVITEE, ours, Role.MEMBER)  # joined meanwhile
    assert_problem(await stranger.post(ACCEPT, json={"token": token}), 409)
    assert len((await client.get(invitations_url(ours))).json()["items"]) == 1


async def test_signing_up_with_an_invitation_makes_a_member(
    app: FastAPI, client: AsyncClient, stranger: AsyncClient, ours: int, outbox: Outbox
) -> None:
    await invite(client, ours, role=Role.ADMIN)
    token = await emailed_token(app, outbox)
    signed_up = await stranger.post(SIGN_UP, json={"token": token, "password": PASSWORD})
    assert signed_up.status_code == 201, signed_up.text
    assert signed_up.json()["email"] == INVITEE
    signed_in = await stranger.post(
        "/api/v1/auth/token", data={"username": INVITEE, "password": PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.text
    members = (await client.get(f"/api/v1/organizations/{ours}/members")).json()["items"]
    assert (INVITEE, "admin") in [(m["email"], m["role"]) for m in members]
    assert_invalid(await stranger.post(SIGN_UP, json={"token": token, "password": PASSWORD}))


async def test_signing_up_with_an_email_that_has_an_account_is_409(
    app: FastAPI, client: AsyncClient, stranger: AsyncClient, ours: int, outbox: Outbox
) -> None:
    await invite(client, ours)
    token = await emailed_token(app, outbox)
    await sign_in(stranger, app, INVITEE)
    conflict = await stranger.post(SIGN_UP, json={"token": token, "password": PASSWORD})
    assert_problem(conflict, 409)
    assert "sign in" in conflict.json()["detail"]
    assert (await stranger.post(ACCEPT, json={"token": token})).status_code == 200


async def test_invitations_sent_are_limited_per_inviter(
    settings: Settings, connection: AsyncConnection
) -> None:
    app = create_app(settings.model_copy(update={"invitations_max_sent": 2}))
    async with await client_for(app, connection) as owner:
        organization = await own_organization_of(owner)
        for number in range(2):
            await invite(owner, organization, f"guest-{number}@example.com")
        refused = await owner.post(
            invitations_url(organization), json={"email": "guest-2@example.com"}
        )
        assert_problem(refused, 429)
        assert "Retry-After" in refused.headers


async def own_organization_of(client: AsyncClient) -> int:
    organizations = (await client.get("/api/v1/organizations")).json()["items"]
    return int(organizations[0]["id"])


async def test_one_token_makes_one_member_however_many_race(live_settings: Settings) -> None:
    """Two accepts of one token (or two sign-ups) released together: one succeeds, the other is
    refused, and there is one membership, in every trial."""
    app = create_app(live_settings)
    async with running(app) as owner, http_client(app) as first, http_client(app) as second:
        organization = await own_organization_of(owner)
        sender = (await owner.get("/api/v1/users/me")).json()["id"]
        for trial in range(2 * RACE_TRIALS):
            email, signing_up = new_email("racer"), trial % 2 == 1
            token = await stored_token(app, organization, email, sender)
            if signing_up:
                body = {"token": token, "password": PASSWORD}
                responses = await race(
                    partial(first.post, SIGN_UP, json=body),
                    partial(second.post, SIGN_UP, json=body),
                )
                statuses = sorted(response.status_code for response in responses)
                assert statuses in ([201, 400], [201, 409]), (trial, statuses)
            else:
                await sign_in(first, app, email)
                second.headers.update(first.headers)
                responses = await race(
                    partial(first.post, ACCEPT, json={"token": token}),
                    partial(second.post, ACCEPT, json={"token": token}),
                )
                statuses = sorted(response.status_code for response in responses)
                assert statuses == [200, 400], (trial, statuses)
            assert await memberships_of(app, organization, email) == 1, trial


async def stored_token(app: FastAPI, organization_id: int, email: str, sender: int) -> str:
    """The token of a new invitation of `email` sent by `sender` (an owner), as its email would
    carry it."""
    token = new_token()
    async with app.state.database.session() as session:
        session.add(
            Invitation(
                organization_id=organization_id,
                email=email,
                role=Role.MEMBER,
                token_hash=token_digest(token),
                invited_by=sender,
                expires_at=datetime.now(UTC) + timedelta(minutes=10),
            )
        )
        await session.commit()
    return token


async def memberships_of(app: FastAPI, organization_id: int, email: str) -> int:
    query = (
        select(func.count())
        .select_from(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organization_id == organization_id, User.email == email)
    )
    async with app.state.database.session() as session:
        return int(await session.scalar(query) or 0)


async def test_the_invitations_of_an_admin_removed_since_are_void(
    app: FastAPI, client: AsyncClient, member: Member, ours: int, outbox: Outbox
) -> None:
    """An invitation speaks for the admin who sent it: once they may not invite any more
    (removed, or a lower role), their pending invitations admit nobody."""
    email = "friend-of-admin@example.com"
    async with member(ours, Role.ADMIN) as admin:
        await invite(admin, ours, email, Role.ADMIN)
        admin_id = (await admin.get("/api/v1/users/me")).json()["id"]
    token = await emailed_token(app, outbox, email)
    removed = await client.delete(f"/api/v1/organizations/{ours}/members/{admin_id}")
    assert removed.status_code == 204, removed.text
    body = {"token": token, "password": PASSWORD}
    assert_invalid(await client.post("/api/v1/invitations/sign-up", json=body))
