"""Running the flywheel graph for the API: one checkpointed thread per conversation.

Any process can continue a thread: the checkpoints live in DATA_DIR/checkpoints.db, so a
decision in the inbox resumes the waiting thread wherever the API runs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph.state import CompiledStateGraph

from robotops.agents.deps import AgentDeps
from robotops.agents.graph import build_graph
from robotops.agents.triage.procedure import TriageDeps
from robotops.api.deps import ApiDeps
from robotops.tools.fleet.client import FleetClient


@contextmanager
def flywheel(deps: ApiDeps) -> Iterator[CompiledStateGraph]:
    """The graph over the API's stores, a fleet client and the shared checkpoint file."""
    path = deps.settings.data_dir / "checkpoints.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False)
    try:
        with FleetClient.from_settings(deps.settings) as fleet:
            agent_deps = AgentDeps(
                triage=TriageDeps(
                    fleet=fleet,
                    ingest=deps.ingest,
                    index=deps.index,
                    pulled_dir=deps.settings.data_dir / "pulled",
                    frames_dir=deps.settings.data_dir / "frames",
                ),
                approvals=deps.approvals,
            )
            yield build_graph(agent_deps, SqliteSaver(conn))
    finally:
        conn.close()


def outcome(graph: CompiledStateGraph, thread_id: str) -> dict[str, Any]:
    """Where a thread stands: waiting for a person, or done with an answer."""
    snapshot = graph.get_state({"configurable": {"thread_id": thread_id}})
    values = dict(snapshot.values)
    if snapshot.next:
        return {
            "status": "waiting",
            "thread_id": thread_id,
            "waiting_at": list(snapshot.next),
            "approval_id": values.get("approval_id"),
            "answer": values.get("answer", ""),
        }
    return {"status": "done", "thread_id": thread_id, **values}
