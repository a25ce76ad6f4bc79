"""The page cursor's format: what goes in comes back out, and anything else is refused."""

from datetime import UTC, datetime

import pytest

from app.core.cursor import decode_cursor, encode_cursor


def test_a_cursor_round_trips_its_sort_values() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert decode_cursor(encode_cursor("-created_at", [when, 7]), "-created_at", datetime) == (
        when,
        7,
    )
    assert decode_cursor(encode_cursor("id", [42]), "id", int) == (42,)


def test_a_cursor_is_url_safe_text() -> None:
    cursor = encode_cursor("title", ["a/b+c?d=e", 1])
    assert cursor.isascii()
    assert not set(cursor) & set("/+=?&")


@pytest.mark.parametrize(
    ("cursor", "message"),
    [
        ("not base64!", "malformed"),
        (encode_cursor("id", []), "malformed"),
        (encode_cursor("id", [1, 2]), "malformed"),
        (encode_cursor("id", ["one"]), "malformed"),
        (encode_cursor("-id", [1]), "does not belong to this sort order"),
    ],
)
def test_a_cursor_that_does_not_fit_is_refused(cursor: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_cursor(cursor, "id", int)


@pytest.mark.parametrize(
    ("sort", "value_type", "values"),
    [
        ("id", int, [2**63]),
        ("-id", int, [-(2**63) - 1]),
        ("title", str, ["a", 2**70]),
        ("title", str, ["a\ud800", 1]),
        ("title", str, ["a\x00", 1]),
        ("created_at", datetime, ["0001-01-01T00:00:00+14:00", 1]),
        ("created_at", datetime, ["9999-12-31T23:00:00-05:00", 1]),
        ("created_at", datetime, ["0001-01-01T12:00:00", 1]),  # no offset: local time
        ("-updated_at", datetime, ["2026-01-01T00:00:00", 1]),  # the API always gives one
    ],
)
def test_a_forged_value_no_column_holds_is_refused(
    sort: str, value_type: type, values: list[object]
) -> None:
    """Values asyncpg could not send (docs/template/request-path.md, "Faults") never leave the
    cursor."""
    with pytest.raises(ValueError, match="malformed"):
        decode_cursor(encode_cursor(sort, values), sort, value_type)
