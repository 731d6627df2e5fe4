"""Rollout steward, stage by stage: propose, ask, wait for a person, run the stage, repeat.

    propose_rollout ─► request_stage_approval ─► await_stage_approval ─► run_stage ─┐
                              ▲                   (interrupt, own node)            │
                              └──────────── after_stage: next stage waits ◄────────┘

The interrupt lives in a node with no side effect before it (LangGraph re-runs an interrupted
node from its start on resume). The resume value authorizes nothing: ``run_stage`` checks the
approval store itself. If a process dies mid-stage, re-running ``run_stage_node`` reconciles
with what the fleet reports instead of starting the stage again. Each node runs through the
reasoner like every agent: publishing the candidate, planning, asking and running a stage are
tool calls (``publish_candidate``, ``propose_rollout``, ``request_stage_approval``,
``run_rollout_stage`` / ``reconcile_rollout``), recorded in the steward's finding.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END
from langgraph.types import interrupt

from robotops.agents.deps import AgentDeps
from robotops.agents.reasoning.base import Report, Task, Toolbox, Uses, run_agent
from robotops.agents.reasoning.embedded import procedure
from robotops.errors import RobotOpsError
from robotops.tools.judge.models import Verdict
from robotops.tools.rollout.plan import stored_verdict

AGENT = "rollout-steward"
IN_FLIGHT = ("deploying", "baking", "rolling_back", "rollback_incomplete")  # reconcile these
PROPOSE_TOOLS = Uses(
    toolsets=("rollout",), tools=("publish_candidate", "propose_rollout", "rollout_status")
)
ASK_TOOLS = Uses(toolsets=("rollout",), tools=("request_stage_approval",))
STAGE_TOOLS = Uses(
    toolsets=("rollout",), tools=("rollout_status", "run_rollout_stage", "reconcile_rollout")
)


class RolloutState(TypedDict, total=False):
    """The keys these nodes read and write (the flywheel state needs the same ones)."""

    verdict: dict[str, Any]  # the judge's Verdict as JSON; or give candidate_version
    candidate_version: str
    rollout_id: str
    rollout: dict[str, Any]  # RolloutView as JSON
    rollout_approval_id: str | None
    answer: str
    error: str | None


def _run(
    deps: AgentDeps, config: RunnableConfig, uses: Uses, node: str, task: Task
) -> tuple[bool, dict[str, Any], str]:
    """Run the steward's task through the reasoner: (ok, results by tool, error or summary)."""
    finding = run_agent(deps.reasoner, deps.ctx_for(config), AGENT, task, deps.tools(uses, node))
    return finding.ok, finding.results, (finding.summary if finding.ok else finding.error or "")


def propose_rollout_node(
    state: RolloutState, config: RunnableConfig, deps: AgentDeps
) -> RolloutState:
    """Plan and record the rollout from the judge's verdict; nothing moves yet."""
    ctx = deps.ctx_for(config)
    try:
        if state.get("verdict"):
            verdict = Verdict.model_validate(state["verdict"])
        else:
            verdict = stored_verdict(ctx.data_dir, state.get("candidate_version", ""))
    except RobotOpsError as exc:
        return {"error": str(exc), "answer": f"no rollout: {exc}"}
    if verdict.verdict != "promote":  # the judge's honest answer ends the run; no error
        why = "; ".join(verdict.reasons[:3]) or "no reasons given"
        return {
            "rollout_id": "",
            "answer": f"no rollout of {verdict.candidate_version}: the judge said "
            f"{verdict.verdict} ({why})",
        }
    task = Task(
        kind="propose_rollout",
        inputs={
            "verdict": verdict.model_dump(mode="json"),
            "bake_minutes": ctx.settings.agents.rollout_bake_minutes,
        },
    )
    ok, results, said = _run(deps, config, PROPOSE_TOOLS, "propose_rollout", task)
    if not ok:
        return {"error": said, "answer": f"no rollout: {said}"}
    proposed = results["propose_rollout"]
    return {
        "rollout_id": proposed["rollout_id"],
        "rollout": results["rollout_status"]["rollouts"][0],
        "answer": said,
    }


