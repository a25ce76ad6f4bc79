"""Tracing (app/core/telemetry.py), with an in-memory exporter: one server span per request named
by its route template, one client span per SQL statement beneath it, nothing for health checks,
and the trace id in the request's log line."""

import asyncio
import io
import json
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import nullcontext, suppress

import pytest
from asyncpg.connection import LoggedQuery
from fastapi import FastAPI
from httpx import AsyncClient
from opentelemetry import metrics, trace
from opentelemetry.instrumentation._semconv import (
    _OpenTelemetrySemanticConventionStability as SemanticConventions,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import BigInteger, Integer, Select, String, bindparam, cast, event, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine.interfaces import AdaptedConnection
from sqlalchemy.exc import DBAPIError

from app.core import telemetry
from app.core.config import Settings
from app.core.logging import configure_logging
from app.db.direct import fetch_rows
from app.main import create_app
from tests.clients import running
from tests.factories import all_factories

FACTORY = all_factories()[0]
SELECT_N = select(bindparam("n", type_=Integer).label("n"))
N_MODULO_D = func.mod(bindparam("n", type_=Integer), bindparam("d", type_=Integer), type_=Integer)
SELECT_N_MODULO_D = select(N_MODULO_D.label("n"))
SELECT_AS_JSON = select(cast(bindparam("text", type_=String), JSONB).label("n"))
COUNT_TO_N = select(func.count().label("n")).select_from(
    func.generate_series(bindparam("one", type_=BigInteger), bindparam("n", type_=BigInteger))
)
TRANSACTION_CONTROL = frozenset({"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"})


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def traced(exporter: InMemorySpanExporter) -> telemetry.Telemetry:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return telemetry.Telemetry(provider, metrics.NoOpMeterProvider())


@pytest.fixture
async def app(
    live_settings: Settings, traced: telemetry.Telemetry, monkeypatch: pytest.MonkeyPatch
) -> FastAPI:
    """The app, on a database of its own, as `create_app` makes it when an OTLP endpoint is
    configured, but exporting to memory."""
    monkeypatch.setattr(telemetry, "from_environment", lambda: traced)
    return create_app(live_settings)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with running(app) as client:
        yield client


@pytest.fixture
def sqlalchemy_statements(app: FastAPI, client: AsyncClient) -> Iterator[list[str]]:
    """Every SQL statement SQLAlchemy runs on the app's engine, as its events report them."""
    executed: list[str] = []

    def record(*args: object) -> None:
        executed.append(str(args[2]))

    engine = app.state.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    yield executed
    event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def statements(app: FastAPI, sqlalchemy_statements: list[str]) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs but transaction control (which has no span):
    SQLAlchemy's, and those app.db.direct sends on asyncpg itself, as asyncpg logs them
    (asyncpg does not log the prepared statements SQLAlchemy runs)."""

    def log(query: LoggedQuery) -> None:
        if query.query.split(maxsplit=1)[0].rstrip(";").upper() not in TRANSACTION_CONTROL:
            sqlalchemy_statements.append(query.query)

    def listen(dbapi_connection: AdaptedConnection, *_: object) -> None:
        dbapi_connection.driver_connection.add_query_logger(log)

    engine = app.state.database.engine.sync_engine
    event.listen(engine, "checkout", listen)
    yield sqlalchemy_statements
    event.remove(engine, "checkout", listen)


def json_logs_of(settings: Settings) -> io.StringIO:
    """From now on, the log lines as JSON in a stream (create_app configures logging anew)."""
    stream = io.StringIO()
    configure_logging(settings.model_copy(update={"log_json": True, "log_level": "INFO"}), stream)
    return stream


@pytest.fixture
def json_logs(app: FastAPI, live_settings: Settings) -> Iterator[io.StringIO]:
    yield json_logs_of(live_settings)
    configure_logging(live_settings)


def server_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.kind == trace.SpanKind.SERVER]


def client_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.kind == trace.SpanKind.CLIENT]


def hex_ids(span: ReadableSpan) -> tuple[str, str]:
    context = span.get_span_context()
    assert context is not None
    return trace.format_trace_id(context.trace_id), trace.format_span_id(context.span_id)


async def test_a_request_is_one_server_span_named_by_its_route_template(
    client: AsyncClient, exporter: InMemorySpanExporter
) -> None:
    created = await FACTORY.create(client)
    exporter.clear()

    response = await client.get(f"{FACTORY.path}/{created['id']}")

    assert response.status_code == 200
    [span] = server_spans(exporter)
    assert re.fullmatch("GET " + re.escape(FACTORY.path) + r"/\{\w+\}", span.name), span.name
    assert span.attributes is not None
    assert span.attributes["http.route"] == span.name.removeprefix("GET ")
    assert span.attributes["http.response.status_code"] == 200


async def test_each_statement_is_a_client_span_beneath_the_request(
    client: AsyncClient, exporter: InMemorySpanExporter, statements: list[str]
) -> None:
    created = await FACTORY.create(client)
    exporter.clear()
    statements.clear()

    await client.get(f"{FACTORY.path}/{created['id']}")
    await client.get(FACTORY.path, params={"limit": 5, "offset": 0})

    spans = exporter.get_finished_spans()
    requests = {span.context.span_id: span for span in server_spans(exporter) if span.context}
    database = [span for span in spans if span.kind == trace.SpanKind.CLIENT]
    assert len(requests) == 2
    assert statements
    assert len(database) == len(statements)
    assert all(span.parent is not None and span.parent.span_id in requests for span in database)
    assert {span.name.split()[0] for span in database} == {"SELECT"}


async def test_traced_statements_keep_the_short_path(
    app: FastAPI,
    traced: telemetry.Telemetry,
    exporter: InMemorySpanExporter,
    sqlalchemy_statements: list[str],
) -> None:
    """A statement app.db.direct can send on asyncpg itself is sent there, traced or not: it
    makes its span itself, in a recorded trace only."""
    tracer = traced.tracer_provider.get_tracer("test")
    for recorded in (False, True):
        exporter.clear()
        async with app.state.database.session() as session:
            with tracer.start_as_current_span("request") if recorded else nullcontext():
                rows = await fetch_rows(session, ("test", "one"), lambda: SELECT_N, {"n": 1})
        assert rows == [{"n": 1}]
        assert sqlalchemy_statements == []
        assert len(client_spans(exporter)) == (1 if recorded else 0)


@pytest.fixture(params=["", "database/dup,http/dup"], ids=["default conventions", "both"])
def conventions(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """OTEL_SEMCONV_STABILITY_OPT_IN as given, read anew by the engine's tracers (the
    instrumentation reads it once per process)."""
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", request.param)
    monkeypatch.setattr(SemanticConventions, "_initialized", False)
    mapping = "_OTEL_SEMCONV_STABILITY_SIGNAL_MAPPING"  # changed in place: restored afterwards
    monkeypatch.setattr(SemanticConventions, mapping, dict(getattr(SemanticConventions, mapping)))


@pytest.mark.parametrize(
    ("statement", "values", "status"),
    [
        (SELECT_N_MODULO_D, {"n": 1, "d": 2}, trace.StatusCode.UNSET),
        (SELECT_N_MODULO_D, {"n": 1, "d": 0}, trace.StatusCode.ERROR),
        (SELECT_AS_JSON, {"text": "not json"}, trace.StatusCode.ERROR),  # with a DETAIL
    ],
    ids=["answered", "refused by the server", "refused with a detail"],
)
async def test_a_statement_has_the_same_span_whichever_path_runs_it(
    conventions: None,
    app: FastAPI,
    traced: telemetry.Telemetry,
    exporter: InMemorySpanExporter,
    sqlalchemy_statements: list[str],
    statement: Select[tuple[object]],
    values: dict[str, object],
    status: trace.StatusCode,
) -> None:
    """The span app.db.direct makes for a statement on asyncpg is the one the instrumentation
    makes for it through SQLAlchemy: name, kind, attributes in the conventions asked for,
    parent, status and its description (PostgreSQL's message, never its DETAIL: it can quote a
    row's values)."""
    tracer = traced.tracer_provider.get_tracer("test")
    for key in (("test", str(statement)), None):  # asyncpg itself, then SQLAlchemy
        async with app.state.database.session() as session:
            with tracer.start_as_current_span("request"), suppress(DBAPIError):
                await fetch_rows(session, key, lambda: statement, values)
    direct, through_sqlalchemy = client_spans(exporter)
    assert len(sqlalchemy_statements) == 1  # the second
    for span in (direct, through_sqlalchemy):
        assert span.parent is not None
        assert span.status.status_code == status
    assert direct.name == through_sqlalchemy.name
    assert direct.status.description == through_sqlalchemy.status.description
    assert "DETAIL" not in (direct.status.description or "")
    assert dict(direct.attributes or {}) == dict(through_sqlalchemy.attributes or {})


async def test_a_cancelled_statement_ends_its_span(
    app: FastAPI,
    traced: telemetry.Telemetry,
    exporter: InMemorySpanExporter,
    sqlalchemy_statements: list[str],
) -> None:
    """A statement cancelled on asyncpg (a client gone, a timeout) still ends its span, as an
    error described as through SQLAlchemy; the next statement is traced as usual."""
    tracer = traced.tracer_provider.get_tracer("test")
    for key in (("test", "slow"), None):  # asyncpg itself, then SQLAlchemy
        async with app.state.database.session() as session:
            with tracer.start_as_current_span("request"), pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):
                    await fetch_rows(session, key, lambda: COUNT_TO_N, {"one": 1, "n": 10**10})
    assert len(sqlalchemy_statements) == 1  # the second
    async with app.state.database.session() as session:
        with tracer.start_as_current_span("request"):
            assert await fetch_rows(session, ("test", "one"), lambda: SELECT_N, {"n": 1})
    direct, through_sqlalchemy, answered = client_spans(exporter)
    for cancelled in (direct, through_sqlalchemy):
        assert cancelled.status.status_code == trace.StatusCode.ERROR
    assert direct.status.description == through_sqlalchemy.status.description
    assert answered.status.status_code == trace.StatusCode.UNSET


