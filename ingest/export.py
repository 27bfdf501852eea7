"""The ingested catalogue → image–text pairs to train on elsewhere: WebDataset tar shards or Parquet.

Every product with a stored photo is one sample, keyed by its point id (stable, and free of the
dots WebDataset reads as extensions):

    {key}.jpg    the stored photo, the JPEG bytes as ingest stored them
    {key}.json   the listing's fields, its split, and every caption (English and Vietnamese, from
                 the training templates in `encoder.training.prompts`)
    {key}.txt    one of those captions, drawn per product with a seeded generator

A Parquet row holds the same (`image` as bytes, `captions` as a list of structs). Shards are per
split (`train-00000.tar`, `val-…`, `test-…`) so a trainer reads only its own; the split is
`encoder.training.split`'s, keyed on source id and photo as `clipshoe dataset build` keys it, so
a product is on the same side in both. `manifest.json` lists the counts, every shard with its
size and sha256, and every item's split and shard.

The same catalogue and seed give byte-identical tar shards (sorted items, fixed member times).
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import tarfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from catalog import repository
from catalog.models import Product
from encoder.training.prompts import captions
from encoder.training.split import Split, assign_splits

Format = Literal["webdataset", "parquet"]
FORMATS: tuple[str, ...] = ("webdataset", "parquet")
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Sample:
    key: str
    split: Split
    image: bytes
    meta: dict[str, Any]
    caption: str


def _photo_products(sessions: sessionmaker[Session], source: str | None) -> Iterator[Product]:
    with sessions() as s:
        for ids in repository.iter_product_ids(s):
            for p in repository.products_by_ids(s, ids):
                if p.image_path and (source is None or p.source == source):
                    yield p
            s.expunge_all()  # a large catalogue streams through; nothing accumulates


def _decodable(path: Path) -> bytes | None:
    """The stored photo's bytes if they decode in full (a trainer must not meet a broken one)."""
    try:
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    return data


def _meta(p: Product, split: Split, rng: random.Random) -> dict[str, Any]:
    fields = {
        "title": p.title,
        "brand": p.brand,
        "category": p.category,
        "colour": p.colour,
        "gender": p.gender,
        "attributes": {"usage": (p.attributes or {}).get("usage")},
        "description": p.description,
    }
    return {
        "key": p.point_id,
        "id": p.id,
        "source": p.source,
        "source_id": p.source_id,
        **{k: v for k, v in fields.items() if k != "attributes"},
        "price": p.price,
        "currency": p.currency,
        "url": p.url,
        "split": split,
        "captions": [asdict(c) for c in captions(fields, rng)],
    }


def samples(
    sessions: sessionmaker[Session], media_dir: Path, seed: int = 0, source: str | None = None
) -> tuple[Iterator[Sample], Counter[str]]:
    """Samples in catalogue order, and a counter of what was skipped (filled as they are read)."""
    splits = assign_splits((p.source_id, p.image_sha256) for p in _photo_products(sessions, source))
    skipped: Counter[str] = Counter()

    def generate() -> Iterator[Sample]:
        for p in _photo_products(sessions, source):
            image = _decodable(media_dir / p.image_path)  # type: ignore[operator]
            if image is None:
                skipped["stored photo missing or undecodable"] += 1
                continue
            # Seeded per product, as `clipshoe dataset build` seeds it: same catalogue, same text.
            rng = random.Random(f"{seed}:{p.source_id}")
            meta = _meta(p, splits[p.source_id], rng)
            if not meta["captions"]:
                skipped["no caption"] += 1
                continue
            caption = rng.choice(meta["captions"])["text"]
            yield Sample(p.point_id, splits[p.source_id], image, meta, caption)

    return generate(), skipped


class _ShardWriter:
    """Shards of one split, `shard_size` samples each; knows its files, counts and checksums."""

    def __init__(self, out: Path, split: str, fmt: Format, shard_size: int) -> None:
        self.out, self.split, self.fmt, self.shard_size = out, split, fmt, shard_size
        self.shards: list[dict[str, Any]] = []
        self.pending: list[Sample] = []

    def add(self, sample: Sample) -> str:
        if len(self.pending) == self.shard_size:
            self.close()
        self.pending.append(sample)
        return self._name(len(self.shards))

    def _name(self, n: int) -> str:
        return f"{self.split}-{n:05d}.{'tar' if self.fmt == 'webdataset' else 'parquet'}"

    def close(self) -> None:
        if not self.pending:
            return
        path = self.out / self._name(len(self.shards))
        (_write_tar if self.fmt == "webdataset" else _write_parquet)(path, self.pending)
        data = path.read_bytes()
        self.shards.append(
            {
                "file": path.name,
                "split": self.split,
                "count": len(self.pending),
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
        self.pending = []


def _tar_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644  # fixed: same input, same bytes
    tar.addfile(info, io.BytesIO(data))


def _write_tar(path: Path, batch: list[Sample]) -> None:
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for s in batch:
            _tar_member(tar, f"{s.key}.jpg", s.image)
            _tar_member(tar, f"{s.key}.json", json.dumps(s.meta, ensure_ascii=False, sort_keys=True).encode())
            _tar_member(tar, f"{s.key}.txt", s.caption.encode())


def _write_parquet(path: Path, batch: list[Sample]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    meta_keys = [k for k in batch[0].meta if k != "captions"]
    columns: dict[str, list[Any]] = {k: [s.meta[k] for s in batch] for k in meta_keys}
    columns |= {
        "caption": [s.caption for s in batch],
        "captions": [[{"text": c["text"], "lang": c["lang"]} for c in s.meta["captions"]] for s in batch],
        "image": [s.image for s in batch],
    }
    table = pa.table(columns)
    pq.write_table(table, path, compression="zstd")


def export_dataset(
    sessions: sessionmaker[Session],
    media_dir: Path,
    out: Path,
    fmt: Format = "webdataset",
    shard_size: int = 1000,
    seed: int = 0,
    source: str | None = None,
) -> dict[str, Any]:
    """Write the shards and `out/manifest.json`; return the manifest without its item list."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if shard_size < 1:
        raise ValueError("shard size must be at least 1")
    out.mkdir(parents=True, exist_ok=True)
    stale = sorted(p.name for p in out.glob("*-[0-9][0-9][0-9][0-9][0-9].*"))
    if stale:
        raise FileExistsError(f"{out} already holds shards ({stale[0]}, …): export into an empty folder")
    writers: dict[str, _ShardWriter] = {}
    items: list[dict[str, Any]] = []
    langs: Counter[str] = Counter()
    stream, skipped = samples(sessions, media_dir, seed, source)
    for sample in stream:
        writer = writers.setdefault(sample.split, _ShardWriter(out, sample.split, fmt, shard_size))
        shard = writer.add(sample)
        langs.update(c["lang"] for c in sample.meta["captions"])
        items.append(
            {
                "key": sample.key,
                "source": sample.meta["source"],
                "source_id": sample.meta["source_id"],
                "split": sample.split,
                "shard": shard,
                "image_sha256": hashlib.sha256(sample.image).hexdigest(),
            }
        )
    for writer in writers.values():
        writer.close()
    summary = {
        "format": fmt,
        "seed": seed,
        "source": source,
        "count": len(items),
        "splits": dict(Counter(item["split"] for item in items)),
        "captions": dict(langs),
        "skipped": dict(skipped),
        "shards": [shard for split in sorted(writers) for shard in writers[split].shards],
    }
    manifest = {**summary, "items": items}
    (out / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return summary
