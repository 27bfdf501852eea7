"""The Celery app. With no broker configured, tasks run eagerly in the calling process."""

from __future__ import annotations

from celery import Celery

from clipshoe.settings import Settings, get_settings

# Routing in one table, by resource (a GPU worker reads `encode.*`; I/O-bound workers `ingest.*`)
# and by priority: a merchant's live update (`*.live`) goes before a bulk backfill (`*.bulk`).
STAGES = ("ingest", "encode")
PRIORITIES = ("live", "bulk")
TASK_ROUTES = {
    "clipshoe.ingest.*": {"queue": "ingest.bulk"},
    "clipshoe.encode.*": {"queue": "encode.bulk"},
}
# A worker drains its queues strictly in this order (queue_order_strategy=priority below): live
# work first; within a priority, embedding before reading more feed, so a backlog drains before
# it grows.
QUEUES = ("ingest.live", "encode.live", "encode.bulk", "ingest.bulk")


# Waits of 0, 0.5, 1, 1.5, then 2 s between attempts: about 55 s in all.
PUBLISH_RETRY = {"max_retries": 30, "interval_start": 0, "interval_step": 0.5, "interval_max": 2}


def queue_for(stage: str, priority: str) -> str:
    name = f"{stage}.{priority}"
    if name not in QUEUES:
        raise ValueError(f"no queue {name!r}: stages are {STAGES}, priorities {PRIORITIES}")
    return name


def worker_queues(spec: str) -> list[str]:
    """`ingest,encode` or `encode.live` → queue names in priority order; a bare stage means both
    of its priorities (so `--queues encode` still names the GPU worker's queues)."""
    wanted = set()
    for name in filter(None, (part.strip() for part in spec.split(","))):
        matches = [q for q in QUEUES if q == name or q.split(".")[0] == name]
        if not matches:
            raise ValueError(f"unknown queue {name!r}: known are {', '.join(QUEUES)} and {', '.join(STAGES)}")
        wanted.update(matches)
    return [q for q in QUEUES if q in wanted]


def create_celery(settings: Settings) -> Celery:
    app = Celery(
        "clipshoe",
        broker=settings.broker.url or "memory://",
        backend=settings.broker.result_backend,
        include=["workers.tasks"],
    )
    app.conf.update(
        task_always_eager=settings.embedded,
        task_eager_propagates=True,
        task_routes=TASK_ROUTES,
        task_default_queue="ingest.bulk",
        task_serializer="json",
        accept_content=["json"],
        # A task is acknowledged after it ran, and re-queued if its worker dies: tasks are
        # idempotent (upserts under fixed ids), so a redelivery is harmless.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        # Publishing (a task handing out a job's next batches, the API queueing a job) waits out a
        # broker restart of up to about a minute; Celery's default gives up after 0.6 s, which
        # failed a job, or left it waiting for a redelivery, on any Redis restart (docs/faults.md).
        task_publish_retry_policy=PUBLISH_RETRY,
        # A task of a worker killed outright comes back after the visibility timeout, at the next
        # sweep of unacknowledged tasks: sweep every tenth of it (at most 10 s; kombu: every 100 s).
        broker_transport_options={
            "visibility_timeout": settings.broker.visibility_timeout,
            "unacked_restore_interval": max(1, min(10, settings.broker.visibility_timeout // 10)),
            "unacked_restore_throttle": 1,
            "queue_order_strategy": "priority",  # poll queues in the order listed (QUEUES), not round robin
        },
        task_ignore_result=settings.broker.result_backend is None,
    )
    return app


celery_app = create_celery(get_settings())

# Task metrics, request ids and JSON logs hang on Celery signals.
import workers.observability  # noqa: E402, F401
