"""The chat page: the question goes to ``POST /chat`` with the session's token and the
server-sent events stream back into the page (plain fetch + ReadableStream, see chat.js)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from robotops.api.web.api_client import ForwardToApi
from robotops.api.web.render import PageRoute, page
from robotops.api.web.session import PageEngineer, same_origin

router = APIRouter(prefix="/ui/chat", route_class=PageRoute, include_in_schema=False)


@router.get("")
def chat_page(request: Request, _: PageEngineer) -> Response:
    return page(request, "chat.html")


@router.post("/stream")
def chat_stream(request: Request, _: PageEngineer) -> Response:
    """The API's own chat endpoint answers (its role check included), streaming."""
    same_origin(request)
    return ForwardToApi(request, "/chat")
