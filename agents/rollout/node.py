"""Rollout steward nodes: propose, wait for the human (an interrupt in a node of its own,
before any side effect), then deploy through the tool that checks the approval itself.

The value a resume carries is never trusted as authorization: the deploy tool looks the
approval up in the approval store and checks action, artifact and robots.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import interrupt

from robotops.agents.deps import AGENT_NAME, AgentDeps
from robotops.agents.reasoning.base import Report, Task, Toolbox, Uses, run_agent
from robotops.agents.reasoning.embedded import procedure
from robotops.agents.state import FlywheelState
from robotops.errors import RobotOpsError
from robotops.memory.approval_models import Actor, ApprovalCreate
from robotops.tools.triage.answer import ROBOT_RE

VERSION_RE = re.compile(r"\b(v\d+)\b", re.IGNORECASE)
PROPOSE_TOOLS = Uses(toolsets=("fleet",), tools=("list_robots", "list_policies"))
DEPLOY_TOOLS = Uses(toolsets=("fleet",), tools=("deploy_policy",))


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
    task = Task(kind="propose_deploy", question=state["question"])
    tools = deps.tools(PROPOSE_TOOLS, "propose_deploy")
    finding = run_agent(deps.reasoner, deps.ctx_for(config), AGENT_NAME, task, tools)
    if not finding.ok:
        return {"error": finding.error, "answer": finding.error or ""}
    version, robots, sha = (finding.data[k] for k in ("version", "robots", "sha256"))
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


@procedure("propose_deploy")
def propose_deploy_procedure(task: Task, box: Toolbox) -> Report:
    """Which version to which robots, and the version's hash, for the approval request."""
    robots = [r.robot_id for r in box.call("list_robots", {}).robots]  # type: ignore[attr-defined]
    version, targets = parse_deploy(task.question, robots)
    policies = box.call("list_policies", {}).policies  # type: ignore[attr-defined]
    sha = {p.version: p.sha256 for p in policies}.get(version)
    if sha is None:
        raise RobotOpsError(f"the fleet has no policy {version}")
    return Report(
        summary=f"deploy {version} to {', '.join(targets)}",
        data={"version": version, "robots": targets, "sha256": sha},
    )


def await_approval(state: FlywheelState) -> FlywheelState:
    """Pause the thread until a person decides; resumable from any process."""
    decided: Any = interrupt({"approval_id": state["approval_id"], "proposal": state["proposal"]})
    return {"answer": f"resumed after decision on {state['approval_id']} ({decided})"}


def deploy(state: FlywheelState, config: RunnableConfig, deps: AgentDeps) -> FlywheelState:
    """Deploy through the tool that checks the approval itself, acting as the steward."""
    task = Task(kind="deploy", inputs={"approval_id": state["approval_id"], **state["proposal"]})
    ctx = dataclasses.replace(deps.ctx_for(config), actor=AGENT_NAME)
    tools = deps.tools(DEPLOY_TOOLS, "deploy")
    finding = run_agent(deps.reasoner, ctx, AGENT_NAME, task, tools)
    if not finding.ok:
        return {"error": finding.error, "answer": f"not deployed: {finding.error}"}
    result = finding.results["deploy_policy"]
    d = result["deployment"]
    return {
        "deployment": d,
        "answer": f"deployed {d['policy_version']} to {', '.join(d['robot_ids'])} "
        f"(approved by {result['approval']['decided_by']})",
    }


@procedure("deploy")
def deploy_procedure(task: Task, box: Toolbox) -> Report:
    """Deploy the approved proposal (the tool checks the approval covers exactly this)."""
    d = box.call("deploy_policy", task.inputs).deployment  # type: ignore[attr-defined]
    return Report(summary=f"deployed {d.policy_version} to {', '.join(d.robot_ids)}")
