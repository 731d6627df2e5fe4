"""Chat: ask about the fleet in words, get the answer streamed with its evidence (SSE)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from robotops.agents.triage.procedure import TriageDeps, triage
from robotops.api.deps import ApiDeps, Deps, Engineer
from robotops.errors import RobotOpsError
from robotops.tools.fleet.client import FleetClient

router = APIRouter(tags=["chat"])


class ChatRequest(BaseModel):
    question: str = Field(min_length=1, max_length=2000)


def _event(kind: str, data: object) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, default=str)}\n\n"


def _answer(question: str, deps: ApiDeps) -> Iterator[str]:
    yield _event("step", {"text": "resolving the robot and its incident"})
    try:
        with FleetClient.from_settings(deps.settings) as fleet:
            tdeps = TriageDeps(
                fleet=fleet,
                ingest=deps.ingest,
                index=deps.index,
                pulled_dir=deps.settings.data_dir / "pulled",
            )
            yield _event(
                "step", {"text": "pulling the window from the robot if needed, then triage"}
            )
            answer = triage(question, tdeps, frames_dir=deps.settings.data_dir / "frames")
    except RobotOpsError as exc:
        yield _event("error", {"detail": str(exc)})
        return
    yield _event("answer", answer.model_dump(mode="json"))


@router.post("/chat")
def chat(body: ChatRequest, deps: Deps, _: Engineer) -> StreamingResponse:
    """Answer a question such as "why did #104 stall?" (steps, then the answer, as SSE)."""
    return StreamingResponse(_answer(body.question, deps), media_type="text/event-stream")
