"""The flywheel graph, wired in one place. Nothing is built at import: call build_graph.

route ─┬─ triage ──────────┬─ END                        (why did #104 stall?)
       │                   ├─ similar ─ END              (show similar incidents)
       │                   └─ scenarios ─ END            (make scenarios from this)
       ├─ policy ─ END                                    (what changed in policy v2?)
       ├─ propose_deploy ─ await_approval* ─ deploy ─ END (deploy v2 to #101)
       └─ flywheel: triage ─ label ─ scenarios ─ request_compute_approval
              ─ [await_compute_approval*] ─ train ─ judge ─ propose_rollout
              ─ request_stage_approval ─ await_stage_approval* ─ run_stage ─┐
                        ▲──────────── while the next stage waits ◄──────────┘

(*) an interrupt, in a node of its own: a person decides in the approval inbox. Any node that
records an error ends the run there, with the error as the answer.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Literal, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from robotops.agents.deps import AgentDeps
from robotops.agents.gates import await_compute_approval, request_compute_approval
from robotops.agents.judge import procedure as judge_procedure
from robotops.agents.judge.node import judge_node
from robotops.agents.labeler import node as labeler
from robotops.agents.labeler.node import label_node
from robotops.agents.reasoning.base import Uses
from robotops.agents.rollout import node as rollout
from robotops.agents.rollout import stages
from robotops.agents.rollout.node import await_approval, deploy, propose_deploy
from robotops.agents.scenarios import node as scenarios
from robotops.agents.scenarios.node import scenarios_node
from robotops.agents.state import FlywheelState
from robotops.agents.training import node as training
from robotops.agents.training.node import training_node
from robotops.agents.triage import node as triage
from robotops.agents.triage.node import policy_node, similar_node, triage_node
from robotops.tools.triage.answer import ROBOT_RE

FLYWHEEL_QUESTION = "run the flywheel on new fleet data"
INTENTS: list[tuple[str, re.Pattern[str]]] = [
    ("flywheel", re.compile(r"\b(flywheel|nightly)\b", re.I)),
    (
        "policy",
        re.compile(r"\b(changed?|differen\w*|new)\b.*\bpolicy\b|\bpolicy\b.*\bchanged?\b", re.I),
    ),
    ("similar", re.compile(r"\b(similar|like this|same thing|other incidents)\b", re.I)),
    ("scenarios", re.compile(r"\bscenarios?\b", re.I)),
    ("deploy", re.compile(r"\b(deploy|roll ?out|push)\b", re.I)),
]
FOLLOW_UPS = ("similar", "scenarios")
Route = Literal["triage", "similar", "scenarios", "policy", "propose_deploy"]


def intent_of(question: str) -> str:
    """What a question asks for; anything else is a triage question."""
    return next((name for name, pattern in INTENTS if pattern.search(question)), "triage")


def route(state: FlywheelState) -> Command[Route]:
    """Send a question to the agent whose job it is; follow-ups reuse the thread's last triage."""
    question = state.get("question", "")
    intent = intent_of(question)
    update = {"intent": intent, "error": None}
    if intent == "flywheel":
        return Command(update=update, goto="triage")
    if intent == "deploy":
        return Command(update=update, goto="propose_deploy")
    if intent in FOLLOW_UPS and (not state.get("triage") or ROBOT_RE.search(question)):
        return Command(update=update, goto="triage")  # nothing to follow up on yet: triage first
    return Command(update=update, goto=cast(Route, intent))


def after_triage(state: FlywheelState) -> str:
    """Answer, or go on: to a follow-up the question asked for, or down the flywheel."""
    if state.get("error") or not state.get("triage"):
        return END
    return {"similar": "similar", "scenarios": "scenarios", "flywheel": "label"}.get(
        state.get("intent", ""), END
    )


def after_scenarios(state: FlywheelState) -> str:
    ok = not state.get("error") and state.get("intent") == "flywheel"
    return "request_compute_approval" if ok else END


def after_compute_request(state: FlywheelState) -> Literal["await_compute_approval", "train"]:
    return "await_compute_approval" if state.get("compute_approval_id") else "train"


