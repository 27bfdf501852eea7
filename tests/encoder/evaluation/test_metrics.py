"""Metric arithmetic on rankings small enough to score by hand."""

from __future__ import annotations

import math

import pytest

from encoder.evaluation.metrics import METRICS, hit_curve, mean_metrics, query_metrics

# Query A: relevant {a, b, c}; ranking a x b y z.
#   first hit at rank 1            → acc@1 = acc@5 = acc@10 = 1, mrr@10 = 1/1 = 1
#   2 of 3 relevant in the top 10  → recall@10 = 2/3, p@10 = 2/10 = 0.2
#   DCG  = 1/log2(2) + 1/log2(4)                 = 1 + 0.5              = 1.5
#   IDCG = 1/log2(2) + 1/log2(3) + 1/log2(4)     = 1 + 0.63093 + 0.5    = 2.13093
#   ndcg@10 = 1.5 / 2.13093 = 0.70392
A = (["a", "x", "b", "y", "z"], {"a", "b", "c"}, set())
# Query B: relevant {q, r}, q excluded (it is the query's own photo); ranking q x y r.
#   q leaves the ranking and the relevant set → ranking x y r, relevant {r}
#   first hit at rank 3 → acc@1 = 0, acc@5 = acc@10 = 1, mrr@10 = 1/3
#   recall@10 = 1/1 = 1, p@10 = 1/10 = 0.1
#   DCG = 1/log2(4) = 0.5, IDCG = 1/log2(2) = 1 → ndcg@10 = 0.5
B = (["q", "x", "y", "r"], {"q", "r"}, {"q"})
# Query C: nothing relevant is returned → every metric 0.
C = (["x"], {"a"}, set())


def test_query_a_by_hand() -> None:
    m = query_metrics(*A)
    assert m["acc@1"] == m["acc@5"] == m["acc@10"] == 1.0
    assert m["recall@10"] == pytest.approx(2 / 3)
    assert m["p@10"] == pytest.approx(0.2)
    assert m["mrr@10"] == 1.0
    assert m["ndcg@10"] == pytest.approx(0.70392, abs=1e-5)


def test_exclude_leaves_ranking_and_relevant_set() -> None:
    m = query_metrics(*B)
    assert (m["acc@1"], m["acc@5"], m["acc@10"]) == (0.0, 1.0, 1.0)
    assert m["recall@10"] == 1.0
    assert m["p@10"] == pytest.approx(0.1)
    assert m["mrr@10"] == pytest.approx(1 / 3)
    assert m["ndcg@10"] == pytest.approx(0.5)


def test_mean_over_three_queries() -> None:
    mean = mean_metrics([query_metrics(*q) for q in (A, B, C)])
    assert list(mean) == list(METRICS)  # the contract's key order
    # acc@1 = (1+0+0)/3, acc@5 = (1+1+0)/3, recall = (2/3+1+0)/3 = 0.55556, p@10 = (0.2+0.1+0)/3 = 0.1
    # mrr = (1+1/3+0)/3 = 0.44444, ndcg = (0.70392+0.5+0)/3 = 0.40131
    assert mean["acc@1"] == pytest.approx(1 / 3)
    assert mean["acc@5"] == mean["acc@10"] == pytest.approx(2 / 3)
    assert mean["recall@10"] == pytest.approx(0.55556, abs=1e-5)
    assert mean["p@10"] == pytest.approx(0.1)
    assert mean["mrr@10"] == pytest.approx(0.44444, abs=1e-5)
    assert mean["ndcg@10"] == pytest.approx(0.40131, abs=1e-5)


def test_only_the_top_ten_counts_and_repeats_count_once() -> None:
    ranking = [f"x{i}" for i in range(10)] + ["a"]  # the relevant one at rank 11
    assert query_metrics(ranking, {"a"})["acc@10"] == 0.0
    # "a" twice: the second copy is dropped, so "b" moves up to rank 2.
    m = query_metrics(["a", "a", "b"], {"a", "b"})
    assert m["p@10"] == pytest.approx(0.2)
    assert m["ndcg@10"] == pytest.approx(1.0)


def test_ideal_dcg_is_capped_at_ten() -> None:
    relevant = {f"r{i}" for i in range(30)}
    ranking = sorted(relevant)[:10]
    m = query_metrics(ranking, relevant)
    assert m["ndcg@10"] == pytest.approx(1.0)  # ten hits out of ten possible slots is ideal
    assert m["recall@10"] == pytest.approx(10 / 30)
    assert m["p@10"] == 1.0


def test_hit_curve_steps_at_the_first_hit() -> None:
    assert hit_curve(*B) == [0.0, 0.0] + [1.0] * 8
    assert math.fsum(hit_curve(*C)) == 0.0


def test_no_relevant_left_is_an_error() -> None:
    with pytest.raises(ValueError):
        query_metrics(["a"], {"a"}, exclude={"a"})
