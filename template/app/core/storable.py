"""Whether PostgreSQL (through asyncpg) can take a value: the refusals, each with its reason.

`app.db.arguments` applies them to every statement's values by column type; `app.core.cursor`
to the values a cursor carries, which clients can forge.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any
from uuid import UUID

# Why a value cannot be stored or compared, or None when it can.
type Refusal = Callable[[Any], str | None]


@cache
def integer_refusal(bits: int) -> Refusal:
    """The refusal of values outside a `bits`-bit signed integer column."""
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    def refusal(value: Any) -> str | None:
        if not isinstance(value, int):
            return "expected an integer"
        if not low <= value <= high:
            return f"{value} is outside the range of a {bits}-bit integer column"
        return None

    return refusal


def text_refusal(value: Any) -> str | None:
    if not isinstance(value, str):
        return "expected text"
    if "\x00" in value:
        return "text cannot hold the NUL character"
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            return "text must be Unicode: a lone surrogate (\\ud800-\\udfff) is not"
    return None


def datetime_refusal(value: Any) -> str | None:
    """A time whose UTC equivalent Python cannot hold is refused: asyncpg converts every time
    to UTC (one without an offset as local time), failing on the first and last days of
    Python's years."""
    if not isinstance(value, datetime):
        return "expected a date-time"
    if value not in (datetime.min, datetime.max):  # sent as -infinity and infinity
        try:
            value.astimezone(UTC)
        except (OverflowError, ValueError):
            return f"{value.isoformat()} falls outside the years a date-time column holds"
    return None


def uuid_refusal(value: Any) -> str | None:
    if isinstance(value, UUID):
        return None
    try:
        UUID(str(value))
    except ValueError:
        return "expected a UUID"
    return None


def any_refusal(value: Any) -> str | None:
    """The refusal of a value of any type a JSON document or a schema gives: integers beyond
    64 bits, unstorable text and unconvertible times; other values pass."""
    if isinstance(value, str):
        return text_refusal(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return integer_refusal(64)(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:  # every time the API gives out carries its offset
            return "expected a date-time with its UTC offset"
        return datetime_refusal(value)
    return None
