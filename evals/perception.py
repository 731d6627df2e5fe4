"""Perception eval: phantom obstacles on glare and shadow frames, and real-obstacle recall.

Frames are rendered in held-out worlds (hazards placed by a different seed than any training
world) with their geometric ground truth and the hazards acting on them. A phantom is a frame
with no real obstacle in the path on which the model says "obstacle" (probability at or above
the stop threshold on the policy's card, which its controller uses). Recall counts in-path
obstacles the camera can see (what a camera can be asked to find); ``recall_in_path`` also
counts those out of its sight, which only the range sensor's e-stop can catch. Baseline and
candidate see exactly the same frames.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from robotops.policies.perception import Perception, probabilities
from robotops.policies.registry import load_policy
from robotops.sim.world.specs import WorldSpec
from robotops.tools.datasets.simframes import SimFrameMeta, render_sim_frames

PHANTOM_REDUCTION_GOAL = 0.9
RECALL_GOAL = 0.99


class PolicyScore(BaseModel):
    """One policy on the eval frames."""

    version: str
    phantom_rate_glare: float | None
    phantom_rate_shadow: float | None
    phantom_rate: float | None = Field(description="over glare and shadow frames together")
    recall: float | None = Field(description="in-path obstacles in sight detected / all such")
    recall_in_path: float | None = Field(
        description="over every in-path obstacle, including ones out of the camera's sight"
    )
    false_positive_rate_clean: float | None = Field(description="phantoms on hazard-free frames")
    threshold: float = Field(description="the stop probability it was scored at")


class PerceptionEval(BaseModel):
    """Baseline vs candidate on the same held-out frames, and whether the goals are met."""

    seed: int
    frames: int
    glare_frames: int
    shadow_frames: int
    obstacle_frames: int
    baseline: PolicyScore
    candidate: PolicyScore
    phantom_reduction: float | None = Field(description="1 - candidate / baseline phantom rate")
    goals_met: bool
    render_s: float


def default_eval_worlds(seed: int, n: int = 6) -> list[WorldSpec]:
    """The glare and shadow worlds of a shift of ``n`` robots seeded by ``seed``: every fourth
    robot (index 2 mod 4) gets neither hazard and is left out, so fewer than ``n`` come back."""
    from robotops.sim.fleet.shift import world_for

    rng = np.random.default_rng(seed)
    return [world_for(i, ["glare", "shadow"], rng, 120.0) for i in range(n) if i % 4 != 2]


def _rate(hits: np.ndarray, mask: np.ndarray) -> float | None:
    return float(hits[mask].mean()) if mask.any() else None


def score(
    perception: Perception,
    frames: np.ndarray,
    targets: np.ndarray,
    meta: list[SimFrameMeta],
    threshold: float,
) -> PolicyScore:
    says = probabilities(perception, frames) >= threshold
    real = targets >= 0.5
    blocked = np.array([m.in_path for m in meta]) | real
    glare = np.array(["glare" in m.tags for m in meta]) & ~blocked
    shadow = np.array(["shadow" in m.tags for m in meta]) & ~blocked
    clean = np.array([not m.tags for m in meta]) & ~blocked
    return PolicyScore(
        version=perception.version,
        phantom_rate_glare=_rate(says, glare),
        phantom_rate_shadow=_rate(says, shadow),
        phantom_rate=_rate(says, glare | shadow),
        recall=_rate(says, real),
        recall_in_path=_rate(says, blocked),
        false_positive_rate_clean=_rate(says, clean),
        threshold=threshold,
    )


def evaluate_perception(
    candidate: Path,
    baseline: Path,
    worlds: list[WorldSpec],
    n_frames: int = 600,
    seed: int = 9_001,
    threshold: float | None = None,
) -> PerceptionEval:
    """Render held-out frames once and score both policies on them."""
    base, base_card = load_policy(baseline)
    cand, cand_card = load_policy(candidate)
    started = time.perf_counter()
    frames, targets, meta = render_sim_frames(worlds, n_frames, seed)
    render_s = time.perf_counter() - started
    b_stop = base_card.controller.stop_probability if threshold is None else threshold
    c_stop = cand_card.controller.stop_probability if threshold is None else threshold
    b = score(base, frames, targets, meta, b_stop)
    c = score(cand, frames, targets, meta, c_stop)
    reduction = (
        1.0 - c.phantom_rate / b.phantom_rate
        if b.phantom_rate and c.phantom_rate is not None
        else None
    )
    real = targets >= 0.5
    return PerceptionEval(
        seed=seed,
        frames=len(frames),
        glare_frames=int(sum("glare" in m.tags for m in meta)),
        shadow_frames=int(sum("shadow" in m.tags for m in meta)),
        obstacle_frames=int(real.sum()),
        baseline=b,
        candidate=c,
        phantom_reduction=reduction,
        goals_met=bool(
            reduction is not None
            and reduction >= PHANTOM_REDUCTION_GOAL
            and (c.recall or 0.0) >= RECALL_GOAL
        ),
        render_s=render_s,
    )
