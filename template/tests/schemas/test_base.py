"""app/schemas/base.py: a JSON field accepts exactly the JSON values PostgreSQL's jsonb stores,
and its JSON Schema says which (a fuzzer drawing from the schema must never get a 422)."""

import math
import re
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.schemas.base import NO_NUL, StorableJson

STORABLE_JSON = TypeAdapter(StorableJson)
# The value bound as the app binds a JSON field (SQLAlchemy's JSONB type), read back from jsonb.
ROUND_TRIP = text("SELECT CAST(:document AS jsonb)").bindparams(bindparam("document", type_=JSONB))

# Any text a JSON client can send, including NUL ("\u0000") and a lone surrogate ("\ud800"; two
# in a row would be one character to a JSON parser).
ANY_TEXT = st.text() | st.characters(categories=["Cs"])
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)


def test_json_of_every_kind_and_depth_is_accepted() -> None:
    document = {"a": [1, 2.5, True, None, "é ✓"], "b": {"c": {"d": []}}, "": -1e308}
    assert STORABLE_JSON.validate_python(document) == document


@pytest.mark.parametrize(
    ("document", "why", "where"),
    [
        ({"tags": ["x", "a\x00b"]}, "NUL", "$.tags[1]"),
        ([{"k\x00": 1}], "NUL", "a key of $[0]"),
        ({"n": [math.inf]}, "finite", "$.n[0]"),
        ({"n": -math.inf}, "finite", "$.n"),
        ({"s": "\ud800"}, "lone surrogate", "$.s"),
        ({"\udfff": 1}, "lone surrogate", "a key of $"),
    ],
)
def test_what_jsonb_refuses_is_refused_naming_where(document: object, why: str, where: str) -> None:
    with pytest.raises(ValidationError) as refused:
        STORABLE_JSON.validate_python(document)
    (error,) = refused.value.errors()
    assert error["type"] == "json_not_storable"
    assert re.fullmatch(f".*{why}.*: {re.escape(where)}", error["msg"])


def test_the_json_schema_says_what_is_refused() -> None:
    schema = STORABLE_JSON.json_schema()
    definitions = schema["$defs"]
    text_ref = {"$ref": "#/$defs/JsonText"}
    assert definitions["JsonText"] == {"type": "string", "pattern": NO_NUL}
    assert schema["$ref"] == "#/$defs/JsonDocument"
    choices = definitions["JsonDocument"]["anyOf"]
    objects = next(choice for choice in choices if choice.get("type") == "object")
    assert objects["propertyNames"] == text_ref  # every key, not only those a pattern matches
    assert text_ref in choices
    numbers = next(choice for choice in choices if choice.get("type") == "number")
    assert numbers["maximum"] == -numbers["minimum"] == 1.7976931348623157e308


@given(document=ANY_JSON)
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
async def test_validation_accepts_exactly_what_jsonb_stores(
    connection: AsyncConnection, document: object
) -> None:
    try:
        STORABLE_JSON.validate_python(document)
        accepted = True
    except ValidationError:
        accepted = False
    try:
        async with connection.begin_nested():
            stored = (await connection.execute(ROUND_TRIP, {"document": document})).scalar_one()
    except DBAPIError:
        assert not accepted, "validation accepted a document PostgreSQL refuses (a 422, not a 201)"
    else:
        assert accepted, "validation refused a document PostgreSQL stores"
        assert as_json_numbers(stored) == as_json_numbers(document)


def as_json_numbers(value: object) -> object:
    """`value` with each number as the decimal its JSON text means: jsonb gives 1.5e16 back as
    15000000000000000, the same JSON number."""
    if isinstance(value, list):
        return [as_json_numbers(item) for item in value]
    if isinstance(value, dict):
        return {key: as_json_numbers(item) for key, item in value.items()}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(repr(value))
    return value
