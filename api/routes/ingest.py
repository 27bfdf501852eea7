"""Ingest jobs: start one from a feed, follow its progress and ETA; the dead letter."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from api.convert import dead_letter_out, job_out
from api.deps import ApiKeyDep, RuntimeDep, SessionDep
from api.schemas import DeadLetterPage, IngestJobIn, IngestJobOut
from catalog import repository
from catalog.models import JobStatus
from ingest.feeds import FeedFormatError, format_name, within
from workers.dispatch import resume_job, submit_job

router = APIRouter(prefix="/ingest", tags=["ingest"])
STAGES = ("feed", "image", "embed")


@router.post("/jobs", response_model=IngestJobOut, status_code=202, dependencies=[ApiKeyDep])
def create_job(rt: RuntimeDep, body: IngestJobIn) -> IngestJobOut:
    """Start ingesting a feed file or catalogue folder; the job runs on the workers."""
    try:
        fmt = format_name(body.format) if body.format is not None else None
    except FeedFormatError as exc:
        raise HTTPException(422, str(exc)) from exc
    # Only the feed folders: a caller must not make the server read, or tell whether it has, any
    # other file. The same answer whether the path exists or not.
    roots = rt.settings.feed_roots
    if not within(Path(body.feed), roots):
        raise HTTPException(403, "feeds are read only from the server's feed folders (ingest.feed_roots)")
    feed = Path(body.feed).expanduser().resolve()
    if not feed.exists():
        raise HTTPException(400, f"feed not found on the server: {body.feed}")
    with rt.sessions.begin() as s:
        job = repository.create_job(
            s, str(feed), fmt, body.source, body.priority, photo_roots=[str(r) for r in roots]
        )
    submit_job(rt, job.id)
    return job_out(job)


@router.get("/jobs", response_model=list[IngestJobOut])
def list_jobs(session: SessionDep, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[IngestJobOut]:
    """Recent ingest jobs, newest first."""
    return [job_out(j) for j in repository.list_jobs(session, limit)]


@router.get("/jobs/{job_id}", response_model=IngestJobOut)
def get_job(
    session: SessionDep,
    job_id: int,
    errors: Annotated[int, Query(ge=0, le=1000, description="How many item errors to include.")] = 100,
) -> IngestJobOut:
    """A job's status, counts and its first per-item errors."""
    job = repository.get_job(session, job_id)
    if job is None:
        raise HTTPException(404, f"ingest job {job_id} not found")
    return job_out(job, repository.job_errors(session, job_id, limit=errors))


@router.post("/jobs/{job_id}/resume", response_model=IngestJobOut, status_code=202, dependencies=[ApiKeyDep])
def resume(rt: RuntimeDep, job_id: int) -> IngestJobOut:
    """Send an unfinished job's lost work again (after a broker restart): it goes on from its rows."""
    with rt.sessions() as s:
        job = repository.get_job(s, job_id)
        if job is None:
            raise HTTPException(404, f"ingest job {job_id} not found")
        if job.status not in (JobStatus.pending, JobStatus.running):
            raise HTTPException(409, f"ingest job {job_id} is {job.status}: nothing to resume")
    resume_job(rt, job_id)
    with rt.sessions() as s:
        return job_out(repository.get_job(s, job_id))  # type: ignore[arg-type]


@router.get("/dead-letter", response_model=DeadLetterPage)
def dead_letter(
    session: SessionDep,
    job_id: Annotated[int | None, Query(description="Only this job's items.")] = None,
    stage: Annotated[str | None, Query(description="feed, image or embed.")] = None,
    source: Annotated[str | None, Query(description="Only jobs of this source.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DeadLetterPage:
    """Items that could not be ingested, newest first: the stage, the reason, the attempts made."""
    if stage is not None and stage not in STAGES:
        raise HTTPException(422, f"stage must be one of {', '.join(STAGES)}")
    if job_id is not None and repository.get_job(session, job_id) is None:
        raise HTTPException(404, f"ingest job {job_id} not found")
    total, rows = repository.dead_letter(session, job_id, stage, source, limit=limit, offset=offset)
    return DeadLetterPage(total=total, items=[dead_letter_out(e) for e in rows])
