"""Running the flywheel graph for the API: one checkpointed thread per conversation.

Any process can continue a thread: the checkpoints live in the configured store (the SQLite
file DATA_DIR/checkpoints.db by default), so a decision in the inbox resumes the waiting
thread wherever the API runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from langgraph.graph.state import CompiledStateGraph

from robotops.agents.runner import open_graph, outcome
from robotops.api.deps import ApiDeps
from robotops.tools.context import ToolContext

__all__ = ["flywheel", "outcome", "tool_context"]


def tool_context(deps: ApiDeps, actor: str = "robotops") -> ToolContext:
    """A tool context over the API's already-open stores."""
    return ToolContext(deps.settings, actor=actor).provide(
        approvals=deps.approvals, index=deps.index, ingest=deps.ingest
    )


@contextmanager
def flywheel(deps: ApiDeps) -> Iterator[CompiledStateGraph]:
    """The graph over the API's stores, a fleet client and the shared checkpoints."""
    ctx = tool_context(deps)
    try:
        with open_graph(deps.settings, ctx) as graph:
            yield graph
    finally:
        ctx.close()
