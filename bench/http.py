"""Single HTTP requests, for the checks made before loading an app."""

import json
import urllib.request
from typing import Any

from bench.errors import HarnessError


def call(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    """The status and decoded JSON body of one request; HarnessError unless it is a 2xx."""
    request = urllib.request.Request(  # noqa: S310  (loopback URLs the harness built)
        url,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except OSError as error:
        raise HarnessError(f"{method} {url} failed: {error}") from error
