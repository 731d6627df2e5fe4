"""The triage agent's nodes: why did it happen, what else looks like it, what changed in a policy.

Each node hands a task to the reasoning backend with the tools it may use, and records the
finding. The embedded procedures below are the standard way to do each task with those tools.
"""

from __future__ import annotations

import re

from langchain_core.runnables import RunnableConfig

from robotops.agents.deps import AgentDeps
from robotops.agents.reasoning.base import Report, Task, Toolbox, Uses, recorded, run_agent
from robotops.agents.reasoning.embedded import procedure
from robotops.agents.state import FlywheelState
from robotops.tools.triage.answer import CAUSE_QUERIES

AGENT = "triage"
VERSION_WORD = re.compile(r"\b(v\d+)\b", re.IGNORECASE)
NEAR_NS = 10_000_000_000  # a hit this close to the incident on the same robot is the incident
TRIAGE_TOOLS = Uses(
    toolsets=("triage", "fleet", "logs"),
    tools=(
        "triage_incident",
        "list_robots",
        "list_incidents",
        "pull_incident_windows",
        "ingest_log",
        "diagnose_incident",
        "search_segments",
    ),
)
SIMILAR_TOOLS = Uses(toolsets=("logs",), tools=("search_segments",))
POLICY_TOOLS = Uses(toolsets=("fleet",), tools=("policy_changes",))


def triage_node(state: FlywheelState, config: RunnableConfig, deps: AgentDeps) -> FlywheelState:
    flywheel = state.get("intent") == "flywheel"
    task = Task(
        kind="triage",
        question=state.get("question", ""),
        inputs={"flywheel": flywheel, "since_ns": state.get("since_ns")},
    )
    tools = deps.tools(TRIAGE_TOOLS, "triage")
    finding = run_agent(deps.reasoner, deps.ctx_for(config), AGENT, task, tools)
    answer = finding.results.get("triage_incident")
    return recorded(finding, **({"triage": answer} if answer else {}))


def similar_node(state: FlywheelState, config: RunnableConfig, deps: AgentDeps) -> FlywheelState:
    task = Task(kind="similar", question=state["question"], inputs={"triage": state["triage"]})
    tools = deps.tools(SIMILAR_TOOLS, "similar")
    finding = run_agent(deps.reasoner, deps.ctx_for(config), AGENT, task, tools)
    return recorded(finding)


def policy_node(state: FlywheelState, config: RunnableConfig, deps: AgentDeps) -> FlywheelState:
    task = Task(kind="policy", question=state["question"])
    tools = deps.tools(POLICY_TOOLS, "policy")
    finding = run_agent(deps.reasoner, deps.ctx_for(config), AGENT, task, tools)
    return recorded(finding)


@procedure("triage")
def triage_procedure(task: Task, box: Toolbox) -> Report:
    """Triage the question's robot; on the flywheel, the newest incident since the last run."""
    question = task.question
    if task.inputs.get("flywheel"):
        found = box.call("list_incidents", {"since_ns": task.inputs.get("since_ns")})
        if not found.incidents:  # type: ignore[attr-defined]
            return Report(summary="no new incidents: nothing to triage", data={"idle": True})
        latest = found.incidents[-1]  # type: ignore[attr-defined]
        question = f"why did #{latest.robot_id} {latest.kind} ({latest.incident_id})?"
    answer = box.call("triage_incident", {"question": question})
    return Report(summary=answer.text)  # type: ignore[attr-defined]


@procedure("similar")
def similar_procedure(task: Task, box: Toolbox) -> Report:
    """Search for segments that look like the thread's last diagnosed cause."""
    last = task.inputs["triage"]
    cause = last["diagnosis"]["cause"]
    result = box.call("search_segments", {"text": CAUSE_QUERIES[cause], "k": 10})
    robot, t = last["robot_id"], last["incident"]["time_ns"]
    hits = [
        h
        for h in result.hits  # type: ignore[attr-defined]
        if not (h.doc.robot_id == robot and h.doc.start_ns - NEAR_NS <= t <= h.doc.end_ns + NEAR_NS)
    ]
    lines = [f"Segments like #{last['robot_id']}'s {cause.replace('_', ' ')} incident:"]
    lines += [
        f"  - #{h.doc.robot_id or '?'} log {h.doc.log_id[:12]} at {h.doc.start_ns} "
        f"(score {h.score:.2f}): {h.why}"
        for h in hits
    ]
    if not hits:
        lines.append("  none found in the indexed logs")
    return Report(summary="\n".join(lines))


@procedure("policy")
def policy_procedure(task: Task, box: Toolbox) -> Report:
    """Compare the asked policy version with the one before it."""
    match = VERSION_WORD.search(task.question)
    if not match:
        return Report(summary="which policy version? e.g. 'what changed in policy v2?'")
    c = box.call("policy_changes", {"version": match.group(1).lower()})
    prev = c.previous  # type: ignore[attr-defined]
    lines = [
        f"Policy {c.version} (sha256 {c.sha256[:12]}) "  # type: ignore[attr-defined]
        + (f"follows {prev.version} (sha256 {prev.sha256[:12]})." if prev else "is the first.")
    ]
    lines.append(f"Runs on: {', '.join(c.robots_on_it) or 'no robot'}.")  # type: ignore[attr-defined]
    if prev:
        lines.append(f"{prev.version} still runs on: {', '.join(c.robots_on_previous) or 'none'}.")  # type: ignore[attr-defined]
    if c.deployments:  # type: ignore[attr-defined]
        lines.append(f"Approved deployments: {', '.join(c.deployments)}.")  # type: ignore[attr-defined]
    return Report(summary=" ".join(lines))
