"""Traces that follow a job: the request that queues it stores its trace context in the job's
arguments (`TRACE_CONTEXT`), and the worker runs the job in a span of that trace.

Each run of a job (a retry too) is a consumer span, a child of the span that queued it (the
request's), named after the task; the job's statements are client spans beneath it, and its log
lines carry its `trace_id`.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from procrastinate import JobContext
from procrastinate.types import JSONDict
from procrastinate.worker import Worker

from app.core import telemetry

# The argument that carries the trace context; `traced_job` takes it out before the task runs.
TRACE_CONTEXT = "trace_context"


def carried_trace() -> JSONDict:
    """The arguments to add to a job queued now: the current trace context, if any."""
    carrier: JSONDict = dict(telemetry.trace_context().items())
    return {TRACE_CONTEXT: carrier} if carrier else {}


async def traced_job(
    call_next: Callable[[], Awaitable[Any]], context: JobContext, worker: Worker
) -> Any:
    """Worker middleware: run the job in its span, without the trace context argument."""
    job = context.job
    # The task is called with these very arguments, after the middlewares.
    carried = job.task_kwargs.pop(TRACE_CONTEXT, None)
    carrier = carried if isinstance(carried, dict) else {}
    deferred_from = {key: str(value) for key, value in carrier.items()}
    with telemetry.job_span(job.task_name, deferred_from) as span:
        span.set_attributes(
            {
                "messaging.system": "procrastinate",
                "messaging.operation.type": "process",
                "messaging.destination.name": job.queue,
                "messaging.message.id": str(job.id),
                "procrastinate.job.attempts": job.attempts,
            }
        )
        return await call_next()
