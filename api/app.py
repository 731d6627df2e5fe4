"""The product API: chat, approvals inbox, search. Built by a factory; nothing at import."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from robotops.api.auth import ensure_tokens
from robotops.api.deps import ApiDeps
from robotops.api.routes import approvals, chat, incidents, rollout, search, tools
from robotops.api.web.routes import router as web_router
from robotops.errors import InvalidRequestError, NotFoundError, RobotOpsError
from robotops.memory.approvals import ApprovalStore
from robotops.memory.vectors import VectorIndex
from robotops.settings import Settings
from robotops.tools.approvals.errors import (
    ApprovalError,
    ApprovalUsedError,
    DecisionConflictError,
)
from robotops.tools.approvals.service import ApprovalService
from robotops.tools.logs.ingest import IngestDeps

STATUS = (
    (NotFoundError, 404),
    (ApprovalUsedError, 409),
    (DecisionConflictError, 409),
    (ApprovalError, 403),
    (InvalidRequestError, 400),
    (RobotOpsError, 500),
)


def build_deps(settings: Settings) -> ApiDeps:
    index = VectorIndex.from_settings(settings)
    return ApiDeps(
        settings=settings,
        tokens=ensure_tokens(settings.tokens_path()),
        approvals=ApprovalService(ApprovalStore.from_settings(settings)),
        index=index,
        ingest=IngestDeps.from_settings(settings, index=index),
    )


def create_app(deps: ApiDeps) -> FastAPI:
    app = FastAPI(
        title="robotops",
        version="0.1.0",
        description="Chat, approvals inbox and search over the robot fleet.",
    )
    app.state.deps = deps

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    for exc_type, status in STATUS:
        app.add_exception_handler(exc_type, _handler(status))
    for module in (chat, approvals, search, tools, rollout, incidents):
        app.include_router(module.router)
    app.include_router(web_router)  # the web pages (/ui/...)
    return app


def _handler(status: int):
    async def handle(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status)

    return handle
