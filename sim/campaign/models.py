"""What one campaign run produced: the contract between the campaign runner and the judge.

A run is one scenario under one policy with one seed; its id is derived from the three
content hashes, so a resumed campaign recognises finished runs and never repeats them.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, Field

from robotops.sim.scenarios.spec import ScenarioSpec

CLEARANCE_CAP_M = 8.0  # clearances are measured up to this far; "nothing came closer"


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
    nav_errors: int = Field(0, description="wheel slip or heading oscillation the robot flagged")
    min_clearance_people_m: float = Field(
        CLEARANCE_CAP_M, description="closest approach to any worker"
    )
    min_clearance_obstacles_m: float = Field(
        CLEARANCE_CAP_M, description="closest approach to obstacles"
    )
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


class PolicyRef(BaseModel):
    """A policy a campaign runs: its version, its weights file and the hash they must have."""

    version: str = Field(min_length=1)
    weights_path: str
    sha256: str = Field(min_length=64, max_length=64)


class RunJob(BaseModel):
    """Everything a worker process needs for one run (and everything a replay needs)."""

    campaign_id: str
    scenario: ScenarioSpec
    policy: PolicyRef
    seed: int

    @property
    def run_id(self) -> str:
        return run_id(self.scenario.sha256(), self.policy.sha256, self.seed)


class CampaignRequest(BaseModel):
    """Every scenario x policy (x ``repeats`` seeds, starting at each scenario's own seed)."""

    campaign_id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    scenarios: list[ScenarioSpec] = Field(min_length=1)
    policies: list[PolicyRef] = Field(min_length=1)
    repeats: int = Field(1, ge=1, le=1000)
    workers: int = Field(0, ge=0, description="worker processes; 0 = number of CPUs")
    retries: int = Field(2, ge=0, le=10, description="re-runs after a worker process dies")
    retry_failed: bool = Field(False, description="on resume, run failed runs again")

    def jobs(self) -> list[RunJob]:
        return [
            RunJob(campaign_id=self.campaign_id, scenario=s, policy=p, seed=s.seed + k)
            for s in self.scenarios
            for p in self.policies
            for k in range(self.repeats)
        ]


class PolicySummary(BaseModel):
    """One policy's runs in a campaign, aggregated (the judge does the statistics)."""

    version: str
    runs: int = 0
    ok: int = 0
    failed: int = 0
    reached_goal: int = 0
    phantom_stops: int = 0
    collisions: int = 0
    estops: int = 0
    mean_stall_time_s: float = 0.0
    min_clearance_people_m: float = CLEARANCE_CAP_M


class CampaignSummary(BaseModel):
    """What a campaign has: counts, per-policy aggregates, and what this invocation did."""

    campaign_id: str
    total: int
    ok: int
    failed: int
    pending: int
    ran_now: int = Field(0, description="runs executed by this invocation")
    skipped: int = Field(0, description="runs already finished before this invocation")
    wall_s: float = 0.0
    policies: dict[str, PolicySummary] = Field(default_factory=dict)


def summarize(
    campaign_id: str, results: list[RunResult], total: int, ran_now: int = 0, skipped: int = 0
) -> CampaignSummary:
    """Aggregate results per policy version."""
    per: dict[str, PolicySummary] = {}
    stall: dict[str, list[float]] = {}
    for r in results:
        s = per.setdefault(r.policy_version, PolicySummary(version=r.policy_version))
        s.runs += 1
        if r.status != "ok" or r.metrics is None:
            s.failed += 1
            continue
        m = r.metrics
        s.ok += 1
        s.reached_goal += int(m.reached_goal)
        s.phantom_stops += m.phantom_stops
        s.collisions += m.collisions
        s.estops += m.estops
        s.min_clearance_people_m = min(s.min_clearance_people_m, m.min_clearance_people_m)
        stall.setdefault(r.policy_version, []).append(m.stall_time_s)
    for version, values in stall.items():
        per[version].mean_stall_time_s = round(sum(values) / len(values), 3)
    ok = sum(1 for r in results if r.status == "ok")
    return CampaignSummary(
        campaign_id=campaign_id,
        total=total,
        ok=ok,
        failed=len(results) - ok,
        pending=max(0, total - len(results)),
        ran_now=ran_now,
        skipped=skipped,
        policies=per,
    )
