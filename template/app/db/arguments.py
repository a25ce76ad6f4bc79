"""Whether a statement's values fit the columns they are compared with, checked before sending.

Why: asyncpg encodes parameters on the client, after the server has parsed the statement. A value
it cannot encode (an integer beyond 64 bits, text with a lone surrogate, a time before year 1 in
UTC) fails there, with the server left mid-statement (app/db/direct.py). The schemas bound what
clients send; this is the one check that holds for every statement, whatever a repository builds
and wherever its values come from (a path, a filter, a cursor).
"""

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import BigInteger, DateTime, Enum, Integer, SmallInteger, String, Uuid
from sqlalchemy.types import TypeDecorator, TypeEngine

from app.core.errors import ValueOutOfRangeError
from app.core.storable import (
    Refusal,
    datetime_refusal,
    integer_refusal,
    text_refusal,
    uuid_refusal,
)


def refusal_of(type_: TypeEngine[Any]) -> Refusal | None:
    """The check for values of a parameter of type `type_`, or None when asyncpg encodes every
    value the schemas let through (booleans, floats, decimals, dates)."""
    if isinstance(type_, TypeDecorator):  # a custom type: its values are its database type's
        return refusal_of(type_.impl_instance)
    if isinstance(type_, SmallInteger | BigInteger):
        return integer_refusal(16 if isinstance(type_, SmallInteger) else 64)
    if isinstance(type_, Integer):
        return integer_refusal(32)
    if isinstance(type_, String) and not isinstance(type_, Enum):
        return text_refusal
    if isinstance(type_, DateTime):
        return datetime_refusal
    if isinstance(type_, Uuid):
        return uuid_refusal
    return None


def check_arguments(refusals: Iterable[tuple[str, Refusal]], values: Mapping[str, Any]) -> None:
    """ValueOutOfRangeError saying why the first value that does not fit its column does not."""
    for name, refusal in refusals:
        value = values[name]
        if value is not None and (reason := refusal(value)) is not None:
            raise ValueOutOfRangeError(f"A value in the request does not fit its column: {reason}.")
