"""The service as deployed: uvicorn with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a real OTLP/HTTP
receiver gets the spans of its requests and statements, and its metrics, over HTTP."""

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from app.core.config import Settings
from app.core.telemetry import DEFAULT_SERVICE_NAME
from tests.factories import all_factories
from tests.observability.otlp_receiver import OtlpReceiver
from tests.observability.service import served

FACTORY = all_factories()[0]


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture
def service(live_settings: Settings, receiver: OtlpReceiver) -> Iterator[str]:
    """The service in a uvicorn process of its own, exporting to `receiver`; its URL."""
    env = {
        "DATABASE_URL": live_settings.database_url.get_secret_value(),
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # milliseconds between span batches
        "OTEL_METRIC_EXPORT_INTERVAL": "200",
        "METRICS_PORT": "0",  # when the project serves Prometheus metrics too
    }
    with served(env) as url:
        yield url


def server_spans(receiver: OtlpReceiver) -> list[Span]:
    return [span for _, span in receiver.spans() if span.kind == Span.SPAN_KIND_SERVER]


def wait_for_span(receiver: OtlpReceiver, name: str, timeout: float = 20) -> None:
    """Until a server span whose name matches the regular expression `name` is received."""
    deadline = time.monotonic() + timeout
    with receiver.received:
        while not any(re.fullmatch(name, span.name) for span in server_spans(receiver)):
            assert time.monotonic() < deadline, f"no span {name!r} received"
            receiver.received.wait(timeout=0.2)


async def test_spans_reach_a_real_otlp_receiver(service: str, receiver: OtlpReceiver) -> None:
    async with httpx.AsyncClient(base_url=service) as client:
        created = await FACTORY.create(client)
        assert (await client.get("/health/ready")).status_code == 200
        assert (await client.get(f"{FACTORY.path}/{created['id']}")).status_code == 200

    wait_for_span(receiver, "GET " + re.escape(FACTORY.path) + r"/\{\w+\}")  # the route template

    servers = server_spans(receiver)
    assert f"POST {FACTORY.path}" in {span.name for span in servers}
    assert not [span.name for span in servers if "/health/" in span.name]
    assert {resource.get("service.name") for resource, _ in receiver.spans()} == {
        DEFAULT_SERVICE_NAME
    }
    statements = [span for _, span in receiver.spans() if span.kind == Span.SPAN_KIND_CLIENT]
    assert statements
    assert {span.parent_span_id for span in statements} <= {span.span_id for span in servers}


async def test_metrics_reach_a_real_otlp_receiver(service: str, receiver: OtlpReceiver) -> None:
    async with httpx.AsyncClient(base_url=service) as client:
        assert (await client.get(FACTORY.path)).status_code == 200
    deadline = time.monotonic() + 20
    with receiver.received:
        while "http.server.request.duration" not in receiver.metric_names():
            assert time.monotonic() < deadline, receiver.metric_names()
            receiver.received.wait(timeout=0.2)
    assert "db.client.connections.usage" in receiver.metric_names()
