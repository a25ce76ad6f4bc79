"""Base classes, types and limits shared by every request and response schema."""

import math
import re
import sys
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    JsonValue,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

# PostgreSQL cannot store NUL characters in text: refusing them here gives a 422, not a 500.
NO_NUL = r"^[^\x00]*$"

MIN_INT, MAX_INT = -(2**31), 2**31 - 1
# Integers every JSON client reads exactly (JavaScript's Number.MAX_SAFE_INTEGER): the range of
# ids and bigint fields in the API, although the bigint columns could hold more.
MIN_SAFE_INTEGER, MAX_SAFE_INTEGER = -(2**53 - 1), 2**53 - 1


def _iso_text(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 string")
    return value


# Years 1000 to 2999: whatever its UTC offset, such a time stays within the years Python and
# the database driver can read back (a time early on 0001-01-01 would fall before year 1 in UTC).
DATETIME_PATTERN = r"^[12]\d{3}-"


def _iso_datetime_text(value: object) -> object:
    if not isinstance(value, str) or not re.match(DATETIME_PATTERN, value):
        raise ValueError("expected an ISO 8601 date-time with a year from 1000 to 2999")
    return value


def _json_number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected an integer")
    return value


# Request bodies are strict (no "1" for 1, no 0 for false). The exceptions accept exactly what
# their JSON Schema allows: integers also as 3.0 (a JSON Schema integer; use after the bounds,
# e.g. Annotated[int, Field(strict=False, ge=0), JSON_INTEGER]), and the types JSON can only
# carry as text, from their documented string forms.
JSON_INTEGER = BeforeValidator(_json_number)
IsoDate = Annotated[date, Field(strict=False), BeforeValidator(_iso_text)]
IsoDatetime = Annotated[
    AwareDatetime,
    Field(strict=False),
    BeforeValidator(_iso_datetime_text),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": DATETIME_PATTERN}),
]
UuidString = Annotated[UUID, Field(strict=False)]

SearchText = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
Id = Annotated[int, Field(ge=1, le=MAX_SAFE_INTEGER)]
Reference = Annotated[int, Field(strict=False, ge=1, le=MAX_SAFE_INTEGER), JSON_INTEGER]
# The ids a refs field links to (app/db/links.py), a bounded list: a duplicate counts once.
MAX_LINKS = 100
References = Annotated[list[Reference], Field(max_length=MAX_LINKS)]


@dataclass(frozen=True)
class DecimalText:
    """Decimals arrive as JSON strings matching `pattern` ("12.50"): JSON numbers would be parsed
    as floats first and lose digits. The pattern documents the digits in the OpenAPI schema."""

    pattern: str

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_before_validator_function(self._text, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "pattern": self.pattern}

    def _text(self, value: object) -> object:
        if not isinstance(value, str) or not re.fullmatch(self.pattern, value):
            raise ValueError(f"expected a decimal as a string matching {self.pattern}")
        return value


# JSON fields take any JSON value PostgreSQL's jsonb stores: none with the NUL character or a lone
# surrogate ("\ud800") in its text (strings and keys), or a number beyond a double, which Python
# reads as infinite. JsonDocument is its JSON Schema, which clients and fuzzers read; StorableJson
# is the field type, whose one check names the first part jsonb would refuse (a 422, not the
# database's error).
type JsonText = Annotated[str, Field(pattern=NO_NUL)]
type JsonDocument = (
    dict[JsonText, JsonDocument]
    | list[JsonDocument]
    | JsonText
    | bool
    | int
    | Annotated[float, Field(ge=-sys.float_info.max, le=sys.float_info.max)]
    | None
)


def _text_refusal(text: str) -> str | None:
    if "\x00" in text:
        return "JSON text cannot hold the NUL character (\\u0000)"
    try:
        text.encode()
    except UnicodeEncodeError:
        return "JSON text must be Unicode: a lone surrogate (\\ud800-\\udfff) is not"
    return None


def _json_refusal(document: object) -> str | None:
    """Why jsonb would refuse `document` and where (a path like $.tags[2]), or None.
    A loop, not recursion: Python's JSON parser accepts nesting deeper than its call stack."""
    pending: list[tuple[str, object]] = [("$", document)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str) and (refusal := _text_refusal(value)):
            return f"{refusal}: {path}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"JSON numbers must be finite: {path}"
        if isinstance(value, list):
            pending.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
        elif isinstance(value, dict):
            for key, item in value.items():
                if refusal := _text_refusal(str(key)):
                    return f"{refusal}: a key of {path}"
                pending.append((f"{path}.{key}", item))
    return None


def _storable_json(value: object) -> object:
    if refusal := _json_refusal(value):
        raise PydanticCustomError("json_not_storable", refusal)
    return value


StorableJson = Annotated[
    JsonValue, BeforeValidator(_storable_json, json_schema_input_type=JsonDocument)
]


class InputModel(BaseModel):
    """A request body: strictly typed, and unknown fields are refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid", strict=True)


class OutputModel(BaseModel):
    """A response body, read from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


class Record(OutputModel):
    """A resource as reads return it (its `Read` schema): repositories validate it straight from
    the selected columns, services and routes pass it on, FastAPI serializes it."""

    id: int
