"""Batch composition: every product once per epoch; hard batches gather same-attribute products."""

from __future__ import annotations

import random
from itertools import combinations

from encoder.training.batches import GROUP_KEYS, epoch_batches

CATEGORIES, COLOURS, GENDERS = ("heels", "sneakers", "boots"), ("black", "white", "red"), ("men", "women")


def catalogue(n: int = 300) -> list[dict]:
    rng = random.Random(7)
    return [
        {"category": rng.choice(CATEGORIES), "colour": rng.choice(COLOURS), "gender": rng.choice(GENDERS)}
        for _ in range(n)
    ]


def same_group_pairs(rows: list[dict], batches: list[list[int]]) -> int:
    def group(i: int) -> tuple:
        return tuple(rows[i][k] for k in GROUP_KEYS)

    return sum(group(a) == group(b) for batch in batches for a, b in combinations(batch, 2))


def test_plain_batches_are_the_shuffle_cut_in_order() -> None:
    rows = catalogue()
    order = list(range(len(rows)))
    random.Random("0:3").shuffle(order)
    batches = epoch_batches(rows, random.Random("0:3"), batch_size=64)
    assert batches == [order[i : i + 64] for i in range(0, len(rows), 64)]


def test_hard_batches_hold_every_row_once_and_gather_groups() -> None:
    rows = catalogue()
    plain = epoch_batches(rows, random.Random(1), batch_size=64)
    hard = epoch_batches(rows, random.Random(1), batch_size=64, hard_share=0.5)
    assert sorted(i for batch in hard for i in batch) == list(range(len(rows)))
    assert len(hard) == len(plain) and max(map(len, hard)) - min(map(len, hard)) <= 2
    # 18 groups of ~17: in a random batch a product meets ~1/18 of the others in its group (~490
    # pairs in all); in a hard half of 30 sorted by group, ~7 of its 8 group mates (~920).
    assert same_group_pairs(rows, hard) > 1.5 * same_group_pairs(rows, plain)


def test_hard_batches_are_seeded() -> None:
    rows = catalogue()
    first = epoch_batches(rows, random.Random("0:1"), batch_size=50, hard_share=0.25)
    assert first == epoch_batches(rows, random.Random("0:1"), batch_size=50, hard_share=0.25)
    assert first != epoch_batches(rows, random.Random("0:2"), batch_size=50, hard_share=0.25)
