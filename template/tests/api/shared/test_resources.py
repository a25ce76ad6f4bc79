"""The behaviour every resource shares, checked for each resource in tests/factories."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.main import create_app
from app.schemas.base import MAX_SAFE_INTEGER
from tests.assertions import assert_problem
from tests.clients import client_for
from tests.factories import ResourceFactory, all_factories

pytestmark = pytest.mark.parametrize("factory", all_factories(), ids=lambda factory: factory.name)


async def create_many(client: AsyncClient, factory: ResourceFactory, count: int) -> list[int]:
    return [(await factory.create(client, i))["id"] for i in range(count)]


class TestCreate:
    async def test_returns_the_stored_resource(
        self, client: AsyncClient, factory: ResourceFactory
    ) -> None:
        body = await factory.build(client, 0)
        response = await client.post(factory.path, json=body)

        assert response.status_code == 201, response.text
        created = response.json()
        assert created["version"] == 1
        assert response.headers["etag"] == '"1"'
        assert response.headers["location"] == f"{factory.path}/{created['id']}"
        fetched = await client.get(response.headers["location"])
        assert fetched.json() == created

    async def test_unknown_fields_are_refused(
        self, client: AsyncClient, factory: ResourceFactory
    ) -> None:
        body = await factory.build(client, 0) | {"unexpected": 1}
        problem = assert_problem(await client.post(factory.path, json=body), 422)
        assert problem["errors"][0]["loc"] == ["body", "unexpected"]

    async def test_a_failed_commit_is_an_error_not_a_success(
        self, client: AsyncClient, factory: ResourceFactory, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        body = await factory.build(client, 0)
        before = (await client.get(factory.path, params={"offset": 0})).json()["total"]

        async def failing_commit(session: AsyncSession) -> None:
            raise OperationalError("COMMIT", {}, ConnectionResetError("connection lost"))

        with monkeypatch.context() as patch:
            patch.setattr(AsyncSession, "commit", failing_commit)
            assert_problem(await client.post(factory.path, json=body), 503)
        after = (await client.get(factory.path, params={"offset": 0})).json()["total"]
        assert after == before

    @pytest.mark.parametrize("content", [b"", b"{", b"[]", b'"text"'])
    async def test_a_body_that_is_no_object_is_refused(
        self, client: AsyncClient, factory: ResourceFactory, content: bytes
    ) -> None:
        headers = {"content-type": "application/json"}
        assert_problem(await client.post(factory.path, content=content, headers=headers), 422)


class TestRead:
    async def test_sends_the_version_as_etag(
        self, client: AsyncClient, factory: ResourceFactory
    ) -> None:
        created = await factory.create(client)
        response = await client.get(f"{factory.path}/{created['id']}")
        assert response.status_code == 200
        assert response.headers["etag"] == f'"{created["version"]}"'

    async def test_an_unknown_id_is_404(
        self, client: AsyncClient, factory: ResourceFactory
    ) -> None:
        problem = assert_problem(await client.get(f"{factory.path}/{MAX_SAFE_INTEGER}"), 404)
        assert problem["instance"] == f"{factory.path}/{MAX_SAFE_INTEGER}"
        assert str(MAX_SAFE_INTEGER) in problem["detail"]

    @pytest.mark.parametrize("bad_id", ["0", "-1", str(MAX_SAFE_INTEGER + 1), "abc", "1.5"])
    async def test_an_impossible_id_is_422(
        self, client: AsyncClient, factory: ResourceFactory, bad_id: str
    ) -> None:
        assert_problem(await client.get(f"{factory.path}/{bad_id}"), 422)


class TestList:
    async def test_offset_mode_counts_the_total(
        self, client: AsyncClient, factory: ResourceFactory
    ) -> None:
        ids = await create_many(client, factory, 5)
        page = (await client.get(factory.path, params={"offset": 1, "limit": 2})).json()
        assert [item["id"] for item in page["items"]] == ids[1:3]
        assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)

    async def test_an_offset_past_the_end_gives_an_empty_page(
        self, client: AsyncClient, factory: ResourceFactory
    ) -> None:
        await create_many(client, factory, 2)
        page = (await client.get(factory.path, params={"offset": 10})).json()
        assert page["items"] == []
        assert page["total"] == 2
        assert page["next_cursor"] is None

    async def test_cursor_mode_has_no_total(
        self, client: AsyncClient, factory: ResourceFactory
    ) -> None:
        await create_many(client, factory, 1)
        page = (await client.get(factory.path)).json()
        assert (page["total"], page["offset"], page["next_cursor"]) == (None, None, None)

    async def test_cursors_visit_every_item_once_in_each_sort_order(
        self, client: AsyncClient, factory: ResourceFactory
    ) -> None:
        ids = await create_many(client, factory, 5)
        for field in factory.sort_fields:
            for sort in (field, f"-{field}"):
                expected = await self._all_ids(client, factory, {"sort": sort, "limit": 100})
                assert sorted(expected) == sorted(ids)
                assert await self._all_ids(client, factory, {"sort": sort, "limit": 2}) == expected

    async def test_a_cursor_only_fits_its_own_sort_order(
        self, client: AsyncClient, factory: ResourceFactory
    ) -> None:
        await create_many(client, factory, 2)
        page = (await client.get(factory.path, params={"limit": 1})).json()
        params = {"cursor": page["next_cursor"], "sort": "-id"}
        problem = assert_problem(await client.get(factory.path, params=params), 400)
        assert "does not belong to this sort order" in problem["detail"]

    @pytest.mark.parametrize("cursor", ["not-a-cursor", "WyJpZCIsICJ4Il0"])
    async def test_a_cursor_the_api_did_not_issue_is_400(
        self, client: AsyncClient, factory: ResourceFactory, cursor: str
    ) -> None:
        # Any string is a cursor to the OpenAPI schema: a well-formed request, refused as such.
        problem = assert_problem(await client.get(factory.path, params={"cursor": cursor}), 400)
        assert "cursor" in problem["detail"]

    @pytest.mark.parametrize(
        "params",
        [
            {"limit": 0},
            {"limit": 101},
            {"limit": "ten"},
            {"offset": -1},
            {"offset": 1_000_001},
            {"cursor": "", "offset": 0},
            {"sort": "nonexistent"},
            {"unexpected": "1"},
        ],
    )
    async def test_invalid_paging_is_422(
        self, client: AsyncClient, factory: ResourceFactory, params: dict[str, Any]
    ) -> None:
        assert_problem(await client.get(factory.path, params=params), 422)

    async def test_an_offset_with_a_cursor_skips_items_after_the_cursor(
        self, client: AsyncClient, factory: ResourceFactory
    ) -> None:
        ids = await create_many(client, factory, 4)
        cursor = (await client.get(factory.path, params={"limit": 1})).json()["next_cursor"]
        params = {"cursor": cursor, "offset": 1, "limit": 1}
        page = (await client.get(factory.path, params=params)).json()
        assert [item["id"] for item in page["items"]] == [ids[2]]
        assert (page["total"], page["offset"]) == (4, 1)

    @staticmethod
    async def _all_ids(
        client: AsyncClient, factory: ResourceFactory, params: dict[str, Any]
    ) -> list[int]:
        ids: list[int] = []
        while True:
            response = await client.get(factory.path, params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            ids += [item["id"] for item in page["items"]]
            if page["next_cursor"] is None:
                return ids
            params = params | {"cursor": page["next_cursor"]}


class TestUpdate:
    async def test_changes_the_fields_sent_and_bumps_the_version(
        self, client: AsyncClient, factory: ResourceFactory
    ) -> None:
        created = await factory.create(client, 0)
        changes = await factory.build(client, 1)
        response = await client.patch(f"{factory.path}/{created['id']}", json=changes)

        assert response.status_code == 200, response.text
        updated = response.json()
        assert updated["version"] == 2
        assert response.headers["etag"] == '"2"'
        assert all(updated[name] != created[name] for name in changes)
        assert (await client.get(f"{factory.path}/{created['id']}")).json() == updated
        assert updated["created_at"] == created["created_at"]

    async def test_an_empty_body_changes_nothing(
        self, client: AsyncClient, factory: ResourceFactory
    ) -> None:
        created = await factory.create(client)
        response = await client.patch(f"{factory.path}/{created['id']}", json={})
        assert response.json() == created

    async def test_a_matching_if_match_applies(
        self, client: AsyncClient, factory: ResourceFactory
    ) -> None:
        created = await factory.create(client, 0)
        for if_match in ('"1"', "*"):
            response = await client.patch(
                f"{factory.path}/{created['id']}",
                json=await factory.build(client, 1),
                headers={"if-match": if_match},
            )
            assert response.status_code == 200, response.text

    async def test_a_stale_if_match_is_412(
        self, client: AsyncClient, factory: ResourceFactory
    ) -> None:
        created = await factory.create(client, 0)
        url = f"{factory.path}/{created['id']}"
        await client.patch(url, json=await factory.build(client, 1))
        response = await client.patch(url, json={}, headers={"if-match": '"1"'})
        assert_problem(response, 412)
        assert response.headers["etag"] == '"2"'  # the version to read before trying again
        assert (await client.get(url)).json()["version"] == 2

    @pytest.mark.parametrize("if_match", ['W/"1"', '"one"', '"01"', 'W/"1", "2"'])
    async def test_a_weak_or_foreign_etag_never_matches(
        self, client: AsyncClient, factory: ResourceFactory, if_match: str
    ) -> None:
        """RFC 9110 section 13.1.1: If-Match compares strongly; the 412 says the current ETag."""
        created = await factory.create(client)
        url = f"{factory.path}/{created['id']}"
        for method in ("PATCH", "DELETE"):
            body: dict[str, object] | None = {} if method == "PATCH" else None
            response = await client.request(method, url, json=body, headers={"if-match": if_match})
            assert_problem(response, 412)
            assert response.headers["etag"] == '"1"'
        assert (await client.get(url)).json() == created

    @pytest.mark.parametrize(
        "if_match", ["1", '"1', "W/1", '"1 "', '"1" "2"', '"1", "2"', "**", '"1", ' * 300]
    )
    async def test_a_malformed_if_match_is_400_with_a_readable_message(
        self, client: AsyncClient, factory: ResourceFactory, if_match: str
    ) -> None:
        created = await factory.create(client)
        url = f"{factory.path}/{created['id']}"
        response = await client.patch(url, json={}, headers={"if-match": if_match})
        assert "If-Match" in assert_problem(response, 400)["detail"]
        assert (await client.get(url)).json() == created

    async def test_unknown_fields_are_refused(
        self, client: AsyncClient, factory: ResourceFactory
    ) -> None:
        created = await factory.create(client)
        url = f"{factory.path}/{created['id']}"
        assert_problem(await client.patch(url, json={"unexpected": True}), 422)

    async def test_an_unknown_id_is_404(
        self, client: AsyncClient, factory: ResourceFactory
    ) -> None:
        assert_problem(await client.patch(f"{factory.path}/{MAX_SAFE_INTEGER}", json={}), 404)


class TestDelete:
    async def test_removes_the_resource(
        self, client: AsyncClient, factory: ResourceFactory
    ) -> None:
        created = await factory.create(client)
        url = f"{factory.path}/{created['id']}"
        response = await client.delete(url)
        assert response.status_code == 204
        assert response.content == b""
        assert_problem(await client.get(url), 404)
        assert_problem(await client.delete(url), 404)

    async def test_a_stale_if_match_keeps_the_resource(
        self, client: AsyncClient, factory: ResourceFactory
    ) -> None:
        created = await factory.create(client, 0)
        url = f"{factory.path}/{created['id']}"
        await client.patch(url, json=await factory.build(client, 1))
        assert_problem(await client.delete(url, headers={"if-match": '"1"'}), 412)
        assert (await client.get(url)).status_code == 200


class TestRequiredIfMatch:
    @pytest.fixture
    async def strict_client(
        self, app: FastAPI, connection: AsyncConnection
    ) -> AsyncIterator[AsyncClient]:
        strict_app = create_app(app.state.settings.model_copy(update={"require_if_match": True}))
        async with await client_for(strict_app, connection) as client:
            yield client

    async def test_changes_without_if_match_are_428(
        self, strict_client: AsyncClient, factory: ResourceFactory
    ) -> None:
        created = await factory.create(strict_client)
        url = f"{factory.path}/{created['id']}"
        assert_problem(await strict_client.patch(url, json={}), 428)
        assert_problem(await strict_client.delete(url), 428)
        response = await strict_client.patch(url, json={}, headers={"if-match": '"1"'})
        assert response.status_code == 200
