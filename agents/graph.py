"""The flywheel graph, wired in one place. Nothing is built at import: call build_graph.

question ─► route ─┬─► triage ─────────────────────────────► END
                   └─► propose_deploy ─► await_approval ─► deploy ─► END
                            (interrupt: a person decides in the inbox)
"""

from __future__ import annotations

from functools import partial
from typing import Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from robotops.agents.deps import AgentDeps
from robotops.agents.rollout.node import await_approval, deploy, propose_deploy
from robotops.agents.state import FlywheelState
from robotops.agents.triage.node import triage_node

DEPLOY_WORDS = ("deploy", "roll out", "rollout", "push ")


def route(state: FlywheelState) -> Command[Literal["triage", "propose_deploy"]]:
    """Send a question to the agent whose job it is."""
    q = state["question"].lower()
    intent = "deploy" if any(w in q for w in DEPLOY_WORDS) else "triage"
    return Command(
        update={"intent": intent}, goto="propose_deploy" if intent == "deploy" else "triage"
    )


def after_proposal(state: FlywheelState) -> Literal["await_approval", "__end__"]:
    return END if state.get("error") else "await_approval"


def build_graph(deps: AgentDeps, checkpointer: BaseCheckpointSaver) -> CompiledStateGraph:
    g = StateGraph(FlywheelState)
    g.add_node("route", route)
    g.add_node("triage", partial(triage_node, deps=deps))
    g.add_node("propose_deploy", partial(propose_deploy, deps=deps))
    g.add_node("await_approval", await_approval)
    g.add_node("deploy", partial(deploy, deps=deps))
    g.add_edge(START, "route")
    g.add_edge("triage", END)
    g.add_conditional_edges("propose_deploy", after_proposal)
    g.add_edge("await_approval", "deploy")
    g.add_edge("deploy", END)
    return g.compile(checkpointer=checkpointer)
