"""The Celery app. With no broker configured, tasks run eagerly in the calling process."""

from __future__ import annotations

from celery import Celery

from clipshoe.settings import Settings, get_settings

# Routing in one table, by resource: a GPU worker reads `encode`; I/O-bound workers read `ingest`.
TASK_ROUTES = {
    "clipshoe.ingest.*": {"queue": "ingest"},
    "clipshoe.encode.*": {"queue": "encode"},
}
QUEUES = ("ingest", "encode")


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
        task_default_queue="ingest",
        task_serializer="json",
        accept_content=["json"],
        # A task is acknowledged after it ran, and re-queued if its worker dies: tasks are
        # idempotent (upserts under fixed ids), so a redelivery is harmless.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        # A task of a worker killed outright comes back after the visibility timeout, at the next
        # sweep of unacknowledged tasks: sweep every tenth of it (at most 10 s; kombu: every 100 s).
        broker_transport_options={
            "visibility_timeout": settings.broker.visibility_timeout,
            "unacked_restore_interval": max(1, min(10, settings.broker.visibility_timeout // 10)),
            "unacked_restore_throttle": 1,
        },
        task_ignore_result=settings.broker.result_backend is None,
    )
    return app


celery_app = create_celery(get_settings())

# Task metrics, request ids and JSON logs hang on Celery signals.
import workers.observability  # noqa: E402, F401
