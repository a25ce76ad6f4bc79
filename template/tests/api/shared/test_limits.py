"""Bodies that are too large or not JSON are refused up front, as problem details."""

import json
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncConnection

from app.main import create_app
from tests.assertions import assert_problem
from tests.clients import client_for
from tests.factories import all_factories

PATH = all_factories()[0].path


@pytest.fixture
async def small_body_client(
    app: FastAPI, connection: AsyncConnection
) -> AsyncIterator[AsyncClient]:
    settings = app.state.settings.model_copy(update={"max_body_bytes": 1024})
    async with await client_for(create_app(settings), connection) as client:
        yield client


async def test_a_body_over_the_limit_is_413(small_body_client: AsyncClient) -> None:
    body = {"padding": "x" * 2048}
    assert_problem(await small_body_client.post(PATH, json=body), 413)


async def test_a_streamed_body_over_the_limit_is_413(small_body_client: AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"x" * 512

    response = await small_body_client.post(
        PATH, content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413)


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("text/plain", b'{"a": 1}'),
        ("application/x-www-form-urlencoded", b"a=1"),
        ("application/xml", b"<a>1</a>"),
    ],
)
async def test_a_body_that_is_not_json_is_415(
    client: AsyncClient, content_type: str, content: bytes
) -> None:
    response = await client.post(PATH, content=content, headers={"content-type": content_type})
    assert_problem(response, 415)


async def test_json_with_a_charset_is_accepted(client: AsyncClient) -> None:
    factory = all_factories()[0]
    body = await factory.build(client, 0)
    headers = {"content-type": "application/json; charset=utf-8"}
    response = await client.post(PATH, content=json.dumps(body), headers=headers)
    assert response.status_code == 201, response.text
