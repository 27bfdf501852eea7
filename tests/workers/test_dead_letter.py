"""The dead letter: every item that could not be ingested, with its stage and reason, queryable
through the API and the CLI; a batch that fails for good lands there and the job goes on."""

from __future__ import annotations

import json

from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from catalog import repository
from catalog.models import BatchStatus, Product
from clipshoe.cli import app
from clipshoe.runtime import get_runtime
from ingest.sample import write_jsonl_feed
from tests.integration import ingest
from tests.utils.images import corrupt_jpeg, png_bomb
from tests.workers.helpers import noise_jpeg, photo_feed
from workers import pipeline


def test_feed_and_photo_problems_are_listed_with_stage_reason_and_record(client, tmp_path) -> None:
    good, broken = tmp_path / "good.jpg", tmp_path / "broken.jpg"
    good.write_bytes(noise_jpeg(101))
    broken.write_bytes(corrupt_jpeg())
    rows = [
        {"source": "dl", "source_id": "ok", "title": "Fine runner", "brand": "Testbrand", "image": str(good)},
        {"source": "dl", "source_id": "no-title", "image": str(good)},
        {"source": "dl", "source_id": "bad-photo", "title": "Broken photo runner", "image": str(broken)},
        {"source": "dl", "source_id": "bad-stock", "title": "Runner", "stock": -3},
    ]
    job = ingest(client, write_jsonl_feed(tmp_path, rows))
    assert job["status"] == "completed"
    assert (job["total"], job["indexed"], job["failed"], job["done"]) == (4, 1, 3, 4)

    page = client.get("/ingest/dead-letter", params={"job_id": job["id"]}).json()
    assert page["total"] == 3
    by_id = {item["source_id"]: item for item in page["items"]}
    assert by_id["no-title"]["stage"] == "feed" and "title" in by_id["no-title"]["reason"]
    assert by_id["bad-stock"]["stage"] == "feed" and "stock" in by_id["bad-stock"]["reason"]
    photo = by_id["bad-photo"]
    assert photo["stage"] == "image" and photo["line"] == 3 and photo["attempts"] == 1
    assert photo["record"]["title"] == "Broken photo runner"  # enough to fix and retry it
    assert photo["record"]["image"] == str(broken)

    only_images = client.get("/ingest/dead-letter", params={"job_id": job["id"], "stage": "image"}).json()
    assert [i["source_id"] for i in only_images["items"]] == ["bad-photo"]
    assert client.get("/ingest/dead-letter", params={"stage": "upload"}).status_code == 422
    assert client.get("/ingest/dead-letter", params={"job_id": 999_999}).status_code == 404

    result = CliRunner().invoke(app, ["dead-letter", "--job", str(job["id"]), "--json"])
    assert result.exit_code == 0, result.output
    listed = [json.loads(line) for line in result.stdout.splitlines()]
    assert {e["source_id"] for e in listed} == {"no-title", "bad-photo", "bad-stock"}


def test_a_batch_that_cannot_be_embedded_is_dead_lettered_and_the_job_completes(client, tmp_path) -> None:
    feed = photo_feed(tmp_path, "dl-embed", 3)
    first = ingest(client, feed)
    assert first["indexed"] == 3
    rt = get_runtime()
    with rt.sessions.begin() as s:
        victim = s.scalars(select(Product).where(Product.source == "dl-embed").order_by(Product.id)).first()
        # The stored photo turns into a decompression bomb on disk, and the row needs its vectors
        # again (as after a model change): the embed task fails for good, not with a retry.
        stored = rt.settings.media_dir / victim.image_path
        photo = stored.read_bytes()
        stored.write_bytes(png_bomb())
        s.execute(update(Product).where(Product.id == victim.id).values(embedded_model=None))

    job = ingest(client, feed)
    assert job["status"] == "completed"
    assert job["failed"] == 1 and job["unchanged"] == 2 and job["done"] == job["total"] == 3
    [entry] = client.get("/ingest/dead-letter", params={"job_id": job["id"]}).json()["items"]
    assert entry["stage"] == "embed" and entry["source_id"] == victim.source_id
    assert "DecompressionBomb" in entry["reason"] and entry["attempts"] == 1
    assert entry["record"]["point_id"] == victim.point_id
    with rt.sessions() as s:
        [batch] = repository.job_batches(s, job["id"])
        assert batch.status == BatchStatus.failed
        assert repository.get_product(s, victim.id).embedded_model is None  # re-embedded next time

    stored.write_bytes(photo)  # the photo is mended: the next ingest of the feed embeds it again
    job = ingest(client, feed)
    assert job["indexed"] == 1 and job["unchanged"] == 2 and job["failed"] == 0


def test_a_product_deleted_before_its_batch_runs_is_dead_lettered(client, tmp_path) -> None:
    # The pipeline's own stages, in this thread (as embedded mode and `clipshoe eval` run them),
    # so the product can be deleted between planning and embedding.
    rt = get_runtime()
    with rt.sessions.begin() as s:
        job_id = repository.create_job(s, str(photo_feed(tmp_path, "dl-gone", 3)), None, None).id
    [batch_id] = pipeline.plan_job(rt, job_id)
    with rt.sessions.begin() as s:
        gone = repository.get_batch(s, batch_id).product_ids[-1]  # type: ignore[union-attr]
        s.execute(delete(Product).where(Product.id == gone))
    assert pipeline.embed_batch(rt, job_id, batch_id) == {"indexed": 2, "updated": 0, "failed": 1}
    job = client.get(f"/ingest/jobs/{job_id}").json()
    assert job["status"] == "completed" and job["indexed"] == 2 and job["failed"] == 1
    [entry] = client.get("/ingest/dead-letter", params={"job_id": job_id}).json()["items"]
    assert entry["stage"] == "embed" and entry["reason"] == "product no longer in the catalogue"
    assert entry["record"] == {"product_id": gone}
