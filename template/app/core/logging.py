"""Logging: JSON lines in production, readable lines in development, request ids in both.

Every record goes through the standard `logging` module (the app's, uvicorn's, SQLAlchemy's);
structlog formats them and adds the context of the current request. Code that wants key-value
fields (like the access log) logs through `structlog.stdlib.get_logger`.
"""

import logging
from typing import TextIO

import structlog

from app.core.config import Settings

_HANDLER_NAME = "app"


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Send every log record to `stream` (stderr by default), formatted for `settings`.

    Safe to call again: the handler it installed before is replaced.
    """
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if settings.log_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    handler = logging.StreamHandler(stream)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if h.get_name() != _HANDLER_NAME] + [handler]
    root.setLevel(settings.log_level)
    # uvicorn's loggers hand their records to the root logger; its access log is replaced by
    # the one line per request that app.api.middleware writes.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
