"""Run a query set through a search function and score it: the contract's JSON and per-query rows.

The search function is handed in (`clipshoe eval` passes one built on the API's SearchService
over a scratch index), so this module stays free of the SQL, index and web layers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from encoder.evaluation.metrics import K, hit_curve, mean_curve, mean_metrics, query_metrics
from encoder.evaluation.query_file import Query

# (query, text after the template, results wanted) → catalogue product ids, best first.
SearchFn = Callable[[Query, str | None, int], list[str]]

PLAIN = "{q}"


def apply_template(template: str, text: str | None) -> str | None:
    """A query-side prompt template ("a photo of {q}"); image-only queries have no text to wrap."""
    if text is None:
        return None
    return template.replace("{q}", text) if "{q}" in template else f"{template} {text}"


@dataclass
class QueryResult:
    query: Query
    text: str | None
    ranking: list[str]
    metrics: dict[str, float]
    curve: list[float]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.query.id,
            "text": self.text,
            "image": str(self.query.image) if self.query.image else None,
            "top10": self.ranking[:K],
            "relevant": len(self.query.relevant),
            "metrics": {k: round(v, 6) for k, v in self.metrics.items()},
        }


@dataclass
class RunResult:
    """One (model, mode, query set, template) combination."""

    model: str
    mode: str
    query_set: str
    template: str
    results: list[QueryResult]
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def metrics(self) -> dict[str, float]:
        return mean_metrics([r.metrics for r in self.results])

    @property
    def curve(self) -> list[float]:
        """acc@k for k = 1..10, for the report's plot."""
        return mean_curve([r.curve for r in self.results])

    @property
    def label(self) -> str:
        tpl = "" if self.template == PLAIN else f" [{self.template}]"
        return f"{self.model} / {self.mode}{tpl}"

    def to_json(self) -> dict[str, Any]:
        """The contract's shape first; the keys after `metrics` are extras a reader may ignore."""
        return {
            "model": self.model,
            "mode": self.mode,
            "queries": len(self.results),
            "metrics": {k: round(v, 6) for k, v in self.metrics.items()},
            "query_set": self.query_set,
            "template": self.template,
            "acc_curve": [round(v, 6) for v in self.curve],
            "seconds": round(self.seconds, 3),
            **self.extra,
        }


def run_queries(
    search: SearchFn,
    queries: Sequence[Query],
    *,
    model: str,
    mode: str,
    query_set: str,
    template: str = PLAIN,
    progress: Callable[[int], None] | None = None,
) -> RunResult:
    started = time.perf_counter()
    results: list[QueryResult] = []
    for q in queries:
        text = apply_template(template, q.text)
        # Ask for the excluded ones on top: the top 10 is scored after they are removed.
        ranking = search(q, text, K + len(q.exclude))
        results.append(
            QueryResult(
                query=q,
                text=text,
                ranking=ranking,
                metrics=query_metrics(ranking, q.relevant, q.exclude),
                curve=hit_curve(ranking, q.relevant, q.exclude),
            )
        )
        if progress:
            progress(1)
    return RunResult(model, mode, query_set, template, results, time.perf_counter() - started)
