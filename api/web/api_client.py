"""Pages reach the JSON API in-process, with the viewer's own token.

So a page can do exactly what its user may do through the API, the API's checks (roles, four
eyes, the thread resume after a decision) run unchanged, and a page never re-implements them.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import Request
from fastapi.responses import Response
from starlette.types import Receive, Scope, Send

from robotops.api.web.session import login_redirect, request_token

API_TIMEOUT_S = 300.0


async def call_api(request: Request, method: str, path: str, body: Any = None) -> httpx.Response:
    """Send one API request through the app itself and return its (buffered) answer."""
    token = request_token(request)
    if not token:
        raise login_redirect(request)
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://robotops.local") as client:
        return await client.request(
            method,
            path,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=API_TIMEOUT_S,
        )


def detail(response: httpx.Response) -> str:
    """The API's explanation of a refusal."""
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text or response.reason_phrase


class ForwardToApi(Response):
    """Hand this request, body unread, to an API route of the same app with the session's token
    as a Bearer header: the answer (a server-sent event stream, say) streams straight back."""

    def __init__(self, request: Request, path: str) -> None:
        super().__init__()
        token = request_token(request)
        if not token:
            raise login_redirect(request)
        self.app, self.path, self.token = request.app, path, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"authorization", b"cookie")]
        headers.append((b"authorization", f"Bearer {self.token}".encode()))
        inner = {k: v for k, v in scope.items() if k not in ("route", "endpoint", "path_params")}
        inner.update(path=self.path, raw_path=self.path.encode(), headers=headers, query_string=b"")
        await self.app(inner, receive, send)
