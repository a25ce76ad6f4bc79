"""Prometheus metrics (app/api/metrics.py): the documented series with the right labels, served
on their own port and not on the API's, and summed over worker processes."""

import re
import tempfile
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from app.core.config import Settings
from app.main import create_app
from tests.clients import running
from tests.factories import all_factories
from tests.observability.service import free_port, served

FACTORY = all_factories()[0]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    """Every sample /metrics reports, by name and labels."""
    response = httpx.get(url)
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
async def app(live_settings: Settings) -> FastAPI:
    return create_app(live_settings.model_copy(update={"metrics_port": 0}))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with running(app) as client:
        yield client


@pytest.fixture
def metrics_url(app: FastAPI, client: AsyncClient) -> str:
    return f"http://127.0.0.1:{app.state.metrics.port}/metrics"


async def test_requests_are_counted_and_timed_by_route_template_and_status(
    client: AsyncClient, metrics_url: str
) -> None:
    created = await FACTORY.create(client)
    before = scrape(metrics_url)
    for _ in range(3):
        assert (await client.get(f"{FACTORY.path}/{created['id']}")).status_code == 200
    assert (await client.get(f"{FACTORY.path}/999999")).status_code == 404
    assert (await client.get("/no/such/path")).status_code == 404
    assert (await client.get("/health/ready")).status_code == 200
    after = scrape(metrics_url)

    routes = {dict(labels)["route"] for name, labels in after if name == "http_requests_total"}
    [read] = [
        route for route in routes if re.fullmatch(re.escape(FACTORY.path) + r"/\{\w+\}", route)
    ]
    raw_id = f"/{created['id']}"
    assert not [route for route in routes if "/health/" in route or route.endswith(raw_id)]

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("http_requests_total", method="GET", route=read, status="200") == 3
    assert delta("http_requests_total", method="GET", route=read, status="404") == 1
    assert delta("http_requests_total", method="GET", route="unmatched", status="404") == 1
    timed = {"method": "GET", "route": read, "status": "200"}
    assert delta("http_request_duration_seconds_count", **timed) == 3
    assert delta("http_request_duration_seconds_bucket", **timed, le="+Inf") == 3
    assert delta("http_request_duration_seconds_sum", **timed) > 0


async def test_the_pool_is_observed(app: FastAPI, client: AsyncClient, metrics_url: str) -> None:
    before = scrape(metrics_url)
    async with app.state.database.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
        holding = scrape(metrics_url)
    after = scrape(metrics_url)

    in_use = "db_pool_connections_in_use"
    assert value(holding, in_use) == value(before, in_use) + 1
    assert value(after, in_use) == value(before, in_use)
    assert value(after, "db_pool_overflow") == 0
    assert value(after, "db_pool_waiting") == 0
    waits = value(after, "db_pool_wait_seconds_count") - value(before, "db_pool_wait_seconds_count")
    assert waits == 1


async def test_metrics_are_not_served_on_the_api_port(client: AsyncClient) -> None:
    assert (await client.get("/metrics")).status_code == 404


def test_metrics_listen_on_loopback_unless_told_otherwise(settings: Settings) -> None:
    assert settings.metrics_host == "127.0.0.1"


def test_several_workers_report_their_sum(live_settings: Settings) -> None:
    """uvicorn --workers 2 with PROMETHEUS_MULTIPROC_DIR: one worker serves the metrics port
    (the other finds it taken), and its counts cover the requests of both."""
    metrics_port = free_port()
    with tempfile.TemporaryDirectory(prefix="prometheus-") as multiproc_dir:
        env = {
            "DATABASE_URL": live_settings.database_url.get_secret_value(),
            "PROMETHEUS_MULTIPROC_DIR": multiproc_dir,
            "METRICS_PORT": str(metrics_port),
        }
        with served(env, "--workers", "2") as url:
            for _ in range(40):  # new connections, which the kernel hands to either worker
                assert httpx.get(f"{url}{FACTORY.path}").status_code == 200
            samples = scrape(f"http://127.0.0.1:{metrics_port}/metrics")
    counts = [
        count
        for (name, labels), count in samples.items()
        if name == "http_requests_total" and dict(labels)["route"] == FACTORY.path
    ]
    assert counts == [40]
