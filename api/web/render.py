"""Templates, their filters, and the route class that turns page errors into HTML pages."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from robotops.api.web.session import PageError
from robotops.errors import InvalidRequestError, NotFoundError, RobotOpsError
from robotops.tools.approvals.errors import ApprovalError

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
ERROR_STATUS = ((NotFoundError, 404), (ApprovalError, 403), (InvalidRequestError, 400))


def clock(ns: int | None) -> str:
    """Log time (ns since the epoch) as a UTC wall-clock time."""
    if ns is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ns / 1e9)) + " UTC"


def file_url(path: str | Path) -> str:
    """The URL of a file under the data dir, served by the safe file route."""
    return f"/ui/file?path={quote(str(path))}"


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.filters.update(clock=clock, file_url=file_url, pretty=pretty)
    return templates


templates = _templates()


def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    """Render a page; the logged-in actor (if the route resolved one) is in ``actor``."""
    context.setdefault("actor", getattr(request.state, "actor", None))
    return templates.TemplateResponse(request, name, context, status_code=status)


def error_page(request: Request, status: int, message: str) -> Response:
    return page(request, "error.html", status=status, status_code=status, message=message)


class PageRoute(APIRoute):
    """An APIRoute whose failures are pages: a login redirect, or an error page with the
    precise message (the API answers the same failures with JSON)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except PageError as exc:
                if exc.location:
                    return RedirectResponse(exc.location, status_code=exc.status)
                return error_page(request, exc.status, exc.message)
            except RobotOpsError as exc:
                status = next((s for t, s in ERROR_STATUS if isinstance(exc, t)), 500)
                return error_page(request, status, str(exc))

        return page_handler
