"""The triage node: run the triage procedure and record the answer in the thread."""

from __future__ import annotations

from robotops.agents.deps import AgentDeps
from robotops.agents.state import FlywheelState
from robotops.agents.triage.procedure import triage
from robotops.errors import RobotOpsError


def triage_node(state: FlywheelState, deps: AgentDeps) -> FlywheelState:
    try:
        answer = triage(state["question"], deps.triage)
    except RobotOpsError as exc:
        return {"error": str(exc), "answer": f"I could not triage that: {exc}"}
    return {"triage": answer.model_dump(mode="json"), "answer": answer.text}