async def test_connection_usage_is_read_from_the_pool(
    live_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`db.client.connections.usage`, by state, as the instrumentation names it: read from the
    pool when metrics are collected, not counted at every checkout; an app started again in the
    same process (its meter provider kept) is read too."""
    reader = InMemoryMetricReader()
    metered = telemetry.Telemetry(TracerProvider(), MeterProvider(metric_readers=[reader]))
    monkeypatch.setattr(telemetry, "from_environment", lambda: metered)
    for _ in range(2):
        app = create_app(live_settings)
        async with running(app):
            async with app.state.database.session() as session:
                await session.connection()
                during = connection_usage(reader)
            after = connection_usage(reader)
        url = app.state.database.engine.url
        pool = f"{url.drivername}://{url.host}:{url.port}/{url.database}"
        assert during[pool, "used"] == 1
        assert after[pool, "used"] == 0
        assert after[pool, "idle"] == during[pool, "idle"] + 1


def connection_usage(reader: InMemoryMetricReader) -> dict[tuple[str, str], int]:
    """The connections by (pool, state), as collected now."""
    data = reader.get_metrics_data()
    assert data is not None
    return {
        (str(attributes["pool.name"]), str(attributes["state"])): int(point.value)
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "db.client.connections.usage"
        for point in metric.data.data_points
        if isinstance(point, NumberDataPoint) and (attributes := point.attributes) is not None
    }


async def test_health_checks_are_not_traced(
    client: AsyncClient, exporter: InMemorySpanExporter, statements: list[str]
) -> None:
    exporter.clear()
    assert (await client.get("/health/live")).status_code == 200
    assert (await client.get("/health/ready")).status_code == 200
    assert statements  # the readiness probe did query the database
    assert exporter.get_finished_spans() == ()


async def test_the_request_log_line_carries_the_trace_and_span_ids(
    client: AsyncClient, exporter: InMemorySpanExporter, json_logs: io.StringIO
) -> None:
    exporter.clear()
    response = await client.get(f"{FACTORY.path}/999999", headers={"x-request-id": "traced-1"})

    assert response.status_code == 404
    [span] = server_spans(exporter)
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    [line] = [line for line in lines if line["event"] == "request"]
    assert line["request_id"] == "traced-1"
    assert (line["trace_id"], line["span_id"]) == hex_ids(span)


async def test_errors_are_recorded_on_the_span_and_logged_with_its_trace_id(
    app: FastAPI, exporter: InMemorySpanExporter, json_logs: io.StringIO
) -> None:
    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    async with running(app) as client:
        assert (await client.get("/boom")).status_code == 500

    [span] = server_spans(exporter)
    assert span.status.status_code == trace.StatusCode.ERROR
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    [error] = [line for line in lines if line["level"] == "error"]
    assert error["trace_id"] == hex_ids(span)[0]


async def test_without_an_endpoint_nothing_is_traced(
    live_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    telemetry.from_environment.cache_clear()
    assert telemetry.from_environment() is None

    app = create_app(live_settings)
    logs = json_logs_of(live_settings)
    try:
        async with running(app) as client:
            assert (await client.get(FACTORY.path)).status_code == 200
    finally:
        configure_logging(live_settings)
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    [line] = [line for line in lines if line["event"] == "request"]
    assert "trace_id" not in line
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)


def test_the_sdk_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert not telemetry.endpoint_configured("TRACES")


def test_the_service_is_named_unless_the_environment_names_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    assert telemetry.service_resource().attributes["service.name"] == telemetry.DEFAULT_SERVICE_NAME
    monkeypatch.setenv("OTEL_SERVICE_NAME", "orders-eu")
    assert telemetry.service_resource().attributes["service.name"] == "orders-eu"


def test_a_job_span_is_a_child_of_the_request_that_deferred_it(
    traced: telemetry.Telemetry, exporter: InMemorySpanExporter
) -> None:
    tracer = traced.tracer_provider.get_tracer("tests")
    with tracer.start_as_current_span("POST /api/v1/things") as request_span:
        carried = telemetry.trace_context()
    assert "traceparent" in carried

    with telemetry.job_span("send_welcome_mail", carried, traced.tracer_provider) as job:
        assert job.is_recording()

    [*_, finished] = exporter.get_finished_spans()
    assert finished.kind == trace.SpanKind.CONSUMER
    origin = request_span.get_span_context()
    assert finished.parent is not None
    assert (finished.parent.trace_id, finished.parent.span_id) == (origin.trace_id, origin.span_id)


def test_a_job_queued_outside_a_trace_starts_one(
    traced: telemetry.Telemetry, exporter: InMemorySpanExporter
) -> None:
    tracer = traced.tracer_provider.get_tracer("tests")
    with (
        tracer.start_as_current_span("the worker's own span"),
        telemetry.job_span("remove_finished_jobs", {}, traced.tracer_provider),
    ):
        pass
    [job, _] = exporter.get_finished_spans()
    assert job.parent is None  # not a child of whatever span the worker was in


def test_outside_a_request_there_is_no_context_to_carry() -> None:
    assert telemetry.trace_context() == {}