@procedure("propose_rollout")
def propose_rollout_procedure(task: Task, box: Toolbox) -> Report:
    """Publish the promoted candidate to the fleet's artifact store, then plan the rollout."""
    verdict = task.inputs["verdict"]
    box.call("publish_candidate", {"version": verdict["candidate_version"]})
    out = box.call(
        "propose_rollout",
        {
            "candidate_version": verdict["candidate_version"],
            "verdict": verdict,
            "bake_minutes": task.inputs["bake_minutes"],
            "request_approval": False,
        },
    )
    box.call("rollout_status", {"rollout_id": out.rollout_id})  # type: ignore[attr-defined]
    stages = " -> ".join(f"{s.name} ({', '.join(s.robot_ids)})" for s in out.stages)  # type: ignore[attr-defined]
    return Report(
        summary=f"proposed rollout {out.rollout_id} of {out.candidate_version}: {stages}"  # type: ignore[attr-defined]
    )


def request_stage_approval_node(
    state: RolloutState, config: RunnableConfig, deps: AgentDeps
) -> RolloutState:
    """File the current stage in the inbox (reused if already filed): the side effect lives
    here, before the interrupt's node."""
    task = Task(kind="request_stage_approval", inputs={"rollout_id": state["rollout_id"]})
    ok, results, said = _run(deps, config, ASK_TOOLS, "request_stage_approval", task)
    if not ok:
        return {"error": said, "answer": f"no approval requested: {said}"}
    filed = results["request_stage_approval"]
    return {
        "rollout_approval_id": filed["approval_id"],
        "rollout": filed["rollout"],
        "answer": said,
    }


@procedure("request_stage_approval")
def request_stage_approval_procedure(task: Task, box: Toolbox) -> Report:
    """Ask a person to approve the rollout's current stage."""
    filed = box.call("request_stage_approval", {"rollout_id": task.inputs["rollout_id"]})
    return Report(summary=f"waiting for approval {filed.approval_id}: {filed.reason}")  # type: ignore[attr-defined]


def await_stage_approval(state: RolloutState, deps: AgentDeps) -> RolloutState:
    """Pause until a person decides; only the stored decision counts."""
    approval_id = state["rollout_approval_id"]
    interrupt({"approval_id": approval_id, "rollout_id": state["rollout_id"]})
    decided = deps.approvals.store.get(approval_id or "")
    if decided.status not in ("approved", "used"):
        return {"error": f"stage approval {approval_id} is {decided.status}: rollout stopped"}
    return {"answer": f"approval {approval_id} granted by {decided.decided_by}", "error": None}


def run_stage_node(state: RolloutState, config: RunnableConfig, deps: AgentDeps) -> RolloutState:
    """Run the approved stage (or, after a crash, reconcile it with the fleet)."""
    rollout_id = state["rollout_id"]
    task = Task(
        kind="run_stage",
        inputs={"rollout_id": rollout_id, "approval_id": state["rollout_approval_id"] or ""},
    )
    ok, results, said = _run(deps, config, STAGE_TOOLS, "run_stage", task)
    if not ok:
        return {"error": said, "answer": f"stage not run: {said}"}
    ran = results.get("reconcile_rollout") or results["run_rollout_stage"]
    return {"rollout": ran["rollout"], "answer": said}


@procedure("run_stage")
def run_stage_procedure(task: Task, box: Toolbox) -> Report:
    """Run the approved stage; a stage already in flight (a crash mid-stage) is reconciled with
    what the fleet reports instead of being started again."""
    rollout_id = task.inputs["rollout_id"]
    status = box.call("rollout_status", {"rollout_id": rollout_id}).rollouts[0].status  # type: ignore[attr-defined]
    if status in IN_FLIGHT:
        ran = box.call("reconcile_rollout", {"rollout_id": rollout_id})
    else:
        ran = box.call(
            "run_rollout_stage",
            {
                "rollout_id": rollout_id,
                "approval_id": task.inputs["approval_id"],
                "request_next_approval": False,
            },
        )
    view = ran.rollout  # type: ignore[attr-defined]
    return Report(
        summary=f"{rollout_id}: {view.status}; next: {view.waiting_for}"
        + (f" ({view.reason})" if view.reason else "")
    )


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
