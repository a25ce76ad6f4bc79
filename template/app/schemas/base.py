"""Base classes and limits shared by every request and response schema."""

from pydantic import BaseModel, ConfigDict

# PostgreSQL cannot store NUL characters in text: refusing them here gives a 422, not a 500.
NO_NUL = r"^[^\x00]*$"

MIN_INT, MAX_INT = -(2**31), 2**31 - 1
MIN_BIGINT, MAX_BIGINT = -(2**63), 2**63 - 1


class InputModel(BaseModel):
    """A request body: unknown fields are refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class OutputModel(BaseModel):
    """A response body, read from ORM objects."""

    model_config = ConfigDict(from_attributes=True)
