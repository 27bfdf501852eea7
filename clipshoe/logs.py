"""Logs of the serving processes (API, workers): plain text or one JSON object per line.

Every record carries `request_id`: the API's X-Request-ID (asgi-correlation-id keeps it in a
context variable for the request's lifetime) or, in a worker, the id of the request that queued
the task. It is set by the record factory, so every handler sees it, whichever set it up.
"""

from __future__ import annotations

import logging
from typing import Any

from asgi_correlation_id.context import correlation_id
from pythonjsonlogger.json import JsonFormatter

from clipshoe.settings import LogSettings

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
NO_REQUEST = "-"
_MARK = "_clipshoe_handler"


def _install_record_factory() -> None:
    base = logging.getLogRecordFactory()
    if getattr(base, _MARK, False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        record.request_id = correlation_id.get() or NO_REQUEST
        return record

    setattr(factory, _MARK, True)
    logging.setLogRecordFactory(factory)


def json_formatter() -> logging.Formatter:
    """time, level, logger, message, request_id, then any `extra=` fields of the call."""
    return JsonFormatter(
        "{asctime}{levelname}{name}{message}{request_id}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
    )


def configure_logging(settings: LogSettings) -> None:
    """One stderr handler on the root logger, in the chosen format. Idempotent.

    uvicorn and Celery install handlers of their own; their lines are routed through this one so
    a log shipper reads one format. uvicorn's access line is dropped: the API logs its own, with
    the route, the duration and the request id (api/observability.py).
    """
    _install_record_factory()
    handler = logging.StreamHandler()
    setattr(handler, _MARK, True)
    handler.setFormatter(json_formatter() if settings.format == "json" else logging.Formatter(PLAIN_FORMAT))
    root = logging.getLogger()
    for h in list(root.handlers):
        # Ours from an earlier call, and the bare stderr handler of logging.basicConfig (the CLI's).
        if getattr(h, _MARK, False) or type(h) is logging.StreamHandler:
            root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(settings.level.upper())
    for name in ("uvicorn", "uvicorn.error", "celery"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
