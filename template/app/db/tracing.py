"""Spans for the statements of the app's engine (with OpenTelemetry: app/core/telemetry.py).

Here rather than in `app.core.telemetry` because it sets an option of this package's
(`app.db.direct.TRACED`): core knows nothing of the layers above it.
"""

from opentelemetry import trace
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.semconv.metrics import MetricInstruments
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.telemetry import Telemetry, is_recording
from app.db.direct import TRACED

SQLALCHEMY_INSTRUMENTATION = "opentelemetry.instrumentation.sqlalchemy"


def instrument_engine(engine: AsyncEngine, telemetry: Telemetry | None) -> None:
    """Trace every statement `engine` runs, when telemetry is on.

    This engine only, through the instrumentation's EngineTracer: SQLAlchemyInstrumentor's
    `instrument()` would also patch `create_engine` and `create_async_engine` for the whole
    process (an engine then gets two tracers, whose spans leak: opentelemetry-python-contrib
    #2149), and asyncpg's own instrumentation would trace each statement a second time.
    """
    if telemetry is None:
        return
    tracer = trace.get_tracer(SQLALCHEMY_INSTRUMENTATION, tracer_provider=telemetry.tracer_provider)
    meter = telemetry.meter_provider.get_meter(SQLALCHEMY_INSTRUMENTATION)
    connections = meter.create_up_down_counter(
        MetricInstruments.DB_CLIENT_CONNECTIONS_USAGE, unit="connections"
    )
    EngineTracer(InTraceTracer(tracer), engine.sync_engine, connections)  # type: ignore[no-untyped-call]
    # Statements of recorded traces go through SQLAlchemy, whose events the tracer listens to.
    engine.update_execution_options(**{TRACED: is_recording})


class InTraceTracer:
    """The statement spans' tracer: it starts them only inside a trace. A statement run outside
    any span (the readiness probe, start-up) would otherwise start a trace of its own."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self.tracer = tracer

    def start_span(self, name: str, kind: trace.SpanKind = trace.SpanKind.INTERNAL) -> trace.Span:
        if not trace.get_current_span().get_span_context().is_valid:
            return trace.INVALID_SPAN
        return self.tracer.start_span(name, kind=kind)
