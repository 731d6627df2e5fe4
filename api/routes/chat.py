"""Chat: ask about the fleet in words; steps and the answer stream back as server-sent events.

Each conversation is a checkpointed graph thread. Questions that lead to a physical action
end "waiting" for a person in the approval inbox; the decision resumes the thread.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from robotops.api.agent_runs import flywheel, outcome
from robotops.api.deps import ApiDeps, Deps, Engineer
from robotops.errors import RobotOpsError

router = APIRouter(tags=["chat"])


class ChatRequest(BaseModel):
    question: str = Field(min_length=1, max_length=2000)
    thread_id: str | None = Field(None, description="continue a conversation; new if omitted")


def _event(kind: str, data: object) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, default=str)}\n\n"


def _run(body: ChatRequest, deps: ApiDeps) -> Iterator[str]:
    thread_id = body.thread_id or f"chat-{uuid.uuid4().hex[:16]}"
    cfg = {"configurable": {"thread_id": thread_id}}
    try:
        with flywheel(deps) as graph:
            for update in graph.stream({"question": body.question}, cfg, stream_mode="updates"):
                for node, change in update.items():
                    if node != "__interrupt__":
                        yield _event("step", {"node": node, "answer": (change or {}).get("answer")})
            result = outcome(graph, thread_id)
    except RobotOpsError as exc:
        yield _event("error", {"detail": str(exc), "thread_id": thread_id})
        return
    if result.get("error"):
        yield _event("error", {"detail": result["error"], "thread_id": thread_id})
    else:
        yield _event("waiting" if result["status"] == "waiting" else "answer", result)


@router.post("/chat")
def chat(body: ChatRequest, deps: Deps, _: Engineer) -> StreamingResponse:
    """Answer "why did #104 stall?" or start "deploy v2 to #101" (which waits for approval)."""
    return StreamingResponse(_run(body, deps), media_type="text/event-stream")
