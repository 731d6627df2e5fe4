"""Decide what to train from triage findings and labels, and what it will cost.

Deterministic: phantom stops blamed on glare or shadows are a perception problem, fixed by
fine-tuning on frames that show those hazards; slips and controller lag are not, and no amount
of perception training helps them. The cost is frames x epochs at a training throughput
(measured on this machine, or given), and above the approval threshold a person must approve.
"""

from __future__ import annotations

import time
from collections import Counter
from functools import lru_cache
from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, Field

from robotops.memory.catalog import Catalog
from robotops.memory.labels import LabelStore
from robotops.policies.perception import PerceptionNet, preprocess
from robotops.settings import Settings
from robotops.sim.world.specs import WorldSpec
from robotops.tools.datasets.build import DatasetRequest

CAUSE_LABELS = {"glare": "glare", "shadow": "hard_shadow"}  # triage cause -> hazard label
NOT_PERCEPTION = {
    "oil": "wheel slip on oil: a floor problem, not perception",
    "latency": "a laggy motor controller: hardware or controller tuning, not perception",
    "real_obstacle": "a real obstacle: stopping was right",
    "unknown": "cause unknown: nothing to learn from yet",
}


class Finding(BaseModel):
    """One triaged incident as the planner needs it."""

    cause: str = Field(description="triage cause: glare, shadow, oil, latency, real_obstacle")
    robot_id: str = ""
    log_id: str | None = None
    confidence: float = Field(1.0, ge=0.0, le=1.0)


class PlanTrainingRequest(BaseModel):
    """Triage findings, plus what the dataset may add and how long to train."""

    findings: list[Finding]
    parent: str = "v1"
    min_incidents: int = Field(1, ge=1, description="perception incidents needed to train")
    min_confidence: float = Field(0.5, ge=0.0, le=1.0)
    worlds: list[WorldSpec] = Field(
        default_factory=list, description="scenario-family worlds to render hazard frames in"
    )
    sim_frames: int = Field(1500, ge=0)
    normal_ratio: float = 1.0
    epochs: int = Field(20, ge=1)
    throughput_fps: float | None = Field(
        None, gt=0.0, description="frame-epochs per second; measured here when not given"
    )


class TrainingPlan(BaseModel):
    """What to train (or why not), on what, and whether a person must approve the cost."""

    train: bool
    target: Literal["perception", "none"]
    reason: str
    causes: dict[str, int]
    parent: str
    dataset: DatasetRequest | None = None
    labeled_segments: int = 0
    estimated_frames: int = 0
    epochs: int = 0
    throughput_fps: float = 0.0
    throughput_source: Literal["measured", "given", "setting"] = "setting"
    estimated_seconds: float = 0.0
    approval_threshold_s: float
    needs_approval: bool = False


@lru_cache(maxsize=1)
def measure_throughput(frames: int = 128, batch: int = 64, repeats: int = 2) -> float:
    """Frame-epochs per second of a training step of the perception model on this machine
    (measured once per process: the machine does not change between plans)."""
    net = PerceptionNet()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = preprocess(np.random.default_rng(0).integers(0, 255, (frames, 96, 128, 3), np.uint8))
    y = torch.zeros(frames)
    started = time.perf_counter()
    for _ in range(repeats):
        for s in range(0, frames, batch):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                net(x[s : s + batch]), y[s : s + batch]
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
    return frames * repeats / max(time.perf_counter() - started, 1e-6)


def plan_training(
    request: PlanTrainingRequest, catalog: Catalog, settings: Settings
) -> TrainingPlan:
    """Count the causes, pick the fix, size the dataset from the labels, price it."""
    trusted = [f for f in request.findings if f.confidence >= request.min_confidence]
    causes = dict(sorted(Counter(f.cause for f in trusted).items()))
    hazards = sorted({CAUSE_LABELS[c] for c in causes if c in CAUSE_LABELS})
    perception = sum(n for c, n in causes.items() if c in CAUSE_LABELS)
    threshold = settings.datasets.approval_threshold_s
    if perception < request.min_incidents:
        others = "; ".join(f"{n} x {NOT_PERCEPTION.get(c, c)}" for c, n in causes.items())
        return TrainingPlan(
            train=False,
            target="none",
            reason=f"{perception} glare/shadow phantom stop(s), below {request.min_incidents}"
            + (f"; other causes: {others}" if others else ""),
            causes=causes,
            parent=request.parent,
            approval_threshold_s=threshold,
        )
    store = LabelStore(catalog)
    labeled = store.active_labels(store.labeled_segments(), hazards)
    per_segment = settings.ingest.segment_s * settings.sim.camera_hz
    log_frames = int(len(labeled) * per_segment * (1.0 + request.normal_ratio))
    frames = log_frames + (request.sim_frames if request.worlds else 0)
    fps, source = _throughput(request, settings)
    seconds = frames * request.epochs / fps
    return TrainingPlan(
        train=True,
        target="perception",
        reason=f"{perception} phantom stop(s) from {', '.join(hazards)}: fine-tune perception "
        f"on {len(labeled)} labeled segment(s)"
        + (
            f" and {request.sim_frames} frames rendered in {len(request.worlds)} world(s)"
            if request.worlds
            else ""
        ),
        causes=causes,
        parent=request.parent,
        dataset=DatasetRequest(
            name=f"perception-{'-'.join(hazards)}",
            labels=hazards,
            worlds=request.worlds,
            sim_frames=request.sim_frames if request.worlds else 0,
            normal_ratio=request.normal_ratio,
        ),
        labeled_segments=len(labeled),
        estimated_frames=frames,
        epochs=request.epochs,
        throughput_fps=fps,
        throughput_source=source,
        estimated_seconds=seconds,
        approval_threshold_s=threshold,
        needs_approval=seconds > threshold,
    )


def _throughput(
    request: PlanTrainingRequest, settings: Settings
) -> tuple[float, Literal["measured", "given", "setting"]]:
    if request.throughput_fps is not None:
        return request.throughput_fps, "given"
    try:
        return measure_throughput(), "measured"
    except RuntimeError:  # no usable torch backend: fall back on the configured figure
        return settings.datasets.throughput_fps, "setting"
