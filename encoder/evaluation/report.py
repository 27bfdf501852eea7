"""A run's report: a markdown table of every combination and a PNG of acc@k curves (k = 1..10).

Only aggregate figures go in: the report may be committed (docs/img), query files may not.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

from encoder.evaluation.metrics import METRICS
from encoder.evaluation.runner import PLAIN, RunResult

PLOT_NAME = "acc_at_k.png"


def markdown_table(runs: Sequence[RunResult]) -> str:
    with_templates = any(r.template != PLAIN for r in runs)
    head = ["query set", "model", "mode", *(["template"] if with_templates else []), "queries", *METRICS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 3 + ("---|" if with_templates else "")]
    lines[1] += "---:|" * (1 + len(METRICS))
    for r in runs:
        m = r.metrics
        cells = [r.query_set, r.model, r.mode, *([f"`{r.template}`"] if with_templates else [])]
        cells += [str(len(r.results)), *(f"{m[name]:.3f}" for name in METRICS)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_curves(runs: Sequence[RunResult], path: Path) -> Path:
    """One panel per query set, one line per model / mode / template."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and in CI
    import matplotlib.pyplot as plt

    sets = list(dict.fromkeys(r.query_set for r in runs))
    cols = min(3, len(sets))
    rows = math.ceil(len(sets) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.9 * rows), squeeze=False)
    ks = list(range(1, 11))
    for ax, name in zip(axes.flat, sets, strict=False):
        for r in (r for r in runs if r.query_set == name):
            ax.plot(ks, r.curve, marker="o", markersize=3, label=r.label)
        ax.set_title(f"{name} ({len(next(r for r in runs if r.query_set == name).results)} queries)")
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


def write_report(runs: Sequence[RunResult], out: Path, title: str = "ClipShoe evaluation") -> list[Path]:
    """report.md (table + plot link), acc_at_k.png and results.json (every run's JSON)."""
    out.mkdir(parents=True, exist_ok=True)
    plot = plot_curves(runs, out / PLOT_NAME)
    md = out / "report.md"
    md.write_text(f"# {title}\n\n{markdown_table(runs)}\n![acc@k curves]({PLOT_NAME})\n", encoding="utf-8")
    results = out / "results.json"
    results.write_text(json.dumps([r.to_json() for r in runs], indent=2) + "\n", encoding="utf-8")
    return [md, plot, results]
