"""The auto-labeler node: label what is new before scenarios and datasets are built from it."""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig

from robotops.agents.deps import AgentDeps
from robotops.agents.reasoning.base import Report, Task, Toolbox, Uses, recorded, run_agent
from robotops.agents.reasoning.embedded import procedure
from robotops.agents.state import FlywheelState

AGENT = "auto-labeler"
TOOLS = Uses(toolsets=("labeling",), tools=("label_segments",))


def label_node(state: FlywheelState, config: RunnableConfig, deps: AgentDeps) -> FlywheelState:
    task = Task(kind="label", inputs={"since_ns": state.get("since_ns")})
    tools = deps.tools(TOOLS, "label")
    return recorded(run_agent(deps.reasoner, deps.ctx_for(config), AGENT, task, tools))


@procedure("label")
def label_procedure(task: Task, box: Toolbox) -> Report:
    """Label every camera segment the current labeler has not labeled yet."""
    r = box.call("label_segments", {"since_ns": task.inputs.get("since_ns")})
    labels = ", ".join(f"{k} {v}" for k, v in sorted(r.labels.items()))  # type: ignore[attr-defined]
    return Report(
        summary=f"labeled {r.labeled} segment(s) with {r.labeler_version}"  # type: ignore[attr-defined]
        f" ({labels or 'no labels'}); {r.failed} failed"  # type: ignore[attr-defined]
    )
