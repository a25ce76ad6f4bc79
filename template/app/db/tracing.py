"""Spans for the statements of the app's engine (with OpenTelemetry: app/core/telemetry.py).

Here rather than in `app.core.telemetry` because it sets an option of this package's
(`app.db.direct.STATEMENT_SPANS`): core knows nothing of the layers above it.
"""

import threading
import weakref
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import asyncpg
from opentelemetry import trace

# The instrumentation's own setters of the database attributes, which EngineTracer uses: private,
# so tests/observability/test_tracing.py holds the two paths' spans alike on every upgrade.
from opentelemetry.instrumentation._semconv import (
    _OpenTelemetrySemanticConventionStability as SemanticConventions,
)
from opentelemetry.instrumentation._semconv import _OpenTelemetryStabilitySignalType as Signal
from opentelemetry.instrumentation._semconv import (
    _set_db_name,
    _set_db_operation,
    _set_db_statement,
    _set_db_system,
    _set_db_user,
    _set_http_net_peer_name_client,
    _set_http_peer_port_client,
)
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.metrics import CallbackOptions, MeterProvider, NoOpUpDownCounter, Observation
from opentelemetry.semconv.metrics import MetricInstruments
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue
from sqlalchemy import URL, Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from app.core.telemetry import Telemetry, is_recording
from app.db.direct import STATEMENT_SPANS

SQLALCHEMY_INSTRUMENTATION = "opentelemetry.instrumentation.sqlalchemy"
CONNECTIONS_USAGE = MetricInstruments.DB_CLIENT_CONNECTIONS_USAGE
CONNECTIONS_USAGE_DESCRIPTION = (
    "The number of connections that are currently in state described by the state attribute."
)


def instrument_engine(engine: AsyncEngine, telemetry: Telemetry | None) -> None:
    """Trace every statement `engine` runs, when telemetry is on.

    The statements SQLAlchemy runs get their spans from the instrumentation's EngineTracer, on
    this engine only: SQLAlchemyInstrumentor's `instrument()` would also patch `create_engine`
    and `create_async_engine` for the whole process (an engine then gets two tracers, whose
    spans leak: opentelemetry-python-contrib #2149), and asyncpg's own instrumentation would
    trace each statement a second time. The statements app.db.direct runs on asyncpg itself get
    the same spans from `DirectStatementSpans`.
    """
    if telemetry is None:
        return
    tracer = trace.get_tracer(SQLALCHEMY_INSTRUMENTATION, tracer_provider=telemetry.tracer_provider)
    # The tracer's own connection counter adds to a metric at every checkout and checkin: four
    # measurements a request. The pool is read when metrics are collected instead.
    no_counter = NoOpUpDownCounter(CONNECTIONS_USAGE)
    EngineTracer(InTraceTracer(tracer), engine.sync_engine, no_counter)  # type: ignore[no-untyped-call]
    connection_usage_of(telemetry.meter_provider).add(engine.sync_engine)
    engine.update_execution_options(**{STATEMENT_SPANS: DirectStatementSpans(tracer, engine.url)})


class ConnectionUsage:
    """`db.client.connections.usage` as the instrumentation reports it (the connections of the
    pool by `state`, idle or used, and `pool.name`), read from the engines' pools when metrics
    are collected. One per meter provider, for every engine instrumented with it: a provider
    keeps the first callback of an instrument's name and ignores the next ones."""

    def __init__(self) -> None:
        self.engines: weakref.WeakSet[Engine] = weakref.WeakSet()  # a test's engine goes
        self.lock = threading.Lock()  # the metric reader's thread reads them

    def add(self, engine: Engine) -> None:
        with self.lock:
            self.engines.add(engine)

    def observe(self, _options: CallbackOptions) -> Iterator[Observation]:
        with self.lock:
            engines = list(self.engines)
        counts: Counter[tuple[str, str]] = Counter()
        for engine in engines:
            pool = engine.pool
            if isinstance(pool, QueuePool):  # others keep no connections
                name = pool.logging_name or pool_name(engine.url)
                counts[name, "idle"] += pool.checkedin()
                counts[name, "used"] += pool.checkedout()
        for (name, state), connections in counts.items():
            yield Observation(connections, {"pool.name": name, "state": state})


