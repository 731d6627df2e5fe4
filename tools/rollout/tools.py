"""The rollout steward's typed tools: publish, propose, run a stage, roll back, reconcile, status.

Thin wrappers over :mod:`robotops.tools.rollout.executor`. ``run_rollout_stage`` is the only
one that puts a new version on robots; it is ``acts_on_fleet`` and the executor checks the
approval store itself. ``rollback_rollout`` and ``reconcile_rollout`` touch robots too, but
only to restore the approved incumbent or to finish a stage already approved, so they need no
new approval; being called by an agent authorizes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from inspect import signature

from pydantic import AliasChoices, BaseModel, Field

from robotops.policies.finetune import resolve_weights
from robotops.tools.context import ToolContext
from robotops.tools.rollout.executor import (
    STEWARD,
    RolloutDeps,
    SimulatedFleetBake,
    abort,
    reconcile,
    request_stage_approval,
    run_stage,
    start_rollout,
)
from robotops.tools.rollout.models import (
    RolloutIncident,
    RolloutPlan,
    RolloutView,
    StagePlan,
    rollout_view,
)
from robotops.tools.rollout.plan import ProposeRolloutRequest, propose_plan, stored_verdict
from robotops.tools.rollout.store import RolloutStore
from robotops.tools.toolset import Toolset

toolset = Toolset("rollout")


MakeDeps = Callable[[ToolContext], RolloutDeps]
"""How the rollout tools get their fleet, approvals, store and baker from a context."""


def rollout_deps(ctx: ToolContext) -> RolloutDeps:
    """Rollouts of this context: its fleet client, approvals, and DATA_DIR/rollouts."""
    return RolloutDeps(
        fleet=ctx.fleet,
        approvals=ctx.approvals,
        store=RolloutStore(ctx.data_dir / "rollouts"),
        baker=SimulatedFleetBake(ctx.fleet, workers=ctx.settings.sim.workers),
        actor=ctx.actor if ctx.actor != "robotops" else STEWARD,
    )


class PublishCandidateRequest(BaseModel):
    """A trained version to hand to the fleet's artifact store."""

    version: str = Field(min_length=1, description='a version trained here, e.g. "v3"')


class PublishCandidateResult(BaseModel):
    """Whether the version was handed to the fleet now or was already there."""

    version: str
    published: bool = Field(description="false when the fleet already had this version")


@toolset.tool("publish_candidate")
def publish_candidate_tool(
    request: PublishCandidateRequest, ctx: ToolContext
) -> PublishCandidateResult:
    """Hand a freshly trained candidate's weights and card to the fleet's artifact store (a
    no-op when the fleet has it). It runs on no robot until a rollout stage is approved, so it
    needs no approval; the fleet checks its hash. Use it before propose_rollout."""
    if request.version in {p.version for p in ctx.fleet.policies()}:
        return PublishCandidateResult(version=request.version, published=False)
    ctx.fleet.publish_policy(resolve_weights(request.version, ctx.data_dir))
    return PublishCandidateResult(version=request.version, published=True)


class ProposeRolloutResult(BaseModel):
    """The recorded rollout plan: its stages, gates and first approval request."""

    rollout_id: str
    candidate_version: str
    candidate_sha256: str
    incumbent_version: str
    stages: list[StagePlan]
    approval_id: str | None = Field(None, description="the first stage's approval request")
    plan: RolloutPlan
    summary: str


@toolset.tool("propose_rollout")
def propose_rollout_tool(
    request: ProposeRolloutRequest, ctx: ToolContext, make_deps: MakeDeps = rollout_deps
) -> ProposeRolloutResult:
    """Plan a staged rollout (canaries in low-risk zones, a larger share, then all) of a
    candidate policy the judge promoted, with metric gates against the incumbent; record it and
    file the first stage's approval request. Moves no robot. Refuses non-promote verdicts."""
    deps = make_deps(ctx)
    verdict = request.verdict or stored_verdict(ctx.data_dir, request.candidate_version)
    ro = start_rollout(propose_plan(request, deps.fleet, verdict), deps)
    approval_id = None
    if request.request_approval:
        approval_id = request_stage_approval(ro.rollout_id, deps, ctx.run_id).id
    plan = ro.plan
    return ProposeRolloutResult(
        rollout_id=ro.rollout_id,
        candidate_version=plan.candidate_version,
        candidate_sha256=plan.candidate_sha256,
        incumbent_version=plan.incumbent_version,
        stages=plan.stages,
        approval_id=approval_id,
        plan=plan,
        summary=f"{len(plan.stages)} stages: "
        + " -> ".join(f"{s.name} ({', '.join(s.robot_ids)})" for s in plan.stages),
    )


class StageApprovalRequest(BaseModel):
    """Which rollout's current stage to put in the approval inbox."""

    rollout_id: str = Field(min_length=1)


class StageApprovalResult(BaseModel):
    """The approval request filed for the current stage, and the rollout as it stands."""

    approval_id: str
    reason: str
    rollout: RolloutView


