"""Confidence intervals the judge trusts: Wilson for rates, Newcombe for their difference,
a seeded percentile bootstrap for differences of means (paired when runs match one to one).

All functions are deterministic for a given seed, so a verdict can be recomputed exactly.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

Interval = tuple[float, float]


def z_value(confidence: float) -> float:
    """The two-sided normal quantile of a confidence level (1.96 for 0.95)."""
    return float(norm.ppf(0.5 + confidence / 2.0))


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval of a binomial proportion; (0, 1) when there is no data."""
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= n:
        raise ValueError(f"successes {successes} outside 0..{n}")
    z = z_value(confidence)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference(
    successes_a: int, n_a: int, successes_b: int, n_b: int, confidence: float = 0.95
) -> Interval:
    """Interval of p_a - p_b from the two Wilson intervals (Newcombe 1998, method 10)."""
    pa, pb = successes_a / max(n_a, 1), successes_b / max(n_b, 1)
    la, ua = wilson_interval(successes_a, n_a, confidence)
    lb, ub = wilson_interval(successes_b, n_b, confidence)
    d = pa - pb
    return d - math.sqrt((pa - la) ** 2 + (ub - pb) ** 2), d + math.sqrt(
        (ua - pa) ** 2 + (pb - lb) ** 2
    )


def _percentile(stats: np.ndarray, confidence: float) -> Interval:
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(stats, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def bootstrap_paired(
    candidate: np.ndarray,
    incumbent: np.ndarray,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile interval of mean(candidate - incumbent) over matched pairs."""
    c, i = np.asarray(candidate, float), np.asarray(incumbent, float)
    if c.shape != i.shape or c.ndim != 1 or c.size == 0:
        raise ValueError("paired bootstrap needs two equal, non-empty 1-D samples")
    diff = c - i
    idx = np.random.default_rng(seed).integers(0, diff.size, size=(resamples, diff.size))
    return _percentile(diff[idx].mean(axis=1), confidence)


def bootstrap_unpaired(
    candidate: np.ndarray,
    incumbent: np.ndarray,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile interval of mean(candidate) - mean(incumbent), each resampled on its own."""
    c, i = np.asarray(candidate, float), np.asarray(incumbent, float)
    if c.size == 0 or i.size == 0:
        raise ValueError("bootstrap needs non-empty samples")
    rng = np.random.default_rng(seed)
    mc = c[rng.integers(0, c.size, size=(resamples, c.size))].mean(axis=1)
    mi = i[rng.integers(0, i.size, size=(resamples, i.size))].mean(axis=1)
    return _percentile(mc - mi, confidence)
