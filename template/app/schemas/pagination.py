"""List query parameters and the page every list endpoint returns.

Two ways to page through a list:

- cursor mode (the default): follow `next_cursor`; every page costs the same at any depth,
  and no total is counted;
- offset mode (`offset=N`): jump to a position; the page carries `total`, which costs a COUNT.

A cursor is an opaque token holding the sort key and the last row's values, so the next page
starts right after it (keyset pagination).
"""

import base64
import binascii
import json
from functools import cache
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationInfo, field_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import to_jsonable_python

DEFAULT_LIMIT, MAX_LIMIT = 20, 100
MAX_OFFSET = 1_000_000  # deeper pages cost a scan of every skipped row: use cursor mode


class ListParams(BaseModel):
    """Paging and sorting; each resource subclasses it to add its filters and sortable fields."""

    model_config = ConfigDict(extra="forbid")

    # Sortable field -> its Python type; `sort` takes each name, or "-name" for descending order.
    sort_fields: ClassVar[dict[str, type]] = {"id": int}

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size.")
    sort: str = Field(default="id", description="Sort field; prefix with '-' for descending order.")
    # SkipJsonSchema[None]: an absent parameter is None, but clients never send null.
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] | SkipJsonSchema[None] = Field(
        default=None, description="Offset mode: skip this many items."
    )
    cursor: Annotated[str, Field(min_length=1, max_length=1000)] | SkipJsonSchema[None] = Field(
        default=None, description="Cursor mode: the `next_cursor` of the previous page."
    )

    @property
    def sort_field(self) -> str:
        return self.sort.removeprefix("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    @property
    def after(self) -> tuple[Any, ...] | None:
        """The previous page's last sort values: (value, id), or (id,) when sorting by id."""
        if self.cursor is None:
            return None
        return decode_cursor(self.cursor, self.sort, self.sort_fields[self.sort_field])

    @field_validator("cursor")
    @classmethod
    def _cursor_fits_query(cls, cursor: str | None, info: ValidationInfo) -> str | None:
        if cursor is None or "sort" not in info.data:  # an invalid sort is reported on its own
            return cursor
        if info.data.get("offset") is not None:
            raise ValueError("use either offset or cursor, not both")
        sort = info.data["sort"]
        decode_cursor(cursor, sort, cls.sort_fields[sort.removeprefix("-")])
        return cursor

    def cursor_after(self, item: Any) -> str:
        """The cursor of the page that starts after `item`."""
        values = [getattr(item, self.sort_field)] + ([item.id] if self.sort_field != "id" else [])
        return encode_cursor(self.sort, values)


class Page[ItemT](BaseModel):
    model_config = ConfigDict(from_attributes=True)

    items: list[ItemT]
    total: int | None = Field(description="Number of matching items; only in offset mode.")
    limit: int
    offset: int | None
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


def encode_cursor(sort: str, values: list[Any]) -> str:
    payload = json.dumps([sort, *to_jsonable_python(values)], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str, value_type: type) -> tuple[Any, ...]:
    """The values in `cursor`; ValueError if it is malformed or made for another sort order."""
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
        return tuple(
            _adapter(kind).validate_python(value)
            for kind, value in zip(types, payload[1:], strict=True)
        )
    except ValueError:
        raise ValueError("cursor is malformed") from None


@cache
def _adapter(kind: type) -> TypeAdapter[Any]:
    return TypeAdapter(kind)
