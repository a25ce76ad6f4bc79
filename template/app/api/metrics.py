"""Prometheus metrics, served on a port of their own (METRICS_HOST:METRICS_PORT), never beside
the API: a port that is not published cannot be scraped by the public.

Series (see docs/template/observability.md):
- `http_requests_total` and `http_request_duration_seconds` by `method`, `route` (the route
  template, never the raw path) and `status`; health checks are not counted;
- `db_pool_connections_in_use`, `db_pool_overflow`, `db_pool_waiting` and
  `db_pool_wait_seconds`: the app's connection pool.

With several worker processes, set PROMETHEUS_MULTIPROC_DIR to an empty directory shared by
them: each process writes its values there and whichever serves the port reports them all.
"""

import errno
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from threading import Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
    start_http_server,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import Pool, PoolProxiedConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import Settings

logger = logging.getLogger(__name__)

LABELS = ("method", "route", "status")
UNMATCHED = "unmatched"  # the route label of requests no route matched (404s)
REQUESTS = Counter("http_requests", "HTTP requests answered.", LABELS)
DURATION = Histogram("http_request_duration_seconds", "Time to answer an HTTP request.", LABELS)
# Gauges are summed over the live processes when several share PROMETHEUS_MULTIPROC_DIR.
POOL_IN_USE = Gauge(
    "db_pool_connections_in_use",
    "Database connections checked out of the pool.",
    multiprocess_mode="livesum",
)
POOL_OVERFLOW = Gauge(
    "db_pool_overflow",
    "Connections open beyond the pool size (DB_POOL_SIZE), up to DB_MAX_OVERFLOW.",
    multiprocess_mode="livesum",
)
POOL_WAITING = Gauge(
    "db_pool_waiting",
    "Requests waiting for a database connection (a free one, or one being opened).",
    multiprocess_mode="livesum",
)
POOL_WAIT = Histogram(
    "db_pool_wait_seconds",
    "Time to get a database connection from the pool.",
    buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0),
)


class RequestMetricsMiddleware:
    """Count and time every request but the health checks, by route template and status.

    Written by hand (about 30 lines) rather than taken from prometheus-fastapi-instrumentator,
    which matches every route a second time per request to find its template: the router has
    put the route it matched in the scope already.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/health/"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            labels = (scope["method"], route_template(scope), str(status))
            REQUESTS.labels(*labels).inc()
            DURATION.labels(*labels).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The path template of the route that answered (`/api/v1/tasks/{task_id}`), or UNMATCHED.

    The router leaves the route in the scope, but the route's template does not carry the
    prefixes of the routers it was included through: they are what precedes, in the path, the
    route's template filled in with the request's path parameters.
    """
    template = getattr(scope.get("route"), "path_format", None)
    if not isinstance(template, str):
        return UNMATCHED
    filled = template.format_map(scope.get("path_params", {}))
    path: str = scope["path"]
    return path.removesuffix(filled) + template if path.endswith(filled) else template


def watch_pool(engine: AsyncEngine) -> None:
    """Keep the pool gauges up to date from the pool's own events, and time each checkout."""
    pool = engine.sync_engine.pool

    def checked_out(*_: object) -> None:
        POOL_IN_USE.inc()
        POOL_OVERFLOW.set(max(0, pool_overflow(pool)))

    def checked_in(*_: object) -> None:
        POOL_IN_USE.dec()
        POOL_OVERFLOW.set(max(0, pool_overflow(pool)))

    event.listen(pool, "checkout", checked_out)
    event.listen(pool, "checkin", checked_in)
    # The pool has no event for "a checkout starts": wrap its public `connect`, which
    # Engine.raw_connection calls for every new Connection, on this pool only.
    setattr(pool, "connect", timed_connect(pool.connect))  # noqa: B010


def pool_overflow(pool: Pool) -> int:
    overflow: Callable[[], int] | None = getattr(pool, "overflow", None)  # QueuePool's only
    return overflow() if overflow is not None else 0


def timed_connect(
    connect: Callable[[], PoolProxiedConnection],
) -> Callable[[], PoolProxiedConnection]:
    def connect_timed() -> PoolProxiedConnection:
        POOL_WAITING.inc()
        started = time.perf_counter()
        try:
            return connect()
        finally:
            POOL_WAIT.observe(time.perf_counter() - started)
            POOL_WAITING.dec()

    return connect_timed


@dataclass
class MetricsServer:
    """The thread serving /metrics, when this process serves it."""

    server: WSGIServer | None
    thread: Thread | None

    @property
    def port(self) -> int | None:
        return self.server.server_port if self.server is not None else None

    def close(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join()
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            # Its gauges leave the live sums (the function has no type annotations).
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def serve(settings: Settings, engine: AsyncEngine) -> MetricsServer:
    """Watch `engine`'s pool and serve the metrics on METRICS_HOST:METRICS_PORT.

    When the port is taken, the process serves nothing and says so: with several workers, the
    first to start serves the port, reporting every worker's values from
    PROMETHEUS_MULTIPROC_DIR.
    """
    watch_pool(engine)
    try:
        server, thread = start_http_server(
            settings.metrics_port, settings.metrics_host, registry=exposed_registry()
        )
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        logger.warning(
            "metrics port %s:%s is taken; this process does not serve it",
            settings.metrics_host,
            settings.metrics_port,
        )
        return MetricsServer(None, None)
    return MetricsServer(server, thread)


def exposed_registry() -> CollectorRegistry:
    """What /metrics reports: this process's registry, or with PROMETHEUS_MULTIPROC_DIR set,
    the values every process wrote there (process and GC metrics are then not available)."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry
