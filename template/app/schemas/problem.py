"""RFC 9457 problem details, the body of every error response."""

from pydantic import BaseModel, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    """One invalid input value."""

    loc: list[str | int] = Field(description="Where the value is, e.g. ['body', 'title'].")
    msg: str
    type: str


class Problem(BaseModel):
    type: str = Field(default="about:blank", description="A URI naming the problem kind.")
    title: str = Field(description="Short summary of the problem kind (the HTTP reason phrase).")
    status: int
    detail: str | None = Field(default=None, description="What went wrong in this occurrence.")
    instance: str | None = Field(default=None, description="The request path.")
    errors: list[FieldError] | None = Field(default=None, description="Invalid values (422 only).")
