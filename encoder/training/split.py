"""The fixed train / validation / test split, shared by training, evaluation and benchmarks.

A product's split is decided by a hash of its id, so it never changes as the catalogue grows
and figures stay comparable. Products whose photos are byte-identical form one group and take
the split of the group's smallest id: the same photo never straddles train and test.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Literal

Split = Literal["train", "val", "test"]
BUCKETS = 100
VAL_FROM, TEST_FROM = 80, 90  # 80% train, 10% validation, 10% test


def split_of_key(key: str) -> Split:
    bucket = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % BUCKETS
    return "train" if bucket < VAL_FROM else "val" if bucket < TEST_FROM else "test"


def _id_order(product_id: str) -> tuple[int, str]:
    return (0, f"{int(product_id):020d}") if product_id.isdigit() else (1, product_id)


def assign_splits(items: Iterable[tuple[str, str | None]]) -> dict[str, Split]:
    """(product id, photo sha256 or None) pairs → split per product id."""
    items = list(items)
    group_key: dict[str, str] = {}
    for pid, sha in sorted(items, key=lambda it: _id_order(it[0])):
        if sha is not None:
            group_key.setdefault(sha, pid)  # first (smallest) id that shows this photo
    return {pid: split_of_key(group_key[sha] if sha else pid) for pid, sha in items}
