"""The flywheel's compute gate: ask a person in one node, wait in a node of its own.

(Rollout stages have their own gate in agents/rollout/stages.py, on the same pattern.)

LangGraph re-runs an interrupted node from its start when the thread resumes, so a waiting
node does nothing before its ``interrupt``. The asking node is idempotent: a run resumed after
a crash finds the request it already made (same thread, action, artifact, targets) instead of
filing a second one. What a resume carries is never trusted: the stored approval decides.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import interrupt

from robotops.agents.deps import AgentDeps
from robotops.agents.flow import content_hash, result_of
from robotops.agents.state import FlywheelState
from robotops.memory.approval_models import ApprovalCreate, ApprovalPublic

PLANNER = "training-planner"
POLICIES_PER_CAMPAIGN = 2  # the candidate and the incumbent


def request_once(deps: AgentDeps, body: ApprovalCreate, requester: str) -> ApprovalPublic:
    """File ``body`` unless this thread already filed the same request."""
    for a in deps.approvals.store.list():
        same = (a.thread_id, a.action, a.artifact_sha256, sorted(a.targets)) == (
            body.thread_id,
            body.action,
            body.artifact_sha256,
            sorted(body.targets),
        )
        if same:
            return a
    return deps.approvals.request(body, deps.agent(requester))


def _episodes(scenarios: dict[str, Any]) -> int:
    """Campaign episodes a scenario family costs: each scenario under candidate and incumbent."""
    return int(scenarios.get("count", 0)) * POLICIES_PER_CAMPAIGN


def request_compute_approval(
    state: FlywheelState, config: RunnableConfig, deps: AgentDeps
) -> FlywheelState:
    """Ask a person before a campaign/training above the compute threshold; else go on."""
    scenarios = result_of(state, "scenario-generator", "generate_scenarios")
    episodes, limit = _episodes(scenarios), deps.ctx.settings.agents.compute_approval_episodes
    if episodes <= limit:
        return {"compute_approval_id": None, "answer": f"{episodes} episodes: within {limit}"}
    cause = (state.get("triage") or {}).get("diagnosis", {}).get("cause", "?")
    request = request_once(
        deps,
        ApprovalCreate(
            action="campaign",
            artifact_sha256=content_hash(scenarios),
            targets=["compute"],
            reason=f"campaign and training on {episodes} episodes (> {limit}) to fix {cause}",
            evidence={"episodes": episodes, "threshold": limit, "cause": cause},
            risk="medium",
            thread_id=config["configurable"]["thread_id"],
        ),
        PLANNER,
    )
    return {"compute_approval_id": request.id, "answer": f"waiting for approval {request.id}"}


def _await(state: FlywheelState, deps: AgentDeps, key: str) -> FlywheelState:
    approval_id = state[key]  # type: ignore[literal-required]
    interrupt({"approval_id": approval_id})
    decided = deps.approvals.store.get(approval_id)
    if decided.status not in ("approved", "used"):
        why = f"approval {approval_id} is {decided.status}"
        if decided.decision_comment:
            why += f" ({decided.decided_by}: {decided.decision_comment})"
        return {"error": why, "answer": f"stopped: {why}"}
    return {"answer": f"approval {approval_id} granted by {decided.decided_by}"}


def await_compute_approval(state: FlywheelState, deps: AgentDeps) -> FlywheelState:
    """Wait for the compute decision; resumable from any process."""
    return _await(state, deps, "compute_approval_id")