def judged(state: FlywheelState, config: RunnableConfig, deps: AgentDeps) -> FlywheelState:
    """The judge's node, handing its verdict to the rollout steward under ``verdict``."""
    update = judge_node(state, config, deps)
    verdict = update["findings"]["validation-judge"]["results"].get("judge_candidate") or {}
    return {**update, **({"verdict": verdict["verdict"]} if verdict.get("verdict") else {})}


def then(g: StateGraph, node: str, target: str) -> None:
    """An edge from ``node`` to ``target``, or to END when ``node`` recorded an error."""

    def next_step(state: FlywheelState) -> str:
        return END if state.get("error") else target

    next_step.__name__ = f"{node}_to_{target}"
    g.add_conditional_edges(node, next_step, [target, END])


def node_tools() -> dict[str, Uses]:
    """What each node that calls tools declared it uses (its toolsets and tools)."""
    return {
        "triage": triage.TRIAGE_TOOLS,
        "similar": triage.SIMILAR_TOOLS,
        "policy": triage.POLICY_TOOLS,
        "label": labeler.TOOLS,
        "scenarios": scenarios.TOOLS,
        "train": training.TOOLS,
        "judge": judge_procedure.TOOLS,
        "propose_rollout": stages.PROPOSE_TOOLS,
        "request_stage_approval": stages.ASK_TOOLS,
        "run_stage": stages.STAGE_TOOLS,
        "propose_deploy": rollout.PROPOSE_TOOLS,
        "deploy": rollout.DEPLOY_TOOLS,
    }


def check_tools(deps: AgentDeps) -> None:
    """Fail now, naming the node and the tool, when a node's toolsets lack a tool it needs."""
    for node, uses in node_tools().items():
        deps.tools(uses, node)


def build_graph(deps: AgentDeps, checkpointer: BaseCheckpointSaver) -> CompiledStateGraph:
    """The flywheel graph over ``deps``; raises ConfigError when a node's tool is missing."""
    check_tools(deps)
    g = StateGraph(FlywheelState)
    g.add_node("route", route)
    # the six agents
    g.add_node("triage", partial(triage_node, deps=deps))
    g.add_node("similar", partial(similar_node, deps=deps))
    g.add_node("policy", partial(policy_node, deps=deps))
    g.add_node("label", partial(label_node, deps=deps))
    g.add_node("scenarios", partial(scenarios_node, deps=deps))
    g.add_node("train", partial(training_node, deps=deps))
    g.add_node("judge", partial(judged, deps=deps))
    g.add_node("propose_rollout", partial(stages.propose_rollout_node, deps=deps))
    g.add_node("run_stage", partial(stages.run_stage_node, deps=deps))
    g.add_node("propose_deploy", partial(propose_deploy, deps=deps))
    g.add_node("deploy", partial(deploy, deps=deps))
    # approval gates: ask, then wait in a node of its own
    g.add_node("request_compute_approval", partial(request_compute_approval, deps=deps))
    g.add_node("await_compute_approval", partial(await_compute_approval, deps=deps))
    g.add_node("request_stage_approval", partial(stages.request_stage_approval_node, deps=deps))
    g.add_node("await_stage_approval", partial(stages.await_stage_approval, deps=deps))
    g.add_node("await_approval", await_approval)

    g.add_edge(START, "route")
    g.add_conditional_edges("triage", after_triage, ["similar", "scenarios", "label", END])
    g.add_edge("similar", END)
    g.add_edge("policy", END)
    then(g, "label", "scenarios")
    g.add_conditional_edges("scenarios", after_scenarios, ["request_compute_approval", END])
    g.add_conditional_edges("request_compute_approval", after_compute_request)
    then(g, "await_compute_approval", "train")
    then(g, "train", "judge")
    then(g, "judge", "propose_rollout")
    g.add_conditional_edges("propose_rollout", stages.after_propose)
    g.add_edge("request_stage_approval", "await_stage_approval")
    g.add_conditional_edges("await_stage_approval", stages.after_approval)
    g.add_conditional_edges("run_stage", stages.after_stage)
    then(g, "propose_deploy", "await_approval")
    g.add_edge("await_approval", "deploy")
    g.add_edge("deploy", END)
    return g.compile(checkpointer=checkpointer)
