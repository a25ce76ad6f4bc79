"""Request ids, security headers and access logs."""

import io
import json
import logging
from collections.abc import Iterator

import pytest
from httpx import AsyncClient
from pydantic import SecretStr

from app.core.config import Settings
from app.core.logging import configure_logging
from app.main import create_app
from tests.clients import http_client


@pytest.fixture
def json_logs(settings: Settings) -> Iterator[io.StringIO]:
    """The JSON log lines written while the test runs."""
    stream = io.StringIO()
    configure_logging(settings.model_copy(update={"log_json": True, "log_level": "INFO"}), stream)
    yield stream
    configure_logging(settings)


def log_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_a_request_id_is_made_when_none_is_sent(client: AsyncClient) -> None:
    response = await client.get("/health/live")
    assert len(response.headers["x-request-id"]) == 32
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_valid_request_id_is_kept(client: AsyncClient) -> None:
    response = await client.get("/health/live", headers={"x-request-id": "edge-7f3a.1"})
    assert response.headers["x-request-id"] == "edge-7f3a.1"


@pytest.mark.parametrize("sent", ["", "x" * 129, "has space", "new\\nline", "<script>"])
async def test_an_unusable_request_id_is_replaced(client: AsyncClient, sent: str) -> None:
    response = await client.get("/health/live", headers={"x-request-id": sent})
    assert response.headers["x-request-id"] != sent
    assert len(response.headers["x-request-id"]) == 32


async def test_error_responses_carry_the_request_id(client: AsyncClient) -> None:
    response = await client.get("/no/such/path", headers={"x-request-id": "trace-404"})
    assert response.status_code == 404
    assert response.headers["x-request-id"] == "trace-404"


async def test_each_request_is_logged_once_with_its_id(
    client: AsyncClient, json_logs: io.StringIO
) -> None:
    await client.get("/health/live", headers={"x-request-id": "trace-log"})
    lines = [line for line in log_lines(json_logs) if line["event"] == "request"]
    assert len(lines) == 1
    line = lines[0]
    assert (line["request_id"], line["method"], line["path"], line["status"]) == (
        "trace-log",
        "GET",
        "/health/live",
        200,
    )
    assert (line["level"], line["logger"]) == ("info", "app.access")
    assert isinstance(line["duration_ms"], float)


async def test_unexpected_errors_are_logged_with_the_request_id_and_no_secret_leaks(
    settings: Settings, json_logs: io.StringIO
) -> None:
    secret = "s3cr3t-passw0rd"  # noqa: S105  (the value that must never leak)
    unreachable = settings.model_copy(
        update={"database_url": SecretStr(f"postgresql+asyncpg://app:{secret}@127.0.0.1:9/none")}
    )
    app = create_app(unreachable)
    logging_settings = unreachable.model_copy(update={"log_json": True, "log_level": "INFO"})
    configure_logging(logging_settings, json_logs)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    async with app.router.lifespan_context(app), http_client(app) as client:
        crashed = await client.get("/boom", headers={"x-request-id": "trace-500"})
        unavailable = await client.get("/health/ready")
    logged = json_logs.getvalue()
    assert crashed.headers["x-request-id"] == "trace-500"
    errors = [line for line in log_lines(json_logs) if line["level"] == "error"]
    assert errors
    assert errors[0]["request_id"] == "trace-500"
    assert "RuntimeError" in str(errors[0]["exception"])
    assert unavailable.status_code == 503
    assert secret not in logged
    assert secret not in unavailable.text


def test_development_logs_are_plain_text(settings: Settings) -> None:
    stream = io.StringIO()
    configure_logging(settings.model_copy(update={"log_json": False}), stream)
    try:
        logging.getLogger("app.test").warning("readable")
    finally:
        configure_logging(settings)
    assert "readable" in stream.getvalue()
    assert not stream.getvalue().startswith("{")
