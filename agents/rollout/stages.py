"""Rollout steward, stage by stage: propose, ask, wait for a person, run the stage, repeat.

    propose_rollout ─► request_stage_approval ─► await_stage_approval ─► run_stage ─┐
                              ▲                   (interrupt, own node)            │
                              └──────────── after_stage: next stage waits ◄────────┘

The interrupt lives in a node with no side effect before it (LangGraph re-runs an interrupted
node from its start on resume). The resume value authorizes nothing: ``run_stage`` checks the
approval store itself. If a process dies mid-stage, re-running ``run_stage_node`` reconciles
with what the fleet reports instead of starting the stage again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END
from langgraph.types import interrupt

from robotops.errors import RobotOpsError
from robotops.policies.finetune import resolve_weights
from robotops.tools.approvals.service import ApprovalService
from robotops.tools.context import ToolContext
from robotops.tools.judge.models import Verdict
from robotops.tools.rollout.executor import (
    RolloutDeps,
    reconcile,
    request_stage_approval,
    run_stage,
    start_rollout,
)
from robotops.tools.rollout.models import rollout_view
from robotops.tools.rollout.plan import ProposeRolloutRequest, propose_plan, stored_verdict
from robotops.tools.rollout.tools import rollout_deps

MakeDeps = Callable[[ToolContext], RolloutDeps]
IN_FLIGHT = ("deploying", "baking", "rolling_back", "rollback_incomplete")  # reconcile these


class AgentDeps(Protocol):
    """What the nodes need of the graph's deps (robotops.agents.deps.AgentDeps has it)."""

    @property
    def approvals(self) -> ApprovalService: ...

    def ctx_for(self, config: Any) -> ToolContext: ...


class RolloutState(TypedDict, total=False):
    """The keys these nodes read and write (the flywheel state needs the same ones)."""

    verdict: dict[str, Any]  # the judge's Verdict as JSON; or give candidate_version
    candidate_version: str
    rollout_id: str
    rollout: dict[str, Any]  # RolloutView as JSON
    rollout_approval_id: str | None
    answer: str
    error: str | None


def _view(deps: RolloutDeps, rollout_id: str) -> dict[str, Any]:
    return rollout_view(deps.store.load(rollout_id)).model_dump(mode="json")


def publish_candidate(version: str, rd: RolloutDeps, data_dir: Path) -> None:
    """Hand a freshly trained candidate to the fleet's artifact store (a no-op when the fleet
    has it). It runs on no robot until a stage is approved; the fleet checks its hash."""
    if version not in {p.version for p in rd.fleet.policies()}:
        rd.fleet.publish_policy(resolve_weights(version, data_dir))


def propose_rollout_node(
    state: RolloutState, config: RunnableConfig, deps: AgentDeps, make_deps: MakeDeps = rollout_deps
) -> RolloutState:
    """Plan and record the rollout from the judge's verdict; nothing moves yet."""
    ctx = deps.ctx_for(config)
    rd = make_deps(ctx)
    try:
        if state.get("verdict"):
            verdict = Verdict.model_validate(state["verdict"])
        else:
            verdict = stored_verdict(ctx.data_dir, state.get("candidate_version", ""))
        if verdict.verdict != "promote":  # the judge's honest answer ends the run; no error
            why = "; ".join(verdict.reasons[:3]) or "no reasons given"
            return {
                "rollout_id": "",
                "answer": f"no rollout of {verdict.candidate_version}: the judge said "
                f"{verdict.verdict} ({why})",
            }
        publish_candidate(verdict.candidate_version, rd, ctx.data_dir)
        request = ProposeRolloutRequest(
            candidate_version=verdict.candidate_version,
            bake_minutes=ctx.settings.agents.rollout_bake_minutes,
        )
        ro = start_rollout(propose_plan(request, rd.fleet, verdict), rd)
    except RobotOpsError as exc:
        return {"error": str(exc), "answer": f"no rollout: {exc}"}
    stages = " -> ".join(f"{s.name} ({', '.join(s.robot_ids)})" for s in ro.plan.stages)
    return {
        "rollout_id": ro.rollout_id,
        "rollout": _view(rd, ro.rollout_id),
        "answer": f"proposed rollout {ro.rollout_id} of {ro.plan.candidate_version}: {stages}",
    }


def request_stage_approval_node(
    state: RolloutState, config: RunnableConfig, deps: AgentDeps, make_deps: MakeDeps = rollout_deps
) -> RolloutState:
    """File the current stage in the inbox (reused if already filed): the side effect lives
    here, before the interrupt's node."""
    rd = make_deps(deps.ctx_for(config))
    thread_id = config["configurable"]["thread_id"]
    request = request_stage_approval(state["rollout_id"], rd, thread_id)
    return {
        "rollout_approval_id": request.id,
        "rollout": _view(rd, state["rollout_id"]),
        "answer": f"waiting for approval {request.id}: {request.reason}",
    }


def await_stage_approval(state: RolloutState, deps: AgentDeps) -> RolloutState:
    """Pause until a person decides; only the stored decision counts."""
    approval_id = state["rollout_approval_id"]
    interrupt({"approval_id": approval_id, "rollout_id": state["rollout_id"]})
    decided = deps.approvals.store.get(approval_id or "")
    if decided.status not in ("approved", "used"):
        return {"error": f"stage approval {approval_id} is {decided.status}: rollout stopped"}
    return {"answer": f"approval {approval_id} granted by {decided.decided_by}", "error": None}


def run_stage_node(
    state: RolloutState, config: RunnableConfig, deps: AgentDeps, make_deps: MakeDeps = rollout_deps
) -> RolloutState:
    """Run the approved stage (or, after a crash, reconcile it with the fleet)."""
    rd = make_deps(deps.ctx_for(config))
    rollout_id = state["rollout_id"]
    try:
        if rd.store.load(rollout_id).status in IN_FLIGHT:
            ro = reconcile(rollout_id, rd)
        else:
            ro = run_stage(rollout_id, state["rollout_approval_id"] or "", rd)
    except RobotOpsError as exc:
        return {"error": str(exc), "answer": f"stage not run: {exc}"}
    view = rollout_view(ro)
    return {
        "rollout": view.model_dump(mode="json"),
        "answer": f"{rollout_id}: {view.status}; next: {view.waiting_for}"
        + (f" ({view.reason})" if view.reason else ""),
    }


def after_propose(state: RolloutState) -> Literal["request_stage_approval", "__end__"]:
    """On to the first stage's approval, unless nothing was proposed (an error, or a verdict
    other than promote)."""
    return END if state.get("error") or not state.get("rollout_id") else "request_stage_approval"


def after_approval(state: RolloutState) -> Literal["run_stage", "__end__"]:
    return END if state.get("error") else "run_stage"


def after_stage(state: RolloutState) -> Literal["request_stage_approval", "__end__"]:
    """Loop while the next stage waits for approval; stop when completed, rolled back, held."""
    status = (state.get("rollout") or {}).get("status")
    return (
        "request_stage_approval"
        if not state.get("error") and status == "awaiting_approval"
        else END
    )
