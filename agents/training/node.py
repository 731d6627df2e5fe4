"""The training planner node: plan from the findings, build, gate and train through tools.

The plan prices the work first; a plan above the approval threshold trains only when the
thread already holds the compute approval (the gate before this node asks for it). Bad data
stops here with the alignment report, before any compute is spent.
"""

from __future__ import annotations

from pathlib import Path

from langchain_core.runnables import RunnableConfig

from robotops.agents.deps import AgentDeps
from robotops.agents.flow import result_of
from robotops.agents.reasoning.base import Report, Task, Toolbox, Uses, recorded, run_agent
from robotops.agents.reasoning.embedded import procedure
from robotops.agents.state import FlywheelState
from robotops.errors import InvalidRequestError
from robotops.sim.scenarios.io import load_scenarios

AGENT = "training-planner"
TOOLS = Uses(
    toolsets=("datasets",),
    tools=("plan_training", "build_dataset", "check_alignment", "train_policy"),
)


def training_node(state: FlywheelState, config: RunnableConfig, deps: AgentDeps) -> FlywheelState:
    triage = state.get("triage") or {}
    diagnosis = triage.get("diagnosis") or {}
    scenarios = result_of(state, "scenario-generator", "generate_scenarios")
    task = Task(
        kind="train",
        inputs={
            "findings": [
                {
                    "cause": diagnosis.get("cause", "unknown"),
                    "robot_id": triage.get("robot_id", ""),
                    "confidence": diagnosis.get("confidence", 0.0),
                }
            ]
            if diagnosis
            else [],
            "parent": (triage.get("incident") or {}).get("policy_version") or "v1",
            "scenario_dir": scenarios.get("directory"),
            "compute_approval_id": state.get("compute_approval_id"),
            "sim_frames": deps.ctx.settings.agents.training_sim_frames,
            "epochs": deps.ctx.settings.agents.training_epochs,
        },
    )
    tools = deps.tools(TOOLS, "train")
    update = recorded(run_agent(deps.reasoner, deps.ctx_for(config), AGENT, task, tools))
    trained = update["findings"][AGENT]["results"].get("train_policy") or {}
    return {**update, **({"candidate_version": trained["version"]} if trained else {})}


def family_worlds(scenario_dir: str | None) -> list[dict]:
    """The worlds of the scenario family, to render hazard frames in (JSON)."""
    if not scenario_dir or not Path(scenario_dir).is_dir():
        return []
    loaded = load_scenarios(Path(scenario_dir), skip_bad=True)
    return [s.world.model_dump(mode="json") for s in loaded.scenarios]


@procedure("train")
def training_procedure(task: Task, box: Toolbox) -> Report:
    """Plan, and if there is something to train: build the dataset, gate it, fine-tune."""
    plan = box.call(
        "plan_training",
        {
            "findings": task.inputs.get("findings") or [],
            "parent": task.inputs.get("parent") or "v1",
            "worlds": family_worlds(task.inputs.get("scenario_dir")),
            **{k: task.inputs[k] for k in ("sim_frames", "epochs") if k in task.inputs},
        },
    ).model_dump(mode="json")
    if not plan["train"] or plan.get("dataset") is None:
        return Report(summary=f"nothing to train: {plan['reason']}", data={"plan": plan})
    if plan["needs_approval"] and not task.inputs.get("compute_approval_id"):
        raise InvalidRequestError(
            f"training is estimated at {plan['estimated_seconds']:.0f} s, above the "
            f"{plan['approval_threshold_s']:.0f} s threshold, and no compute approval was given"
        )
    dataset = box.call("build_dataset", plan["dataset"]).model_dump(mode="json")
    gate = box.call("check_alignment", {"dataset": dataset["sha256"]}).model_dump(mode="json")
    if not gate["ok"]:
        raise InvalidRequestError(f"dataset {dataset['sha256'][:12]} refused: {gate['summary']}")
    trained = box.call(
        "train_policy",
        {
            "dataset": dataset["sha256"],
            "parent": plan["parent"],
            "config": {"epochs": plan["epochs"]},
        },
    ).model_dump(mode="json")
    return Report(
        summary=f"trained {trained['version']} from {trained['parent']} on {dataset['frames']} "
        f"frames (dataset {dataset['sha256'][:12]}): {plan['reason']}",
        data={"candidate_version": trained["version"], "dataset": dataset["sha256"]},
    )
