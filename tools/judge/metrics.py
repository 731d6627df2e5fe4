"""Per-metric deltas of candidate vs incumbent: which metrics, which direction is better, and
the interval each one gets (bootstrap for means, Wilson/Newcombe for rates)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

from robotops.sim.campaign.models import RunMetrics, RunResult
from robotops.tools.judge.models import JudgeConfig, MetricDelta, Outcome
from robotops.tools.judge.stats import (
    bootstrap_paired,
    bootstrap_unpaired,
    newcombe_difference,
    wilson_interval,
)

Better = Literal["lower", "higher"]
Key = tuple[str, int]

CONTINUOUS: dict[str, tuple[Better, Callable[[RunMetrics], float | None]]] = {
    "stall_time_s": ("lower", lambda m: m.stall_time_s),
    "time_to_goal_s": ("lower", lambda m: m.time_to_goal_s),
    "phantom_stops": ("lower", lambda m: float(m.phantom_stops)),
    "steering_reversals": ("lower", lambda m: float(m.steering_reversals)),
    "jerk_rms": ("lower", lambda m: m.jerk_rms),
    "min_clearance_people_m": ("higher", lambda m: m.min_clearance_people_m),
    "min_clearance_obstacles_m": ("higher", lambda m: m.min_clearance_obstacles_m),
}


def _ok(r: RunResult) -> bool:
    return r.status == "ok" and r.metrics is not None


# A rate's event per run; None leaves the run out of that rate (a failed run has no metrics,
# but it does count as not reaching the goal and as a failure).
RATES: dict[str, tuple[Better, Callable[[RunResult], bool | None]]] = {
    "reached_goal_rate": ("higher", lambda r: _ok(r) and r.metrics.reached_goal),  # type: ignore[union-attr]
    "phantom_stop_rate": ("lower", lambda r: r.metrics.phantom_stops > 0 if _ok(r) else None),  # type: ignore[union-attr]
    "collision_rate": ("lower", lambda r: r.metrics.collisions > 0 if _ok(r) else None),  # type: ignore[union-attr]
    "failure_rate": ("lower", lambda r: r.status == "failed"),
}


def run_key(r: RunResult) -> Key:
    """The (scenario, seed) a run is paired on between candidate and incumbent."""
    return r.scenario_id, r.seed


def paired_keys(cand: list[RunResult], inc: list[RunResult]) -> bool:
    """Pair by (scenario, seed) when both policies ran exactly the same runs, once each."""
    ck, ik = [run_key(r) for r in cand], [run_key(r) for r in inc]
    return len(set(ck)) == len(ck) and len(set(ik)) == len(ik) and set(ck) == set(ik)


def outcome(lo: float | None, hi: float | None, better: Better) -> Outcome:
    """What a delta's interval says: better, worse, same or unclear, given which way is better."""
    if lo is None or hi is None:
        return "unclear"
    if lo == hi == 0.0:
        return "same"
    if hi < 0:
        return "better" if better == "lower" else "worse"
    if lo > 0:
        return "worse" if better == "lower" else "better"
    return "unclear"


def _values(runs: list[RunResult], fn: Callable[[RunMetrics], float | None]) -> dict[Key, float]:
    out = {}
    for r in runs:
        if _ok(r):
            v = fn(r.metrics)  # type: ignore[arg-type]
            if v is not None:
                out[run_key(r)] = float(v)
    return out


def continuous_delta(
    name: str, cand: list[RunResult], inc: list[RunResult], cfg: JudgeConfig, paired: bool
) -> MetricDelta:
    """Candidate minus incumbent on a per-run metric, paired by (scenario, seed) when possible,
    with a bootstrap interval."""
    better, fn = CONTINUOUS[name]
    cv, iv = _values(cand, fn), _values(inc, fn)
    if paired:
        keys = sorted(set(cv) & set(iv))
        c = np.array([cv[k] for k in keys])
        i = np.array([iv[k] for k in keys])
    else:
        c, i = np.array(list(cv.values())), np.array(list(iv.values()))
    lo = hi = delta = None
    method = "too few values (need 2 per policy)"
    if min(c.size, i.size) >= 2:
        if paired:
            lo, hi = bootstrap_paired(c, i, cfg.resamples, cfg.confidence, cfg.seed)
            method = f"paired bootstrap, {cfg.resamples} resamples"
        else:
            lo, hi = bootstrap_unpaired(c, i, cfg.resamples, cfg.confidence, cfg.seed)
            method = f"bootstrap, {cfg.resamples} resamples"
        delta = float(c.mean() - i.mean())
    return MetricDelta(
        metric=name,
        kind="continuous",
        better=better,
        candidate=float(c.mean()) if c.size else None,
        incumbent=float(i.mean()) if i.size else None,
        delta=delta,
        ci_low=lo,
        ci_high=hi,
        n_candidate=int(c.size),
        n_incumbent=int(i.size),
        method=method,
        outcome=outcome(lo, hi, better),
    )


def rate_delta(
    name: str, cand: list[RunResult], inc: list[RunResult], cfg: JudgeConfig
) -> MetricDelta:
    """Candidate minus incumbent on a rate (events per opportunity), with a Newcombe interval."""
    better, fn = RATES[name]
    ce = [e for e in map(fn, cand) if e is not None]
    ie = [e for e in map(fn, inc) if e is not None]
    cs, ins = sum(ce), sum(ie)
    if not ce or not ie:
        lo = hi = delta = None
    else:
        lo, hi = newcombe_difference(cs, len(ce), ins, len(ie), cfg.confidence)
        delta = cs / len(ce) - ins / len(ie)
    return MetricDelta(
        metric=name,
        kind="rate",
        better=better,
        candidate=cs / len(ce) if ce else None,
        incumbent=ins / len(ie) if ie else None,
        delta=delta,
        ci_low=lo,
        ci_high=hi,
        candidate_ci=wilson_interval(cs, len(ce), cfg.confidence) if ce else None,
        incumbent_ci=wilson_interval(ins, len(ie), cfg.confidence) if ie else None,
        n_candidate=len(ce),
        n_incumbent=len(ie),
        method="Wilson intervals, Newcombe difference",
        outcome=outcome(lo, hi, better),
    )


def all_deltas(cand: list[RunResult], inc: list[RunResult], cfg: JudgeConfig) -> list[MetricDelta]:
    """Every metric, rates first; empty when either side has no runs."""
    if not cand or not inc:
        return []
    paired = paired_keys(cand, inc)
    return [rate_delta(n, cand, inc, cfg) for n in RATES] + [
        continuous_delta(n, cand, inc, cfg, paired) for n in CONTINUOUS
    ]
