"""The approval inbox: what is waiting, what was decided, and deciding."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from langgraph.types import Command
from pydantic import BaseModel

from robotops.api.agent_runs import flywheel, outcome
from robotops.api.deps import Approver, Deps, Viewer
from robotops.memory.approval_models import ApprovalPublic, AuditEntry, Decision

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


class DecisionResult(BaseModel):
    approval: ApprovalPublic
    thread: dict | None = None


@router.post("/{request_id}/decision")
def decide(request_id: str, decision: Decision, deps: Deps, actor: Approver) -> DecisionResult:
    """Approve or reject (never your own request, once), then resume the waiting thread.

    The resume value is informational: the action's tool checks the stored approval itself.
    """
    approval = deps.approvals.decide(request_id, decision, actor)
    if not approval.thread_id:
        return DecisionResult(approval=approval)
    with flywheel(deps) as graph:
        cfg = {"configurable": {"thread_id": approval.thread_id}}
        graph.invoke(Command(resume={"approve": decision.approve, "by": actor.name}), cfg)
        thread = outcome(graph, approval.thread_id)
    return DecisionResult(approval=deps.approvals.store.get(request_id), thread=thread)
