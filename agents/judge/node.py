"""The validation judge node: campaign the candidate against the incumbent, then a verdict."""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig

from robotops.agents.deps import AgentDeps
from robotops.agents.flow import result_of
from robotops.agents.judge.procedure import AGENT, TOOLS, judge_procedure
from robotops.agents.reasoning.base import Task, recorded, run_agent
from robotops.agents.reasoning.embedded import procedure
from robotops.agents.state import FlywheelState


def judge_node(state: FlywheelState, config: RunnableConfig, deps: AgentDeps) -> FlywheelState:
    trained = result_of(state, "training-planner", "train_policy")
    task = Task(
        kind="judge",
        inputs={
            "candidate_version": trained.get("version"),
            "incumbent_version": trained.get("parent"),
            "scenarios": result_of(state, "scenario-generator", "generate_scenarios"),
            "weights": candidate_weights(trained),
            "min_runs": deps.ctx.settings.agents.judge_min_runs,
        },
    )
    tools = deps.tools(TOOLS, "judge")
    return recorded(run_agent(deps.reasoner, deps.ctx_for(config), AGENT, task, tools))


def candidate_weights(trained: dict) -> dict[str, str]:
    """The freshly trained candidate is not published yet: point the campaign at its file."""
    version, path = trained.get("version"), trained.get("weights_path")
    return {version: path} if version and path else {}


procedure("judge")(judge_procedure)
