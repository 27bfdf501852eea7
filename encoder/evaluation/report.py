"""A run's report: a markdown table of every combination and a PNG of acc@k curves (k = 1..10).

Only aggregate figures go in: the report may be committed (docs/img), query files may not.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from encoder.evaluation.metrics import METRICS
from encoder.evaluation.runner import PLAIN, RunResult

PLOT_NAME = "acc_at_k.png"


@dataclass(frozen=True)
class Summary:
    """What a report needs of a run; built from a live RunResult or from its saved JSON, so runs
    made at different times (base today, default after training) can share one table."""

    model: str
    mode: str
    query_set: str
    template: str
    queries: int
    metrics: dict[str, float]
    curve: list[float]

    @property
    def label(self) -> str:
        tpl = "" if self.template == PLAIN else f" [{self.template}]"
        return f"{self.model} / {self.mode}{tpl}"

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model, "mode": self.mode, "queries": self.queries, "metrics": self.metrics,
            "query_set": self.query_set, "template": self.template, "acc_curve": self.curve,
        }  # fmt: skip

    @classmethod
    def of(cls, run: RunResult | Summary) -> Summary:
        if isinstance(run, Summary):
            return run
        return cls(run.model, run.mode, run.query_set, run.template, len(run.results), run.metrics, run.curve)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Summary:
        return cls(
            d["model"], d["mode"], d.get("query_set", "queries"), d.get("template", PLAIN),
            d["queries"], d["metrics"], d.get("acc_curve", []),
        )  # fmt: skip


def load_summaries(paths: Sequence[Path]) -> list[Summary]:
    """`clipshoe eval --json` outputs (one object or a list each), in file order."""
    out: list[Summary] = []
    for path in paths:
        data = json.loads(path.read_text(encoding="utf-8"))
        out += [Summary.from_json(d) for d in (data if isinstance(data, list) else [data])]
    return out


def markdown_table(items: Sequence[RunResult | Summary]) -> str:
    runs = [Summary.of(r) for r in items]
    with_templates = any(r.template != PLAIN for r in runs)
    head = ["query set", "model", "mode", *(["template"] if with_templates else []), "queries", *METRICS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 3 + ("---|" if with_templates else "")]
    lines[1] += "---:|" * (1 + len(METRICS))
    for r in runs:
        m = r.metrics
        cells = [r.query_set, r.model, r.mode, *([f"`{r.template}`"] if with_templates else [])]
        cells += [str(r.queries), *(f"{m[name]:.3f}" for name in METRICS)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_curves(items: Sequence[RunResult | Summary], path: Path) -> Path:
    """One panel per query set, one line per model / mode / template."""
    runs = [Summary.of(r) for r in items if Summary.of(r).curve]
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and in CI
    import matplotlib.pyplot as plt

    sets = list(dict.fromkeys(r.query_set for r in runs))
    cols = min(3, len(sets))
    rows = math.ceil(len(sets) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.9 * rows), squeeze=False)
    ks = list(range(1, 11))
    # One colour per line label across every panel, so a model reads the same everywhere.
    palette = plt.get_cmap("tab10").colors  # type: ignore[attr-defined]
    colour = {lab: palette[i % len(palette)] for i, lab in enumerate(dict.fromkeys(r.label for r in runs))}
    for ax, name in zip(axes.flat, sets, strict=False):
        for r in (r for r in runs if r.query_set == name):
            ax.plot(ks, r.curve, marker="o", markersize=3, label=r.label, color=colour[r.label])
        ax.set_title(f"{name} ({next(r for r in runs if r.query_set == name).queries} queries)")
        ax.set_xlabel("k")
        ax.set_ylabel("acc@k")
        ax.set_xticks(ks)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    for ax in list(axes.flat)[len(sets) :]:
        ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(
    runs: Sequence[RunResult | Summary], out: Path, title: str = "ClipShoe evaluation"
) -> list[Path]:
    """report.md (table + plot link), acc_at_k.png and results.json (every run's summary)."""
    out.mkdir(parents=True, exist_ok=True)
    summaries = [Summary.of(r) for r in runs]
    plot = plot_curves(summaries, out / PLOT_NAME)
    md = out / "report.md"
    body = f"# {title}\n\n{markdown_table(summaries)}\n![acc@k curves]({PLOT_NAME})\n"
    md.write_text(body, encoding="utf-8")
    results = out / "results.json"
    rows = [r.to_json() for r in runs]
    results.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return [md, plot, results]
