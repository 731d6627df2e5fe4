"""The scenario generator node: turn the triaged incident into a scenario family.

Works through the ``generate_scenarios`` tool; its result is passed on as JSON.
"""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig

from robotops.agents.deps import AgentDeps
from robotops.agents.reasoning.base import Report, Task, Toolbox, Uses, recorded, run_agent
from robotops.agents.reasoning.embedded import procedure
from robotops.agents.state import FlywheelState
from robotops.errors import InvalidRequestError

AGENT = "scenario-generator"
TOOLS = Uses(toolsets=("scenarios",), tools=("generate_scenarios",))


def scenarios_node(state: FlywheelState, config: RunnableConfig, deps: AgentDeps) -> FlywheelState:
    inputs = scenario_inputs(state)
    if inputs:  # how big a family: the flywheel's setting (small in tests, sensible by default)
        agents = deps.ctx.settings.agents
        inputs |= {"variants": agents.scenario_variants, "duration_s": agents.scenario_duration_s}
    task = Task(kind="scenarios", question=state.get("question", ""), inputs=inputs)
    tools = deps.tools(TOOLS, "scenarios")
    return recorded(run_agent(deps.reasoner, deps.ctx_for(config), AGENT, task, tools))


def scenario_inputs(state: FlywheelState) -> dict:
    """What the generator gets from the thread's triage: the incident and its diagnosed cause."""
    t = state.get("triage")
    if not t:
        return {}
    return {
        "incident_id": t["incident"]["incident_id"],
        "robot_id": t["robot_id"],
        "cause": t["diagnosis"]["cause"],
        "confidence": t["diagnosis"]["confidence"],
    }


@procedure("scenarios")
def scenarios_procedure(task: Task, box: Toolbox) -> Report:
    """One scenario family around the diagnosed cause, seeded from the incident."""
    if not task.inputs:
        raise InvalidRequestError("make scenarios from what? triage an incident first")
    out = box.call("generate_scenarios", {**task.inputs, "seed": 0})
    return Report(summary=f"generated {out.count} scenario(s) around {task.inputs['cause']}")
