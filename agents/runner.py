"""Open the flywheel graph over settings: tool context, reasoning backend, checkpointer.

The one way the CLI, the API, the nightly job and tests build a runnable graph; a thread
started by one of them can be resumed by any other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from robotops.agents.checkpoints import open_checkpointer
from robotops.agents.deps import AgentDeps
from robotops.agents.graph import build_graph
from robotops.agents.reasoning.base import create_reasoner
from robotops.settings import Settings
from robotops.tools.context import ToolContext
from robotops.tools.defaults import default_toolsets
from robotops.tools.toolset import Toolset


@contextmanager
def open_graph(
    settings: Settings,
    ctx: ToolContext | None = None,
    actor: str = "robotops",
    toolsets: dict[str, Toolset] | None = None,
) -> Iterator[CompiledStateGraph]:
    """The graph with its checkpointer open; closes what it opened on exit.

    ``toolsets`` (domain name -> toolset) defaults to every domain's; a node's missing tool
    fails here, before anything runs.
    """
    own = ctx is None
    ctx = ctx or ToolContext(settings, actor=actor)
    deps = AgentDeps(
        ctx=ctx,
        reasoner=create_reasoner(settings.llm),
        toolsets=toolsets if toolsets is not None else default_toolsets(),
    )
    try:
        with open_checkpointer(settings) as saver:
            yield build_graph(deps, saver)
    finally:
        if own:
            ctx.close()


def config(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


def continue_thread(graph: CompiledStateGraph, thread_id: str) -> bool:
    """Carry on a thread a crash cut short (work pending, no person awaited); True if it ran.

    A checkpoint may hold the saved writes of a node that finished just before the crash:
    LangGraph then reports no ``next`` node, yet the thread is not done; its ``tasks`` say so.
    """
    snapshot = graph.get_state(config(thread_id))
    if snapshot.interrupts or not (snapshot.next or snapshot.tasks):
        return False
    graph.invoke(None, config(thread_id))
    return True


def outcome(graph: CompiledStateGraph, thread_id: str) -> dict[str, Any]:
    """Where a thread stands: waiting for a person (on which approval), cut short, or done."""
    snapshot = graph.get_state(config(thread_id))
    values = dict(snapshot.values)
    if snapshot.interrupts:
        waiting_for = next(
            (
                values.get(k)
                for k in ("approval_id", "compute_approval_id", "rollout_approval_id")
                if values.get(k) and k in _GATE_KEYS.get(snapshot.next[0], ())
            ),
            None,
        )
        return {
            "status": "waiting",
            "thread_id": thread_id,
            "waiting_at": list(snapshot.next),
            "approval_id": waiting_for,
            "answer": values.get("answer", ""),
            "findings": values.get("findings", {}),
        }
    if snapshot.next or snapshot.tasks:  # a run that died mid-way: continue_thread resumes it
        return {"status": "incomplete", "thread_id": thread_id, **values}
    return {"status": "done", "thread_id": thread_id, **values}


_GATE_KEYS = {
    "await_approval": ("approval_id",),
    "await_compute_approval": ("compute_approval_id",),
    "await_stage_approval": ("rollout_approval_id",),
}
