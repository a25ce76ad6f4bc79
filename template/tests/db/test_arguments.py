"""The checks that stand between a statement's values and asyncpg (app/db/arguments.py)."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Integer,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    Uuid,
)
from sqlalchemy.types import TypeEngine

from app.core.errors import ValueOutOfRangeError
from app.db.arguments import check_arguments, refusal_of


class Wrapped(TypeDecorator[int]):
    impl = BigInteger
    cache_ok = True


@pytest.mark.parametrize(
    ("type_", "fits", "does_not_fit"),
    [
        (SmallInteger(), 2**15 - 1, 2**15),
        (Integer(), -(2**31), -(2**31) - 1),
        (BigInteger(), 2**63 - 1, 2**63),
        (Wrapped(), 2**63 - 1, 2**63),
        (String(10), "é", "\ud800"),
        (Text(), "text", "nul\x00"),
        (
            DateTime(timezone=True),
            datetime(1, 1, 1, tzinfo=UTC),
            datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
        ),
        (Uuid(), "12345678-1234-5678-1234-567812345678", "not-a-uuid"),
    ],
)
def test_a_value_its_column_cannot_hold_is_refused_with_the_reason(
    type_: TypeEngine[Any], fits: object, does_not_fit: object
) -> None:
    refusal = refusal_of(type_)
    assert refusal is not None
    check_arguments([("value", refusal)], {"value": fits})
    check_arguments([("value", refusal)], {"value": None})  # NULL fits every column
    with pytest.raises(ValueOutOfRangeError, match="does not fit its column"):
        check_arguments([("value", refusal)], {"value": does_not_fit})


def test_types_asyncpg_encodes_whatever_the_schemas_give_are_not_checked() -> None:
    assert refusal_of(Boolean()) is None
