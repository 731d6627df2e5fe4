"""What one campaign run produced: the contract between the campaign runner and the judge.

A run is one scenario under one policy with one seed; its id is derived from the three
content hashes, so a resumed campaign recognises finished runs and never repeats them.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, Field


def run_id(scenario_sha256: str, policy_sha256: str, seed: int) -> str:
    """Stable id of (scenario, policy, seed)."""
    key = f"{scenario_sha256}:{policy_sha256}:{seed}".encode()
    return hashlib.sha256(key).hexdigest()[:24]


class RunMetrics(BaseModel):
    """Per-run metrics; 'people' are workers, 'obstacles' are pallets, forklifts, shelves."""

    reached_goal: bool
    time_to_goal_s: float | None = None
    stall_time_s: float = 0.0
    stalls: int = 0
    phantom_stops: int = 0
    true_stops: int = 0
    estops: int = 0
    collisions: int = 0
    min_clearance_people_m: float = Field(8.0, description="closest approach to any worker")
    min_clearance_obstacles_m: float = Field(8.0, description="closest approach to obstacles")
    steering_reversals: int = 0
    jerk_rms: float = 0.0
    distance_m: float = 0.0


class RunResult(BaseModel):
    """One finished (or failed) run, with what is needed to replay it bit-identically."""

    run_id: str
    campaign_id: str
    scenario_id: str
    scenario_sha256: str
    family: str
    tags: list[str] = Field(default_factory=list)
    policy_version: str
    policy_sha256: str
    seed: int
    status: Literal["ok", "failed"]
    error: str | None = None
    metrics: RunMetrics | None = None
    trajectory_sha256: str = ""
    failure_time_s: float | None = Field(
        None, description="sim time of the worst moment (first collision or stall), for frames"
    )
    wall_s: float = 0.0
    attempts: int = 1
