"""Worker metrics and logs, from Celery's signals (workers/celery_app.py imports this module).

Metrics: task durations by task and final state, failures by exception type, retries, and
products embedded (`sum(rate(clipshoe_items_embedded_total[5m]))` is the embed throughput).

Several processes, one port: a prefork worker runs tasks in child processes, so each worker
container sets PROMETHEUS_MULTIPROC_DIR (an empty folder, a tmpfs in the compose stack) where
every child writes its values, and the worker's main process serves their sum on
CLIPSHOE_METRICS__WORKER_PORT. In embedded mode, tasks run in the API process and these metrics
appear on the API's /metrics.

Logs: with CLIPSHOE_LOG__FORMAT=json the worker logs like the API (clipshoe/logs.py), and a task
carries the X-Request-ID of the request that queued it, in its message headers, to its log lines.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from asgi_correlation_id.context import correlation_id
from celery import signals
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess, start_http_server

from clipshoe.logs import configure_logging
from clipshoe.settings import get_settings

log = logging.getLogger(__name__)

ENCODE_TASKS = "clipshoe.encode."  # ingest batches and model backfills: each reports "indexed"
REQUEST_ID_HEADER = "clipshoe_request_id"

TASK_DURATION = Histogram(
    "clipshoe_task_duration_seconds",
    "Celery task run time by task and final state.",
    ["task", "state"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800),
)
TASK_FAILURES = Counter(
    "clipshoe_task_failures", "Tasks that failed for good, by exception.", ["task", "exception"]
)
TASK_RETRIES = Counter("clipshoe_task_retries", "Task retries (transient errors).", ["task"])
ITEMS_EMBEDDED = Counter(
    "clipshoe_items_embedded", "Products embedded and upserted into the index, by task.", ["task"]
)

_started: dict[str, float] = {}


@signals.task_prerun.connect
def _task_started(task_id: str, task: Any, **_: Any) -> None:
    _started[task_id] = time.perf_counter()
    correlation_id.set(getattr(task.request, REQUEST_ID_HEADER, None))


@signals.task_postrun.connect
def _task_finished(task_id: str, task: Any, state: str | None = None, **_: Any) -> None:
    started = _started.pop(task_id, None)
    if started is not None:
        TASK_DURATION.labels(task.name, state or "UNKNOWN").observe(time.perf_counter() - started)
    correlation_id.set(None)


@signals.task_failure.connect
def _task_failed(sender: Any, exception: BaseException | None = None, **_: Any) -> None:
    TASK_FAILURES.labels(sender.name, type(exception).__name__).inc()


@signals.task_retry.connect
def _task_retried(sender: Any, **_: Any) -> None:
    TASK_RETRIES.labels(sender.name).inc()


@signals.task_success.connect
def _task_succeeded(sender: Any, result: Any = None, **_: Any) -> None:
    if sender.name.startswith(ENCODE_TASKS) and isinstance(result, dict) and result.get("indexed"):
        ITEMS_EMBEDDED.labels(sender.name).inc(int(result["indexed"]))


@signals.before_task_publish.connect
def _carry_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    rid = correlation_id.get()
    if rid and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, rid)


@signals.worker_init.connect
def _serve_metrics(**_: Any) -> None:
    """Only in a real worker's main process (`clipshoe worker`), never in tests' worker threads."""
    port = get_settings().metrics.worker_port
    if port is None:
        return
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        start_http_server(port, registry=registry)
    else:
        log.warning("PROMETHEUS_MULTIPROC_DIR is unset: port %s shows only the main process's metrics", port)
        start_http_server(port)
    log.info("worker metrics on :%s/metrics", port)


@signals.worker_process_shutdown.connect
def _process_gone(pid: int | None = None, **_: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid or os.getpid())


if get_settings().log.format == "json":
    # Connecting this signal replaces Celery's own log set-up with ours (plain keeps Celery's).
    @signals.setup_logging.connect
    def _json_logs(**_: Any) -> None:
        configure_logging(get_settings().log)
