"""Opaque page cursors: the sort order and the last item's sort values, in URL-safe base64.

The one home of the cursor format: `app.schemas.pagination` decodes cursors when it validates a
list query, and `app.repos.base` encodes the next page's cursor.
"""

import base64
import binascii
import json
from functools import cache
from typing import Any

from pydantic import TypeAdapter
from pydantic_core import to_jsonable_python

from app.core.storable import any_refusal


def encode_cursor(sort: str, values: list[Any]) -> str:
    payload = json.dumps([sort, *to_jsonable_python(values)], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str, value_type: type) -> tuple[Any, ...]:
    """The values in `cursor`: (value, id), or (id,) when sorting by id.

    ValueError if the cursor is malformed or was made for another sort order, or if a value
    could not be compared with its column (a cursor is forged as easily as any parameter).
    """
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("cursor is malformed") from None
    if not isinstance(payload, list) or not payload or payload[0] != sort:
        raise ValueError("cursor does not belong to this sort order; start again without a cursor")
    types = [value_type] if sort.removeprefix("-") == "id" else [value_type, int]
    if len(payload) != len(types) + 1:
        raise ValueError("cursor is malformed")
    try:
        values = tuple(
            _adapter(kind).validate_python(value)
            for kind, value in zip(types, payload[1:], strict=True)
        )
    except ValueError:
        raise ValueError("cursor is malformed") from None
    if any(any_refusal(value) is not None for value in values):
        raise ValueError("cursor is malformed")
    return values


@cache
def _adapter(kind: type) -> TypeAdapter[Any]:
    return TypeAdapter(kind)
