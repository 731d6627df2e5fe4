"""PNG plots for the pages, drawn with matplotlib's Agg canvas (no display, no global state).

Same inputs give the same bytes (no timestamps in the PNG metadata), so a plot can be cached
next to what it was drawn from.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

from robotops.tools.triage.window import Window, get

PNG_META = {"Software": None}


def _figure(width: float, height: float, rows: int = 1):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    return fig, axes


def _png(fig: Any) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata=PNG_META)
    return out.getvalue()


def speed_series(win: Window, t0_ns: int) -> tuple[list[float], list[float]]:
    """Forward speed (m/s) from odometry, against seconds from ``t0_ns``."""
    ts, vs = [], []
    for t, msg in win.messages.get("odom", []):
        vx = get(msg, "twist", "twist", "linear", "x", default=0.0)
        vy = get(msg, "twist", "twist", "linear", "y", default=0.0)
        ts.append((t - t0_ns) / 1e9)
        vs.append(math.hypot(vx, vy))
    return ts, vs


def obstacle_series(win: Window, t0_ns: int) -> tuple[list[float], list[float]]:
    """Perception's obstacle probability against seconds from ``t0_ns``."""
    pairs = [
        ((t - t0_ns) / 1e9, float(get(m, "probability", default=0.0)))
        for t, m in win.messages.get("perception", [])
    ]
    return [t for t, _ in pairs], [p for _, p in pairs]


def timeline_png(win: Window, incident_ns: int, title: str) -> bytes:
    """Speed, obstacle probability and events around an incident (time 0 is the incident)."""
    fig, (speed_ax, prob_ax) = _figure(8.0, 4.2, rows=2)
    ts, vs = speed_series(win, incident_ns)
    speed_ax.plot(ts, vs, color="#1f6feb", lw=1.6)
    speed_ax.set_ylabel("speed (m/s)")
    speed_ax.set_title(title, fontsize=10, loc="left")
    pt, ps = obstacle_series(win, incident_ns)
    prob_ax.plot(pt, ps, color="#d4380d", lw=1.6)
    prob_ax.set_ylim(-0.05, 1.05)
    prob_ax.set_ylabel("obstacle p")
    prob_ax.set_xlabel("seconds from the incident")
    for ax in (speed_ax, prob_ax):
        ax.axvline(0.0, color="black", lw=1.2, ls="--")
        ax.grid(alpha=0.3)
    for t, event in win.messages.get("events", []):
        x = (t - incident_ns) / 1e9
        speed_ax.axvline(x, color="#8250df", lw=0.8, alpha=0.7)
        label = str(get(event, "kind", default="event"))
        speed_ax.annotate(
            label,
            (x, 0.96),
            xycoords=("data", "axes fraction"),
            xytext=(3, 0),
            textcoords="offset points",
            fontsize=8,
            va="top",
            ha="left",
            color="#8250df",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
        )
    if not ts and not pt:
        speed_ax.text(
            0.5,
            0.5,
            "no odometry or perception in this window",
            ha="center",
            transform=speed_ax.transAxes,
        )
    return _png(fig)


def distributions_png(metric: str, values: dict[str, Sequence[float]]) -> bytes:
    """One metric's values per policy version: a strip of runs over a box per version."""
    fig, (ax,) = _figure(4.8, 0.9 + 0.55 * max(len(values), 1))
    names = sorted(values)
    data = [list(values[n]) for n in names]
    if any(data):
        ax.boxplot(data, orientation="horizontal", tick_labels=names, widths=0.5, showfliers=False)
        for i, vals in enumerate(data, start=1):
            jitter = [i + 0.15 * math.sin(k * 2.399) for k in range(len(vals))]
            ax.scatter(vals, jitter, s=9, alpha=0.6, color="#1f6feb")
    ax.set_title(metric, fontsize=10, loc="left")
    ax.grid(alpha=0.3, axis="x")
    return _png(fig)
