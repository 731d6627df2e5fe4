"""A local OpenAI-compatible chat server for tests: the edge we do not own, scripted.

Each request pops the next scripted reply: an HTTP status (to test retries), a list of tool
calls ``[(name, arguments_dict), ...]``, or a final answer string. Every request body is kept,
so a test can check what the real ``openai`` client sent (tool schemas, tool results).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from robotops.sim.fleet.serve import serve_in_thread

Reply = int | str | list[tuple[str, dict[str, Any]]]


class ScriptedLLM:
    def __init__(self, script: list[Reply]) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/health")
        def health() -> dict[str, str]:
            return {"status": "ok"}

        @app.post("/v1/chat/completions")
        async def complete(request: Request) -> JSONResponse:
            body = await request.json()
            self.requests.append(body)
            reply = self.script.pop(0) if self.script else "done"
            if isinstance(reply, int):
                return JSONResponse({"error": {"message": "scripted"}}, status_code=reply)
            return JSONResponse(_completion(body["model"], reply, len(self.requests)))

        return app

    def tool_messages(self, request: int) -> list[dict[str, Any]]:
        return [m for m in self.requests[request]["messages"] if m["role"] == "tool"]


def _completion(model: str, reply: str | list, n: int) -> dict[str, Any]:
    if isinstance(reply, str):
        message: dict[str, Any] = {"role": "assistant", "content": reply}
        finish = "stop"
    else:
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"call_{n}_{i}",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(args)},
                }
                for i, (name, args) in enumerate(reply)
            ],
        }
        finish = "tool_calls"
    return {
        "id": f"chatcmpl-{n}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


@contextmanager
def scripted_llm(script: list[Reply]) -> Iterator[tuple[ScriptedLLM, str]]:
    """Serve a scripted model on a free local port; yields it and its /v1 base URL."""
    llm = ScriptedLLM(script)
    with serve_in_thread(llm.app()) as url:
        yield llm, f"{url}/v1"
