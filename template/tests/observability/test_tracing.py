"""Tracing (app/core/telemetry.py), with an in-memory exporter: one server span per request named
by its route template, one client span per SQL statement beneath it, nothing for health checks,
and the trace id in the request's log line."""

import io
import json
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import nullcontext

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from opentelemetry import metrics, trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import Integer, bindparam, event, select

from app.core import telemetry
from app.core.config import Settings
from app.core.logging import configure_logging
from app.db.direct import fetch_rows
from app.main import create_app
from tests.clients import running
from tests.factories import all_factories

FACTORY = all_factories()[0]


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
def statements(app: FastAPI, client: AsyncClient) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs, as SQLAlchemy itself reports them."""
    executed: list[str] = []

    def record(*args: object) -> None:
        executed.append(str(args[2]))

    engine = app.state.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    yield executed
    event.remove(engine, "before_cursor_execute", record)


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


async def test_statements_of_unrecorded_requests_skip_sqlalchemy(
    app: FastAPI, client: AsyncClient, traced: telemetry.Telemetry, statements: list[str]
) -> None:
    """Only a recorded trace needs SQLAlchemy's events (they make the statement spans); other
    statements go straight to asyncpg (app/db/direct.py), as without telemetry."""
    select_one = select(bindparam("n", type_=Integer).label("n"))
    tracer = traced.tracer_provider.get_tracer("test")
    for recorded in (False, True):
        statements.clear()
        async with app.state.database.session() as session:
            with tracer.start_as_current_span("request") if recorded else nullcontext():
                rows = await fetch_rows(session, ("test", "one"), lambda: select_one, {"n": 1})
        assert rows == [{"n": 1}]
        assert len(statements) == (1 if recorded else 0)


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
