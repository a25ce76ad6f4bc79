"""Assertions shared by the API tests."""

from http import HTTPStatus
from typing import Any

from httpx import Response


def assert_problem(response: Response, status: int) -> dict[str, Any]:
    """The response is RFC 9457 problem details with `status`; returns the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"] == HTTPStatus(status).phrase
    return body
