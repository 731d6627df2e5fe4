"""The report's PNG plots, drawn with matplotlib's object API (Agg canvas, no global state)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from robotops.sim.campaign.models import RunResult
from robotops.tools.judge.metrics import CONTINUOUS
from robotops.tools.judge.models import MetricDelta

COLOURS = {"candidate": "#1f77b4", "incumbent": "#ff7f0e"}


def _values(runs: list[RunResult], metric: str) -> np.ndarray:
    fn = CONTINUOUS[metric][1]
    vals = [fn(r.metrics) for r in runs if r.status == "ok" and r.metrics is not None]
    return np.array([v for v in vals if v is not None], dtype=float)


def distributions(
    cand: list[RunResult], inc: list[RunResult], labels: tuple[str, str], path: Path
) -> Path:
    """Box plots of every continuous metric, candidate beside incumbent."""
    names = list(CONTINUOUS)
    fig = Figure(figsize=(3.2 * 4, 3.0 * 2), layout="constrained")
    axes = fig.subplots(2, 4).ravel()
    for ax, name in zip(axes, names, strict=False):
        data = [_values(cand, name), _values(inc, name)]
        shown = [(d, lab) for d, lab in zip(data, labels, strict=True) if d.size]
        if shown:
            box = ax.boxplot(
                [d for d, _ in shown], tick_labels=[lab for _, lab in shown], patch_artist=True
            )
            for patch, (_, lab) in zip(box["boxes"], shown, strict=True):
                role = "candidate" if lab == labels[0] else "incumbent"
                patch.set_facecolor(COLOURS[role])
                patch.set_alpha(0.5)
        ax.set_title(name, fontsize=9)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    fig.savefig(path, dpi=90)
    return path


def rates(deltas: list[MetricDelta], labels: tuple[str, str], path: Path) -> Path:
    """Each rate for both policies with its Wilson interval."""
    rows = [
        d
        for d in deltas
        if d.kind == "rate" and d.candidate is not None and d.incumbent is not None
    ]
    fig = Figure(figsize=(7, 3.2), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(rows))
    for offset, role, label in ((-0.18, "candidate", labels[0]), (0.18, "incumbent", labels[1])):
        vals = [getattr(d, role) for d in rows]
        cis = [getattr(d, f"{role}_ci") or (v, v) for d, v in zip(rows, vals, strict=True)]
        lows = [v - lo for v, (lo, _) in zip(vals, cis, strict=True)]
        highs = [hi - v for v, (_, hi) in zip(vals, cis, strict=True)]
        err = np.clip(np.array([lows, highs]), 0.0, None)  # rounding can leave -1e-17
        ax.bar(x + offset, vals, 0.34, yerr=err, capsize=3, color=COLOURS[role], label=label)
    ax.set_xticks(x, [d.metric for d in rows], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("rate (95% Wilson)")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=90)
    return path


def deltas(rows: list[MetricDelta], path: Path) -> Path:
    """Forest plot: each metric's delta (candidate - incumbent) with its interval, own scale."""
    rows = [d for d in rows if d.delta is not None]
    fig = Figure(figsize=(7, 0.55 * max(len(rows), 1) + 0.8), layout="constrained")
    axes = fig.subplots(max(len(rows), 1), 1, squeeze=False).ravel()
    for ax, d in zip(axes, rows, strict=False):
        colour = {"better": "tab:green", "worse": "tab:red"}.get(d.outcome, "tab:gray")
        ax.errorbar(
            [d.delta],
            [0],
            xerr=[[d.delta - d.ci_low], [d.ci_high - d.delta]],
            fmt="o",
            color=colour,
            capsize=4,
        )
        ax.axvline(0.0, color="black", lw=0.8)
        span = max(abs(d.ci_low), abs(d.ci_high), 1e-9) * 1.2  # type: ignore[arg-type]
        ax.set_xlim(-span, span)
        ax.set_yticks([0], [d.metric], fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    fig.savefig(path, dpi=90)
    return path
