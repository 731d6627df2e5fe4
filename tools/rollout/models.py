"""A staged rollout: its plan (what a person approves) and its state (what has happened).

The state is saved after every step, so a process that dies at any point leaves a record of
what it was doing; :func:`robotops.tools.rollout.executor.reconcile` compares that record with
the fleet's own report and either continues the approved stage or restores the incumbent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from robotops.tools.rollout.gates import Baseline, GateResult, GateSpec

RolloutStatus = Literal[
    "awaiting_approval",  # the current stage waits for a person's approval
    "held",  # the stage could not start (robot offline, fleet refused); nothing changed
    "deploying",  # the stage's deploy was sent; its outcome is not confirmed yet
    "baking",  # the stage is live on its robots; the fleet is accumulating reports
    "rolling_back",  # the incumbent is being restored
    "rollback_incomplete",  # some robots could not be restored yet (offline); reconcile retries
    "rolled_back",  # every robot confirmed back on the incumbent
    "completed",  # the last stage passed its gates
]
StageStatus = Literal["pending", "deploying", "baking", "passed", "failed", "rolled_back"]
FINISHED: frozenset[str] = frozenset({"rolled_back", "completed"})
ROLLBACK_RULE = (
    "Any gate failing on any stage, a robot reporting a version nobody approved, or a deploy "
    "whose outcome cannot be confirmed restores the incumbent on every robot of every stage, "
    "at once and without approval (it only undoes approved changes)."
)


class StagePlan(BaseModel):
    """One stage: the robots it newly puts on the candidate and how long they bake."""

    index: int = Field(ge=0)
    name: str
    robot_ids: list[str] = Field(min_length=1)
    bake_minutes: float = Field(gt=0, description="simulated fleet minutes of reports to wait")
    zones: list[str] = Field(default_factory=list)


class RolloutPlan(BaseModel):
    """What a person approves stage by stage: candidate, incumbent, stages, gates, the rule."""

    rollout_id: str
    candidate_version: str
    candidate_sha256: str
    incumbent_version: str
    incumbent_sha256: str
    verdict: str = Field(description="the judge's verdict the plan rests on (always promote)")
    verdict_evidence_sha256: str | None = None
    stages: list[StagePlan]
    gates: GateSpec
    baseline: Baseline
    rollback_rule: str = ROLLBACK_RULE
    bake_seed: int = 0
    left_out: dict[str, str] = Field(
        default_factory=dict, description="robot id -> why it is in no stage (offline, ...)"
    )

    @property
    def robot_ids(self) -> list[str]:
        return [r for s in self.stages for r in s.robot_ids]

    def deployment_id(self, stage: int) -> str:
        """The idempotency key of a stage's deploy: retries and restarts reuse it."""
        return f"{self.rollout_id}-stage-{stage}"


class StageRecord(BaseModel):
    """What happened in one stage."""

    index: int
    status: StageStatus = "pending"
    approval_id: str | None = None
    approved_by: str | None = None
    deployment_id: str | None = None
    since_shift: str | None = Field(None, description="last shift before the bake")
    bake_shifts: list[str] = Field(default_factory=list)
    gates: list[GateResult] = Field(default_factory=list)


class RolloutEvent(BaseModel):
    """One line of the rollout's own history."""

    at: datetime
    event: str
    detail: dict = Field(default_factory=dict)


class Rollout(BaseModel):
    """A rollout's plan and everything that happened since; persisted after every step."""

    plan: RolloutPlan
    status: RolloutStatus = "awaiting_approval"
    current_stage: int = 0
    stages: list[StageRecord]
    reason: str = ""
    pending_robots: list[str] = Field(
        default_factory=list, description="robots that could not be restored yet"
    )
    history: list[RolloutEvent] = Field(default_factory=list)

    @property
    def rollout_id(self) -> str:
        return self.plan.rollout_id

    @property
    def stage(self) -> StagePlan:
        return self.plan.stages[self.current_stage]

    def approved_robots(self) -> set[str]:
        """Robots some stage's approval was used for: only these may run the candidate."""
        return {
            r
            for rec, plan in zip(self.stages, self.plan.stages, strict=True)
            if rec.approved_by is not None
            for r in plan.robot_ids
        }

    def deployed_stages(self) -> list[int]:
        """Stages whose deploy was sent (whether or not it landed), newest first."""
        return [r.index for r in reversed(self.stages) if r.deployment_id is not None]


class RolloutIncident(BaseModel):
    """A rollback, filed for triage: which candidate, robots, shifts and gates, and why."""

    incident_id: str
    rollout_id: str
    at: datetime
    candidate_version: str
    candidate_sha256: str
    incumbent_version: str
    stage: int
    robot_ids: list[str]
    shifts: list[str]
    reason: str
    failed_gates: list[GateResult] = Field(default_factory=list)


class RolloutView(BaseModel):
    """What a person needs to see: what is live where, and what waits for whom."""

    rollout_id: str
    status: RolloutStatus
    candidate_version: str
    incumbent_version: str
    current_stage: int
    stages: int
    live: dict[str, str] = Field(description="robot id -> the version the plan put there now")
    waiting_for: str
    reason: str = ""
    last_gates: list[GateResult] = Field(default_factory=list)


def _waiting_for(ro: Rollout) -> str:
    stage, rec = ro.stage, ro.stages[ro.current_stage]
    robots = ", ".join(stage.robot_ids)
    if ro.status == "awaiting_approval":
        if rec.approval_id:
            return f"an approver's decision on {rec.approval_id} (stage {stage.index}: {robots})"
        return f"the steward to request approval of stage {stage.index} ({robots})"
    if ro.status == "held":
        return f"{ro.reason}; then run stage {stage.index} again with the same approval"
    if ro.status in ("deploying", "baking"):
        return f"the fleet: stage {stage.index} is {ro.status} on {robots}"
    if ro.status in ("rolling_back", "rollback_incomplete"):
        left = ", ".join(ro.pending_robots) or "the fleet"
        return f"restoring {ro.plan.incumbent_version}: {left}; run reconcile when they are back"
    return "nothing"


def rollout_view(ro: Rollout) -> RolloutView:
    """What is live where (as of the last saved step) and what waits for whom."""
    plan = ro.plan
    live = {}
    for rec, stage in zip(ro.stages, plan.stages, strict=True):
        on = rec.status in ("baking", "passed") or (
            rec.status == "deploying" and ro.status == "deploying"
        )
        for r in stage.robot_ids:
            live[r] = plan.candidate_version if on else plan.incumbent_version
    for r in ro.pending_robots:
        robot = r.split(" ", 1)[0]
        if robot in live:
            live[robot] = f"unconfirmed ({r})"
    gates = next((rec.gates for rec in reversed(ro.stages) if rec.gates), [])
    return RolloutView(
        rollout_id=ro.rollout_id,
        status=ro.status,
        candidate_version=plan.candidate_version,
        incumbent_version=plan.incumbent_version,
        current_stage=ro.current_stage,
        stages=len(plan.stages),
        live=live,
        waiting_for=_waiting_for(ro),
        reason=ro.reason,
        last_gates=gates,
    )
