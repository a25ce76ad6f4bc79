"""List parameters: `sort` follows `sort_fields`, in the schema as in validation."""

from typing import ClassVar

import pytest
from pydantic import ValidationError

from app.core.cursor import encode_cursor
from app.core.errors import InvalidCursorError
from app.schemas.pagination import ListParams


class NoteListParams(ListParams):
    sort_fields: ClassVar[dict[str, type]] = {"id": int, "title": str}


def test_sort_takes_each_sortable_field_in_both_orders() -> None:
    assert NoteListParams(sort="-title").sort_field == "title"
    assert NoteListParams(sort="-title").descending
    with pytest.raises(ValidationError, match="'id', '-id', 'title' or '-title'"):
        NoteListParams(sort="body")


def test_the_schema_lists_the_same_choices() -> None:
    sort = NoteListParams.model_json_schema()["properties"]["sort"]
    assert sort["enum"] == ["id", "-id", "title", "-title"]
    assert sort["default"] == "id"


def test_a_cursor_gives_the_values_the_next_page_starts_after() -> None:
    params = NoteListParams(sort="title", cursor=encode_cursor("title", ["b", 3]))
    assert params.after == ("b", 3)
    assert NoteListParams().after is None


def test_a_cursor_of_another_sort_order_is_refused() -> None:
    params = NoteListParams(sort="-title", cursor=encode_cursor("title", ["b", 3]))
    with pytest.raises(InvalidCursorError, match="does not belong to this sort order"):
        _ = params.after