def pool_name(url: URL) -> str:
    """The instrumentation's name for a pool without a logging name."""
    return f"{url.drivername}://{url.host or ''}:{url.port or ''}/{url.database or ''}"


CONNECTION_USAGES: weakref.WeakKeyDictionary[MeterProvider, ConnectionUsage] = (
    weakref.WeakKeyDictionary()
)


def connection_usage_of(provider: MeterProvider) -> ConnectionUsage:
    """The provider's ConnectionUsage, its instrument made the first time."""
    usage = CONNECTION_USAGES.get(provider)
    if usage is None:
        usage = CONNECTION_USAGES[provider] = ConnectionUsage()
        provider.get_meter(SQLALCHEMY_INSTRUMENTATION).create_observable_up_down_counter(
            CONNECTIONS_USAGE,
            callbacks=[usage.observe],
            unit="connections",
            description=CONNECTIONS_USAGE_DESCRIPTION,
        )
    return usage


class InTraceTracer:
    """The statement spans' tracer: it starts them only inside a trace. A statement run outside
    any span (the readiness probe, start-up) would otherwise start a trace of its own."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self.tracer = tracer

    def start_span(self, name: str, kind: trace.SpanKind = trace.SpanKind.INTERNAL) -> trace.Span:
        if not trace.get_current_span().get_span_context().is_valid:
            return trace.INVALID_SPAN
        return self.tracer.start_span(name, kind=kind)


class DirectStatementSpans:
    """Client spans for the statements app.db.direct sends on asyncpg itself, in recorded traces
    only: named and described as EngineTracer names and describes a statement SQLAlchemy runs,
    with the instrumentation's own attribute setters, so that OTEL_SEMCONV_STABILITY_OPT_IN
    applies alike and a trace reads the same whichever path ran a statement
    (tests/observability/test_tracing.py compares them).

    Hand-written because EngineTracer makes spans only from SQLAlchemy's execution events, and
    sending a statement through SQLAlchemy for them cost a traced read more than everything
    else tracing adds (docs/template/performance.md, "OpenTelemetry overhead")."""

    def __init__(self, tracer: trace.Tracer, url: URL) -> None:
        self.tracer = tracer
        SemanticConventions._initialize()  # type: ignore[no-untyped-call]
        self.mode = SemanticConventions._get_opentelemetry_stability_opt_in_mode(Signal.DATABASE)
        http = SemanticConventions._get_opentelemetry_stability_opt_in_mode(Signal.HTTP)
        attributes: dict[str, AttributeValue] = {}
        if url.host:
            _set_http_net_peer_name_client(attributes, url.host, http)
        if url.port:
            _set_http_peer_port_client(attributes, url.port, http)
        if url.database:
            _set_db_name(attributes, url.database, self.mode)
        if url.username:
            _set_db_user(attributes, url.username, self.mode)
        _set_db_system(attributes, "postgresql", self.mode)
        self.attributes = attributes

    def __call__(self, sql: str) -> AbstractContextManager[object] | None:
        return self.span(sql) if is_recording() else None

    @contextmanager
    def span(self, sql: str) -> Iterator[None]:
        operation = next(iter(sql.split(maxsplit=1)), "postgresql")
        attributes = dict(self.attributes)
        _set_db_statement(attributes, sql, self.mode)
        _set_db_operation(attributes, operation, self.mode)
        span = self.tracer.start_span(operation, kind=SpanKind.CLIENT, attributes=attributes)
        try:
            yield
        except BaseException as error:
            span.set_status(Status(StatusCode.ERROR, described(error)))
            raise
        finally:
            span.end()


def described(error: BaseException) -> str:
    """An error as a span's status describes it: PostgreSQL's message alone, as through
    SQLAlchemy, never its DETAIL (which quotes the row's values) or HINT."""
    if isinstance(error, asyncpg.PostgresError) and error.args:
        return str(error.args[0])
    return str(error)  # as EngineTracer: empty for a cancellation
