"""Query files of the evaluation contract: JSON Lines, one query per line.

    {"id": "q1", "text": "giày thể thao nam màu đen", "relevant": ["1541", "3150"]}
    {"id": "q2", "image": "images/1541.jpg", "relevant": ["3150"], "exclude": ["1541"]}
    {"id": "q3", "text": "black heels", "filters": {"brand": ["Catwalk"], "price_max": 2000},
     "relevant": ["14420"]}

`image` is relative to the query file; ids are the catalogue's own product ids (strings).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FILTER_KEYS = frozenset({"brand", "category", "gender", "colour", "price_min", "price_max"})
LIST_FILTERS = ("brand", "category", "gender", "colour")


class QueryFileError(ValueError):
    """A query line that cannot be evaluated; the message names the file and line."""


@dataclass(frozen=True)
class Query:
    id: str
    relevant: tuple[str, ...]
    text: str | None = None
    image: Path | None = None  # resolved against the query file's folder
    exclude: tuple[str, ...] = ()
    filters: dict[str, Any] = field(default_factory=dict)

    def to_json(self, base: Path | None = None) -> dict[str, Any]:
        """The JSONL form; `image` is written relative to `base` (the query file's folder)."""
        out: dict[str, Any] = {"id": self.id}
        if self.text is not None:
            out["text"] = self.text
        if self.image is not None:
            out["image"] = _relative(self.image, base) if base else str(self.image)
        if self.filters:
            out["filters"] = self.filters
        out["relevant"] = list(self.relevant)
        if self.exclude:
            out["exclude"] = list(self.exclude)
        return out


def _relative(path: Path, base: Path) -> str:
    return os.path.relpath(path, base)


def parse_query(raw: dict[str, Any], base: Path, where: str) -> Query:
    def ids(key: str) -> tuple[str, ...]:
        value = raw.get(key, [])
        if not isinstance(value, list):
            raise QueryFileError(f"{where}: '{key}' must be a list of product ids")
        return tuple(str(v) for v in value)

    text, image = raw.get("text"), raw.get("image")
    if not (isinstance(text, str) and text.strip()) and not image:
        raise QueryFileError(f"{where}: a query needs 'text' or 'image'")
    relevant, exclude = ids("relevant"), ids("exclude")
    if not set(relevant) - set(exclude):
        # Every metric divides by the relevant set; an empty one would be silently scored 0.
        raise QueryFileError(f"{where}: 'relevant' is empty (after 'exclude')")
    filters = raw.get("filters") or {}
    unknown = set(filters) - FILTER_KEYS
    if unknown:
        raise QueryFileError(f"{where}: unknown filter(s) {sorted(unknown)}; known: {sorted(FILTER_KEYS)}")
    for key in LIST_FILTERS:
        if isinstance(filters.get(key), str):  # a lone string is read as a one-item list
            filters[key] = [filters[key]]
    return Query(
        id=str(raw.get("id") or where),
        relevant=relevant,
        text=text if isinstance(text, str) and text.strip() else None,
        image=(base / image).resolve() if image else None,
        exclude=exclude,
        filters=filters,
    )


def read_queries(path: Path) -> list[Query]:
    """Every query of a file; raises QueryFileError on the first unusable line."""
    base = path.resolve().parent
    queries: list[Query] = []
    with path.open(encoding="utf-8") as handle:
        for n, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise QueryFileError(f"{path}:{n}: not JSON: {exc.msg}") from exc
            if not isinstance(raw, dict):
                raise QueryFileError(f"{path}:{n}: a query is a JSON object")
            queries.append(parse_query(raw, base, f"{path}:{n}"))
    if not queries:
        raise QueryFileError(f"{path}: no queries")
    return queries


def write_queries(path: Path, queries: Iterable[Query]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    base = path.resolve().parent
    n = 0
    with path.open("w", encoding="utf-8") as handle:
        for q in queries:
            handle.write(json.dumps(q.to_json(base), ensure_ascii=False) + "\n")
            n += 1
    return n
