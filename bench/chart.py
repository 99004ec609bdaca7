"""Draw docs/benchmarks.png from the figures the benchmarks left in bench/results/.

    .venv/bin/python bench/chart.py

Each panel shows our ratios against the baseline of the same run, with the target as a line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: write a file
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
OUT = ROOT / "docs" / "benchmarks.png"


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def bars(
    ax,
    labels: list[str],
    values: list[float],
    title: str,
    target: float | None,
    target_label: str,
    ceiling=False,
    references: frozenset[int] = frozenset(),
) -> None:
    """Horizontal bars; red where the target is missed (a floor, or a ceiling when `ceiling`).

    references: indexes of bars that are not ours but a yardstick (grey, never judged).
    """
    missed = [target is not None and (v > target if ceiling else v < target) for v in values]
    colours = ["#9a9a9a" if i in references else "#d1495b" if miss else "#2f6fde" for i, miss in enumerate(missed)]
    ax.barh(labels, values, color=colours)
    for y, v in enumerate(values):
        ax.text(v, y, f" {v:.2f}", va="center", fontsize=8)
    if target is not None:
        ax.axvline(target, color="#333", linestyle="--", linewidth=1)
        ax.text(target, len(values) - 0.4, f" {target_label}", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.invert_yaxis()
    ax.tick_params(labelsize=8)


def main() -> None:
    panels = []
    if throughput := load("throughput"):
        rows = [r for r in throughput["rows"] if r["worker"].startswith("ours")]
        labels = [f"{r['database']}: {r['worker']} x{r['processes']}" for r in rows]
        values = [r["vs_raw"] for r in rows]
        panels.append((labels, values, "Job throughput vs raw RQ (same class, same processes)", 0.8, "0.8"))
        scaling = [r for r in throughput["rows"] if r["vs_one_process"] is not None and r["processes"] > 1]
        labels = [f"{r['database']}: {r['worker']} x{r['processes']}" for r in scaling]
        values = [r["vs_one_process"] for r in scaling]
        panels.append((labels, values, "More processes vs one (raw RQ: what the machine allows)", None, ""))
        rivals = [r for r in throughput["rows"] if r["worker"].startswith("django-rq")]
        labels = [f"{r['database']}: ours (1 process) vs {r['worker']}" for r in rivals]
        values = [r["ours_vs_it"] for r in rivals]
        panels.append((labels, values, "Our default worker vs django-rq's default rqworker", 1.0, "1.0 even"))
    if enqueue := load("enqueue"):
        rows = [r for r in enqueue["rows"] if not r[1].startswith("raw")]
        labels = [f"{r[0]}: {r[1]}" for r in rows]
        floors = frozenset(i for i, r in enumerate(rows) if r[1].startswith("floor"))
        panels.append(
            (labels, [float(r[3]) for r in rows], "Enqueue throughput vs raw RQ single (grey: the floor)", 0.5,
             "0.5 single", False, floors)
        )  # fmt: skip
    if ocr := load("ocr"):
        rows = ocr["rows"][1:]
        labels = [f"{r[1]} worker(s) vs bare loop" for r in rows] + [f"{r[1]} workers vs 1" for r in rows[1:]]
        values = [float(r[3]) for r in rows] + [float(r[4]) for r in rows[1:]]
        panels.append((labels, values, "OCR images/s", 0.9, "0.9"))
    if memory := load("memory"):
        labels = [f"RSS after {memory['jobs']} / after {memory['early']} jobs"]
        panels.append((labels, [1 + memory["growth"]], "Worker memory growth", 1.1, "1.10 max", True))
    if web := load("web"):
        labels = ["upload / plain view, median", "upload / plain view, p95"]
        panels.append((labels, [web["ratio_median"], web["ratio_p95"]], "Request latency under OCR load", None, ""))
    if not panels:
        sys.exit("no results in bench/results/: run the benchmarks first")
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.2 * len(panels)), squeeze=False)
    for ax, panel in zip(axes[:, 0], panels, strict=True):
        bars(ax, *panel)
    fig.tight_layout()
    OUT.parent.mkdir(exist_ok=True)
    fig.savefig(OUT, dpi=110)
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
