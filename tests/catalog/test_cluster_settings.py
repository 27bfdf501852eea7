"""A Qdrant cluster's collection settings reach the collections ClipShoe creates."""

from __future__ import annotations

from catalog.index_qdrant import QdrantClientIndex
from catalog.vector_index import open_index
from clipshoe.settings import Settings

CLUSTER = {"shard_number": 6, "replication_factor": 2, "write_consistency_factor": 1}


def test_server_settings_carry_the_cluster_parameters() -> None:
    idx = open_index(Settings(qdrant={"url": "http://127.0.0.1:1", **CLUSTER}))
    try:
        assert isinstance(idx, QdrantClientIndex) and idx.collection_params == CLUSTER
    finally:
        idx.close()


def test_a_single_node_gets_qdrants_defaults() -> None:
    idx = open_index(Settings(qdrant={"url": "http://127.0.0.1:1"}))
    try:
        assert idx.collection_params == {}
    finally:
        idx.close()


def test_collections_are_created_with_them() -> None:
    # qdrant-client's local mode takes the same call a server does (it has one shard whatever is asked).
    with QdrantClientIndex(":memory:", collection_params=CLUSTER) as idx:
        idx.create_collection("clipshoe_test", 4)
        assert idx.list_collections() == ["clipshoe_test"]
