"""What the API's routes work through, injected once per app (nothing built at import)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from robotops.api.auth import TokenRecord, actor_for, allows
from robotops.memory.approval_models import Actor, Role
from robotops.memory.vectors import VectorIndex
from robotops.settings import Settings
from robotops.tools.approvals.service import ApprovalService
from robotops.tools.logs.ingest import IngestDeps


@dataclass
class ApiDeps:
    settings: Settings
    tokens: dict[str, TokenRecord]
    approvals: ApprovalService
    index: VectorIndex
    ingest: IngestDeps


def get_deps(request: Request) -> ApiDeps:
    return request.app.state.deps


Deps = Annotated[ApiDeps, Depends(get_deps)]
_bearer = HTTPBearer(auto_error=False)


def current_actor(
    deps: Deps, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Actor:
    actor = actor_for(deps.tokens, creds.credentials if creds else None)
    if actor is None:
        raise HTTPException(
            401, "missing or unknown API token (send 'Authorization: Bearer <token>')"
        )
    return actor


def role(minimum: Role):
    """A dependency that lets through only actors with at least ``minimum``'s role."""

    def check(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        if not allows(actor, minimum):
            raise HTTPException(403, f"{actor.name} is {actor.role}; this needs {minimum}")
        return actor

    return check


Viewer = Annotated[Actor, Depends(role("viewer"))]
Engineer = Annotated[Actor, Depends(role("engineer"))]
Approver = Annotated[Actor, Depends(role("approver"))]
