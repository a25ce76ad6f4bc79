"""Property-based fuzzing of the whole API from its OpenAPI document (schemathesis, in-process).

Every default check runs: no server errors, status codes, content types, headers and bodies as
documented, invalid input refused, valid input accepted, and -- in the stateful test -- chains of
calls (create, then read, change, delete) that keep the API consistent.
"""

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import positive_data_acceptance
from schemathesis.specs.openapi.schemas import OpenApiSchema

from app.core.config import Settings
from app.main import create_app
from tests.database import empty_tables

# Every request the schema calls valid is served, or refused with a documented domain status,
# never 422: a stale If-Match is valid input that the API rightly refuses (412), like a missing
# id (404) or a duplicate (409). On lists, a `cursor` is any string to the schema, but only
# cursors the API issued are valid: OpenAPI cannot say which, so lists document 400 for others.
# A missing If-Match gets 428 where settings require one.
ACCEPTED = ["2xx", "404", "409", "412", "428"]
ACCEPTANCE = {
    "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
    "operations": [
        {
            "include-method": "GET",
            "include-path-regex": "^/api/v1/[^/]+$",
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400"]}},
        }
    ],
}
CONFIG = SchemathesisConfig.from_dict(ACCEPTANCE)
VALID_ONLY = SchemathesisConfig.from_dict(ACCEPTANCE | {"generation": {"mode": "positive"}})
FUZZING = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture
def api_schema(live_settings: Settings) -> Iterator[OpenApiSchema]:
    """The API of an app running on a database of its own, which fuzzing may fill freely."""
    app = create_app(live_settings)
    yield schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)
    shutdown_lifespans()


@pytest.fixture
def valid_requests(live_settings: Settings) -> Iterator[OpenApiSchema]:
    """The same API, generating only requests its schema calls valid."""
    app = create_app(live_settings)
    yield schemathesis.openapi.from_asgi("/openapi.json", app, config=VALID_ONLY)
    shutdown_lifespans()


schema = schemathesis.pytest.from_fixture("api_schema")
valid_schema = schemathesis.pytest.from_fixture("valid_requests")


@schema.parametrize()
@FUZZING
def test_every_operation_honours_its_documentation(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate()


@valid_schema.parametrize()
@FUZZING
def test_every_valid_request_is_served(case: schemathesis.Case[Any]) -> None:
    """Valid data only, checked only for acceptance: a failure here is a request the schema
    allows that the API refuses with a status outside ACCEPTED (a 422 means they disagree)."""
    case.call_and_validate(checks=[positive_data_acceptance])


def test_sequences_of_calls_stay_consistent(
    api_schema: OpenApiSchema, live_settings: Settings
) -> None:
    database_url = live_settings.database_url.get_secret_value()

    class Workflow(api_schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Each sequence starts from empty tables, so replaying one repeats its responses.
            asyncio.run(empty_tables(database_url))

    Workflow.run(settings=settings(FUZZING, stateful_step_count=6))
