"""The web pages' router: log in and out, static files, images from the data dir, and every
page's router. ``create_app`` includes :data:`router`."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from robotops.api.auth import actor_for
from robotops.api.deps import Deps
from robotops.api.web import chat, fleet, inbox, incidents
from robotops.api.web.evidence import resolve_under
from robotops.api.web.render import STATIC_DIR, PageRoute, page
from robotops.api.web.session import COOKIE, PageViewer, safe_next, same_origin
from robotops.errors import NotFoundError

IMAGE_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF8": "image/gif",
}
COOKIE_MAX_AGE_S = 12 * 3600

pages = APIRouter(route_class=PageRoute, include_in_schema=False)


@pages.get("/")
@pages.get("/ui")
def home() -> Response:
    return RedirectResponse("/ui/inbox", status_code=303)


@pages.get("/ui/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return page(request, "login.html", next=safe_next(next), error=None)


@pages.post("/ui/login")
async def login(request: Request, deps: Deps) -> Response:
    """Check the pasted token and keep it in an HttpOnly cookie."""
    same_origin(request)
    form = parse_qs((await request.body()).decode())
    token = form.get("token", [""])[0].strip()
    target = safe_next(form.get("next", [None])[0])
    if actor_for(deps.tokens, token) is None:
        return page(request, "login.html", status=401, next=target, error="unknown token")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@pages.post("/ui/logout")
def logout(request: Request) -> Response:
    same_origin(request)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@cache
def _static_files() -> dict[str, Path]:
    """The shipped static files, listed once: they do not change while the app runs."""
    return {p.name: p for p in STATIC_DIR.iterdir() if p.is_file()}


@pages.get("/ui/static/{name}")
def static(name: str) -> Response:
    files = _static_files()
    if name not in files:
        raise NotFoundError("static file", name, sorted(files))
    return FileResponse(files[name])


@pages.get("/ui/file")
def data_file(path: str, deps: Deps, _: PageViewer) -> Response:
    """An image under the data dir (frames, plots, thumbnails); nothing else, nothing outside."""
    full = resolve_under(path, deps.settings.data_dir)
    media = _image_type(full) if full else None
    if full is None or media is None:
        raise NotFoundError("image under the data dir", path)
    return FileResponse(full, media_type=media)


def _image_type(path: Path) -> str | None:
    with open(path, "rb") as f:
        head = f.read(12)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return next((t for magic, t in IMAGE_MAGIC.items() if head.startswith(magic)), None)


router = APIRouter()
for module in (inbox, chat, incidents, fleet):
    router.include_router(module.router)
router.include_router(pages)
