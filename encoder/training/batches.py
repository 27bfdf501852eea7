"""Which products share a training batch: in-batch negatives decide what the model must tell apart.

A shuffled catalogue gives each product about 7 in-batch neighbours of its own type, colour
and gender (batch 256, the Myntra train split), so InfoNCE mostly teaches type and colour,
and title → photo stalls near what type + colour + gender alone can rank (bench/eval/ceilings.py).
``hard_share`` fills that share of every batch with a run of products sorted by those
attributes: their negatives differ only in brand and detail. The rest of the batch stays
random, so type and colour are still contrasted.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

GROUP_KEYS = ("category", "colour", "gender")


def _cut(items: list[int], pieces: int) -> list[list[int]]:
    """`items` in `pieces` contiguous runs whose lengths differ by at most one."""
    bounds = [round(k * len(items) / pieces) for k in range(pieces + 1)]
    return [items[bounds[k] : bounds[k + 1]] for k in range(pieces)]


def epoch_batches(
    rows: Sequence[dict], rng: random.Random, batch_size: int, hard_share: float = 0.0
) -> list[list[int]]:
    """This epoch's batches of row indices; every row exactly once.

    ``hard_share`` 0 is a plain shuffle cut into batches (the rule older checkpoints were
    trained with: the same random draws, the same batches).
    """
    order = list(range(len(rows)))
    rng.shuffle(order)
    if hard_share <= 0:
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    n_batches = math.ceil(len(order) / batch_size)
    n_hard = round(len(order) * min(1.0, hard_share))
    hard, easy = order[:n_hard], order[n_hard:]

    def group(i: int) -> str:
        return "\0".join(str(rows[i].get(k) or "") for k in GROUP_KEYS)

    groups = sorted({group(i) for i in hard})  # sorted first: set order varies between runs
    rng.shuffle(groups)
    place = {g: n for n, g in enumerate(groups)}
    hard.sort(key=lambda i: place[group(i)])  # stable: a group keeps its shuffled order
    return [h + e for h, e in zip(_cut(hard, n_batches), _cut(easy, n_batches), strict=True)]
