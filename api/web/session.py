"""Who is looking at a page: the same tokens and roles as the API, carried in a cookie.

The login page stores the pasted token in an HttpOnly, SameSite=Strict cookie; pages also
accept ``Authorization: Bearer``. Role checks use the API's own :func:`allows`, so a page lets
through exactly whom the endpoint behind it would.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request

from robotops.api.auth import actor_for, allows
from robotops.api.deps import get_deps
from robotops.memory.approval_models import Actor, Role

COOKIE = "robotops_session"


class PageError(Exception):
    """Ends a page request with an HTML answer instead of the page (see :mod:`.render`)."""

    def __init__(self, status: int, message: str, location: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.location = status, message, location


def request_token(request: Request) -> str | None:
    """The token of this request: a Bearer header wins over the session cookie."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(COOKIE)


def login_redirect(request: Request) -> PageError:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return PageError(303, "log in first", f"/ui/login?next={quote(target)}")


def page_role(minimum: Role):
    """A dependency: the actor behind the request, if at least ``minimum``; else a login
    redirect (no or unknown token) or a 403 page (role too low)."""

    def check(request: Request) -> Actor:
        actor = actor_for(get_deps(request).tokens, request_token(request))
        if actor is None:
            raise login_redirect(request)
        if not allows(actor, minimum):
            raise PageError(403, f"{actor.name} is {actor.role}; this page needs {minimum}")
        request.state.actor = actor
        return actor

    return check


def same_origin(request: Request) -> None:
    """Refuse a cross-site form post (the SameSite cookie already should; this says why)."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = urlsplit(origin).netloc
        if host != request.headers.get("host"):
            raise PageError(403, f"cross-site request from {origin} refused")


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a page of this site, never another site."""
    if target and target.startswith("/ui") and not target.startswith("//"):
        return target
    return "/ui/inbox"


PageViewer = Annotated[Actor, Depends(page_role("viewer"))]
PageEngineer = Annotated[Actor, Depends(page_role("engineer"))]