@toolset.tool("request_stage_approval")
def request_stage_approval_tool(
    request: StageApprovalRequest, ctx: ToolContext, make_deps: MakeDeps = rollout_deps
) -> StageApprovalResult:
    """File the rollout's current stage in the approval inbox for a person to decide (a live
    request for the same stage is reused). Moves no robot. Use it before run_rollout_stage."""
    deps = make_deps(ctx)
    filed = request_stage_approval(request.rollout_id, deps, ctx.run_id)
    view = rollout_view(deps.store.load(request.rollout_id))
    return StageApprovalResult(approval_id=filed.id, reason=filed.reason, rollout=view)


class RunRolloutStageRequest(BaseModel):
    """Run the rollout's current stage under a person's approval."""

    rollout_id: str = Field(validation_alias=AliasChoices("rollout_id", "plan_id"))
    approval_id: str = Field(min_length=1)
    request_next_approval: bool = Field(
        True, description="when the stage passes, file the next stage's approval request"
    )


class RolloutResult(BaseModel):
    """A rollout after a stage, a rollback or a reconcile: status, view and what waits next."""

    status: str
    rollout: RolloutView
    next_approval_id: str | None = None
    summary: str


def _result(view: RolloutView, next_approval_id: str | None = None) -> RolloutResult:
    return RolloutResult(
        status=view.status,
        rollout=view,
        next_approval_id=next_approval_id,
        summary=f"{view.rollout_id}: {view.status}; waiting for {view.waiting_for}"
        + (f" ({view.reason})" if view.reason else ""),
    )


@toolset.tool("run_rollout_stage", acts_on_fleet=True)
def run_rollout_stage_tool(
    request: RunRolloutStageRequest, ctx: ToolContext, make_deps: MakeDeps = rollout_deps
) -> RolloutResult:
    """Run the current stage of a rollout: deploy the candidate to that stage's robots, confirm
    their reported versions, bake, check the gates, and roll back by itself if any fails.
    Requires a person's approval of exactly this stage (action rollout_stage)."""
    deps = make_deps(ctx)
    ro = run_stage(request.rollout_id, request.approval_id, deps)
    next_id = None
    if request.request_next_approval and ro.status == "awaiting_approval":
        next_id = request_stage_approval(ro.rollout_id, deps, ctx.run_id).id
        ro = deps.store.load(ro.rollout_id)
    return _result(rollout_view(ro), next_id)


class RollbackRolloutRequest(BaseModel):
    """Which rollout to stop, and why."""

    rollout_id: str
    reason: str = Field(min_length=1, description="why, for the audit log and the incident")


# Not ``acts_on_fleet``: the registry would demand an approval, and restoring the approved
# incumbent must never wait for one (the rule). It can only undo approved changes.
@toolset.tool("rollback_rollout")
def rollback_rollout_tool(
    request: RollbackRolloutRequest, ctx: ToolContext, make_deps: MakeDeps = rollout_deps
) -> RolloutResult:
    """Stop a rollout and restore the incumbent on every robot it touched. Needs no approval:
    it can only put back the approved incumbent. Use when a person asks to abort."""
    ro = abort(request.rollout_id, make_deps(ctx), ctx.actor, request.reason)
    return _result(rollout_view(ro))


class ReconcileRolloutRequest(BaseModel):
    """Which rollout to reconcile with what the robots report."""

    rollout_id: str
    resume: bool = Field(True, description="continue the approved stage when the fleet agrees")


@toolset.tool(
    "reconcile_rollout"
)  # continues only an already-approved stage, or restores the incumbent
def reconcile_rollout_tool(
    request: ReconcileRolloutRequest, ctx: ToolContext, make_deps: MakeDeps = rollout_deps
) -> RolloutResult:
    """After a restart or an outage: compare the rollout's record with what the robots report,
    then continue the approved stage or restore the incumbent."""
    ro = reconcile(request.rollout_id, make_deps(ctx), request.resume)
    return _result(rollout_view(ro))


class RolloutStatusQuery(BaseModel):
    """Which rollout to show (all when omitted)."""

    rollout_id: str | None = Field(None, description="one rollout; all when omitted")


class RolloutStatusResult(BaseModel):
    """Rollouts as they stand, and the rollbacks filed for triage."""

    rollouts: list[RolloutView]
    incidents: list[RolloutIncident] = Field(description="rollbacks filed for triage")


@toolset.tool("rollout_status")
def rollout_status_tool(request: RolloutStatusQuery, ctx: ToolContext) -> RolloutStatusResult:
    """Show rollouts: what is live where, which stage, what waits for whom, gate results."""
    store = RolloutStore(ctx.data_dir / "rollouts")
    rollouts = [store.load(request.rollout_id)] if request.rollout_id else store.list()
    return RolloutStatusResult(
        rollouts=[rollout_view(r) for r in rollouts],
        incidents=[i for i in store.incidents() if request.rollout_id in (None, i.rollout_id)],
    )


def rollout_toolset(make_deps: MakeDeps = rollout_deps) -> Toolset:
    """The rollout tools acting through ``make_deps`` (a test's scripted baker, say).

    Args:
        make_deps: builds the rollout's fleet, approvals, store and baker from a context.

    Returns:
        A toolset named ``rollout`` with the same tools, names and approval flags.
    """
    if make_deps is rollout_deps:
        return toolset
    specs = [
        replace(s, fn=partial(s.fn, make_deps=make_deps))
        if "make_deps" in signature(s.fn).parameters
        else s
        for s in toolset.tools.values()
    ]
    return Toolset("rollout", specs)
