"""assign_groups against a real embedded index: a batch that re-embeds products already indexed."""

from __future__ import annotations

import numpy as np

from catalog.index_edge import EdgeIndex
from catalog.models import Product
from catalog.vector_index import PointData
from search.grouping import assign_groups


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def test_a_reembedded_batch_skips_its_own_points_and_finds_the_indexed_twin() -> None:
    rng = np.random.default_rng(7)
    shoe = _unit(rng.normal(size=16))
    # Five listings of one brand, already indexed, each almost exactly the shoe's photo; and one
    # listing of the same shoe by another seller, slightly further away than all five.
    batch = [Product(point_id=f"00000000-0000-0000-0000-00000000000{i}", brand="Bata") for i in range(5)]
    twin = "00000000-0000-0000-0000-0000000000ff"
    old = [_unit(shoe + 1e-4 * rng.normal(size=16)) for _ in batch]
    twin_vector = _unit(shoe + 0.02 * rng.normal(size=16))
    with EdgeIndex(None) as index:
        index.create_collection("c", 16)
        index.upsert(
            "c",
            [
                PointData(p.point_id, {"image": v}, payload={"brand": "bata", "group": p.point_id})
                for p, v in zip(batch, old, strict=True)
            ]
            + [PointData(twin, {"image": twin_vector}, payload={"brand": "bata", "group": "g-original"})],
        )
        index.upsert(
            "c",
            [PointData("00000000-0000-0000-0000-0000000000aa", {"image": shoe}, payload={"brand": "nike"})],
        )

        # Re-embedded now: each product's new vector is the old one. Its nearest indexed points are
        # its own and its batch mates' old points; the first other one is the twin.
        points = [PointData(p.point_id, {"image": v}) for p, v in zip(batch, old, strict=True)]
        groups = assign_groups(index, "c", batch, points, threshold=0.9)
        assert set(groups.values()) == {"g-original"}

        # With the twin further than the threshold, nothing outside the batch matches: the batch
        # is one group of its own (the smallest id), never a product's old self.
        groups = assign_groups(index, "c", batch, points, threshold=0.99999)
        assert set(groups.values()) == {batch[0].point_id}
