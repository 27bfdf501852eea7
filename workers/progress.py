"""A job's progress and ETA from its counters: the API and `clipshoe ingest` show the same figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from catalog.models import IngestJob, JobStatus, utcnow


@dataclass(frozen=True)
class Progress:
    done: int  # items settled: indexed, updated, unchanged or failed
    total: int  # items in the feed
    rate: float | None  # items per second since the job started
    eta_seconds: float | None  # at that rate; 0 once finished, None before any item settles


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)  # SQLite hands back naive UTC times


def job_progress(job: IngestJob, now: datetime | None = None) -> Progress:
    done = job.indexed + job.updated + job.unchanged + job.failed
    total = max(job.total, done)
    if job.started_at is None:
        return Progress(done, total, None, None)
    end = job.finished_at or now or utcnow()
    elapsed = (_aware(end) - _aware(job.started_at)).total_seconds()
    rate = done / elapsed if done and elapsed > 0 else None
    if job.status in (JobStatus.completed, JobStatus.failed):
        return Progress(done, total, rate, 0.0)
    eta = (total - done) / rate if rate else None
    return Progress(done, total, rate, eta)
