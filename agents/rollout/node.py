"""Rollout steward nodes: propose, wait for the human (an interrupt in a node of its own,
before any side effect), then deploy through the tool that checks the approval itself.

The value a resume carries is never trusted as authorization: the deploy tool looks the
approval up in the approval store and checks action, artifact and robots.
"""

from __future__ import annotations

import re
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import interrupt

from robotops.agents.deps import AGENT_NAME, AgentDeps
from robotops.agents.state import FlywheelState
from robotops.agents.triage.procedure import ROBOT_RE
from robotops.errors import RobotOpsError
from robotops.tools.approvals.errors import ApprovalError
from robotops.tools.approvals.models import Actor, ApprovalCreate
from robotops.tools.fleet.actions import DeployPolicyRequest, FleetActionDeps, deploy_policy

VERSION_RE = re.compile(r"\b(v\d+)\b", re.IGNORECASE)


def parse_deploy(question: str, known_robots: list[str]) -> tuple[str, list[str]]:
    """'deploy v2 to #101 and #102' -> ('v2', ['101', '102'])."""
    version = VERSION_RE.search(question)
    robots = [r for r in ROBOT_RE.findall(question) if r in known_robots]
    if not version or not robots:
        raise RobotOpsError(
            f"say which version to which robots, e.g. 'deploy v2 to #101' "
            f"(known robots: {', '.join(sorted(known_robots))})"
        )
    return version.group(1).lower(), robots


def propose_deploy(state: FlywheelState, config: RunnableConfig, deps: AgentDeps) -> FlywheelState:
    thread_id = config["configurable"]["thread_id"]
    fleet = deps.triage.fleet
    try:
        version, robots = parse_deploy(state["question"], [r.robot_id for r in fleet.robots()])
        sha = {p.version: p.sha256 for p in fleet.policies()}.get(version)
        if sha is None:
            raise RobotOpsError(f"the fleet has no policy {version}")
    except RobotOpsError as exc:
        return {"error": str(exc), "answer": str(exc)}
    request = deps.approvals.request(
        ApprovalCreate(
            action="deploy",
            artifact_sha256=sha,
            targets=robots,
            thread_id=thread_id,
            reason=f"deploy {version} to {', '.join('#' + r for r in robots)} as asked: "
            f"{state['question']!r}",
            risk="high",
        ),
        Actor(name=AGENT_NAME, role="engineer", is_agent=True),
    )
    proposal = {
        "policy_version": version,
        "robot_ids": robots,
        "deployment_id": f"{thread_id}-deploy",
    }
    return {
        "proposal": proposal,
        "approval_id": request.id,
        "answer": f"waiting for approval {request.id} to deploy {version} to {', '.join(robots)}",
    }


def await_approval(state: FlywheelState) -> FlywheelState:
    """Pause the thread until a person decides; resumable from any process."""
    decided: Any = interrupt({"approval_id": state["approval_id"], "proposal": state["proposal"]})
    return {"answer": f"resumed after decision on {state['approval_id']} ({decided})"}


def deploy(state: FlywheelState, deps: AgentDeps) -> FlywheelState:
    p = state["proposal"]
    try:
        result = deploy_policy(
            DeployPolicyRequest(approval_id=state["approval_id"], **p),
            FleetActionDeps(fleet=deps.triage.fleet, approvals=deps.approvals, actor=AGENT_NAME),
        )
    except ApprovalError as exc:
        return {"error": str(exc), "answer": f"not deployed: {exc}"}
    d = result.deployment
    return {
        "deployment": d.model_dump(mode="json"),
        "answer": f"deployed {d.policy_version} to {', '.join(d.robot_ids)} "
        f"(approved by {result.approval.decided_by})",
    }
