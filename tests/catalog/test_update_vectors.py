"""`update_vectors` replaces only the vectors given, on every backend (a title change re-embeds
the text, never the photo)."""

from __future__ import annotations

import numpy as np
import pytest

from catalog.vector_index import PointData, PointNotFound, SparseVector, VectorIndex, VectorQuery
from tests.catalog import test_vector_index as contract
from tests.catalog.test_vector_index import COLL, DIM, loaded, make_point, unit

index = contract.index  # the contract's fixture: edge, local mode in memory, local mode in a folder


def test_update_vectors_keeps_the_other_vectors_and_the_payload(index: VectorIndex) -> None:
    rng = np.random.default_rng(3)
    points = [make_point(i, rng) for i in range(5)]
    loaded(index, points)
    new_text = unit(rng.standard_normal(DIM).astype(np.float32))
    index.update_vectors(COLL, [PointData(points[1].id, {"text": new_text}, SparseVector([7], [2.0]))])

    [after] = index.retrieve(COLL, [points[1].id], with_vectors=True)
    np.testing.assert_allclose(after.vectors["text"], new_text, atol=1e-5)
    np.testing.assert_allclose(after.vectors["image"], unit(points[1].vectors["image"]), atol=1e-5)
    assert after.sparse is not None and list(after.sparse.indices) == [7]
    assert after.payload == points[1].payload
    # The new text vector is searchable at once; the untouched points are unchanged.
    hits = index.search(COLL, [VectorQuery("text", new_text)], limit=1)
    assert hits[0].id == points[1].id
    [other] = index.retrieve(COLL, [points[2].id], with_vectors=True)
    np.testing.assert_allclose(other.vectors["text"], unit(points[2].vectors["text"]), atol=1e-5)


def test_update_vectors_of_an_unknown_point_raises(index: VectorIndex) -> None:
    rng = np.random.default_rng(4)
    loaded(index, [make_point(0, rng)])
    ghost = make_point(99, rng)
    with pytest.raises(PointNotFound):
        index.update_vectors(COLL, [PointData(ghost.id, {"text": ghost.vectors["text"]})])
    assert index.count(COLL) == 1
