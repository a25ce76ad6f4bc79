"""The id that ties a request's response, log lines and problem details together."""

import re
from uuid import uuid4

from starlette.types import Scope

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept only if it is short and harmless in logs and headers.
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_for(scope: Scope) -> str:
    """The caller's X-Request-ID when it is valid, else a new random id."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if VALID_REQUEST_ID.match(candidate):
                return candidate
    return uuid4().hex
