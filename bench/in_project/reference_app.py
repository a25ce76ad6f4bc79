"""Reference app R0: bare Starlette, a raw asyncpg pool and orjson, serving the rendered project's
`tasks` table with the same routes, statuses and JSON shape as the rendered service.

It is the practical limit the rendered service is compared with (TechEmpower style): no
dependency injection, no ORM, no Pydantic, one statement per request in autocommit. It still does
what a correct endpoint must: 404 for a missing row, a minimal check of the POST body (422), and
the same opaque keyset cursor as the rendered service (base64url of JSON `["id", <last id>]`).

Runs in the rendered project's environment (uvicorn, starlette and asyncpg come with it; the
harness adds orjson): `uvicorn --app-dir bench/in_project reference_app:app`, with
REFERENCE_DATABASE_URL (a plain postgresql:// URL) and REFERENCE_POOL_SIZE in the environment.
"""

import base64
import binascii
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SELECT_ONE = """
SELECT id, title, description, done, version, created_at, updated_at FROM tasks WHERE id = $1
"""
SELECT_FIRST_PAGE = """
SELECT id, title, description, done, version, created_at, updated_at FROM tasks
ORDER BY id LIMIT $1
"""
SELECT_PAGE_AFTER = """
SELECT id, title, description, done, version, created_at, updated_at FROM tasks WHERE id > $1
ORDER BY id LIMIT $2
"""
INSERT = """
INSERT INTO tasks (title, description, done, version) VALUES ($1, $2, $3, 1)
RETURNING id, title, description, done, version, created_at, updated_at
"""
DEFAULT_LIMIT, MAX_LIMIT, MAX_TITLE = 20, 100, 200

JSON = "application/json"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type=JSON)


def unprocessable(detail: str) -> Response:
    return json_response({"status": 422, "detail": detail}, 422)


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(["id", last_id])).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    """The last id in a cursor, or None when the cursor is not one of ours."""
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, orjson.JSONDecodeError):
        return None
    if isinstance(payload, list) and len(payload) == 2 and payload[0] == "id":
        last_id = payload[1]
        return last_id if isinstance(last_id, int) else None
    return None


async def get_task(request: Request) -> Response:
    record = await request.app.state.pool.fetchrow(SELECT_ONE, request.path_params["task_id"])
    if record is None:
        return json_response({"status": 404, "detail": "Task does not exist."}, 404)
    return json_response(dict(record), headers={"ETag": f'"{record["version"]}"'})


async def list_tasks(request: Request) -> Response:
    try:
        limit = int(request.query_params.get("limit", DEFAULT_LIMIT))
    except ValueError:
        return unprocessable("limit must be an integer")
    if not 1 <= limit <= MAX_LIMIT:
        return unprocessable(f"limit must be between 1 and {MAX_LIMIT}")
    pool = request.app.state.pool
    if (cursor := request.query_params.get("cursor")) is None:
        records = await pool.fetch(SELECT_FIRST_PAGE, limit + 1)
    elif (after := decode_cursor(cursor)) is None:
        return unprocessable("cursor is malformed")
    else:
        records = await pool.fetch(SELECT_PAGE_AFTER, after, limit + 1)
    items = [dict(record) for record in records[:limit]]
    next_cursor = encode_cursor(items[-1]["id"]) if len(records) > limit else None
    page = {"items": items, "total": None, "limit": limit, "offset": None}
    return json_response(page | {"next_cursor": next_cursor})


async def create_task(request: Request) -> Response:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return unprocessable("the body is not JSON")
    if not isinstance(body, dict) or not body.keys() <= {"title", "description", "done"}:
        return unprocessable("the body must be an object with title, description and done")
    title, description, done = body.get("title"), body.get("description"), body.get("done", False)
    if not (isinstance(title, str) and 1 <= len(title) <= MAX_TITLE):
        return unprocessable(f"title must be a string of 1 to {MAX_TITLE} characters")
    if not (description is None or isinstance(description, str)) or not isinstance(done, bool):
        return unprocessable("description must be a string or null, done a boolean")
    record = await request.app.state.pool.fetchrow(INSERT, title, description, done)
    headers = {"Location": f"{request.url.path}/{record['id']}", "ETag": f'"{record["version"]}"'}
    return json_response(dict(record), 201, headers)


async def live(request: Request) -> Response:
    return json_response({"status": "ok"})


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    size = int(os.environ.get("REFERENCE_POOL_SIZE", "10"))
    dsn = os.environ["REFERENCE_DATABASE_URL"]
    async with asyncpg.create_pool(dsn, min_size=size, max_size=size) as pool:
        app.state.pool = pool
        yield


app = Starlette(
    routes=[
        Route("/health/live", live),
        Route("/api/v1/tasks", list_tasks),
        Route("/api/v1/tasks", create_task, methods=["POST"]),
        Route("/api/v1/tasks/{task_id:int}", get_task),
    ],
    lifespan=lifespan,
)
