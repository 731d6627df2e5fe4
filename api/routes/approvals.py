"""The approval inbox: what is waiting, what was decided, and deciding."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from robotops.api.deps import Approver, Deps, Viewer
from robotops.tools.approvals.models import ApprovalPublic, AuditEntry, Decision

router = APIRouter(prefix="/approvals", tags=["approvals"])


@router.get("")
def list_approvals(
    deps: Deps, _: Viewer, status: Literal["pending", "approved", "rejected", "used"] | None = None
) -> list[ApprovalPublic]:
    return deps.approvals.store.list(status)


@router.get("/audit")
def audit_log(deps: Deps, _: Viewer) -> list[AuditEntry]:
    return deps.approvals.store.audit_log()


@router.get("/{request_id}")
def get_approval(request_id: str, deps: Deps, _: Viewer) -> ApprovalPublic:
    return deps.approvals.store.get(request_id)


@router.post("/{request_id}/decision")
def decide(request_id: str, decision: Decision, deps: Deps, actor: Approver) -> ApprovalPublic:
    """Approve or reject; the service refuses self-approval and second decisions."""
    return deps.approvals.decide(request_id, decision, actor)
