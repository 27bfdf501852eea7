"""Retrieval metrics over embeddings (numpy), with the evaluation contract's definitions.

acc@k: share of queries with at least one relevant item in the top k; recall@k: relevant
share found in the top k; p@10: relevant share of the top 10; mrr@10: reciprocal rank of the
first relevant hit within 10 (0 beyond); ndcg@10 with binary gains.
"""

from __future__ import annotations

import numpy as np

KS = (1, 5, 10)


def rank(
    queries: np.ndarray, gallery: np.ndarray, exclude: np.ndarray | None = None, k: int = 10
) -> np.ndarray:
    """Top-k gallery indices per query by cosine (rows are unit vectors); ``exclude`` masks pairs."""
    scores = queries @ gallery.T
    if exclude is not None:
        scores = np.where(exclude, -np.inf, scores)
    top = np.argpartition(-scores, min(k, scores.shape[1] - 1), axis=1)[:, :k]
    order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(top, order, axis=1)


def retrieval_metrics(top: np.ndarray, relevant: np.ndarray) -> dict[str, float]:
    """``top``: (q, ≥10) ranked gallery indices; ``relevant``: (q, gallery) boolean."""
    hits = np.take_along_axis(relevant, top[:, :10], axis=1).astype(np.float64)
    n_relevant = relevant.sum(axis=1)
    keep = n_relevant > 0  # a query with nothing relevant cannot be scored
    hits, n_relevant = hits[keep], n_relevant[keep]
    if len(hits) == 0:
        return {}
    out = {f"acc@{k}": float(hits[:, :k].any(axis=1).mean()) for k in KS}
    out["recall@10"] = float((hits.sum(axis=1) / n_relevant).mean())
    out["p@10"] = float(hits.mean(axis=1).mean())
    first = np.where(hits.any(axis=1), hits.argmax(axis=1), -1)
    out["mrr@10"] = float(np.where(first >= 0, 1.0 / np.maximum(first + 1, 1), 0.0).mean())
    discounts = 1.0 / np.log2(np.arange(2, 12))
    dcg = (hits * discounts).sum(axis=1)
    ideal = np.array([discounts[: min(int(n), 10)].sum() for n in n_relevant])
    out["ndcg@10"] = float((dcg / ideal).mean())
    out["queries"] = len(hits)
    return out
