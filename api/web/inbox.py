"""The approval inbox pages: what is waiting, one request with its evidence and audit trail,
and the approve/reject form (decided through the API, which also resumes the waiting thread)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from robotops.api.agent_runs import flywheel, outcome
from robotops.api.deps import Deps
from robotops.api.web.api_client import call_api, detail
from robotops.api.web.evidence import evidence_view
from robotops.api.web.render import PageRoute, page
from robotops.api.web.session import PageError, PageViewer, same_origin
from robotops.errors import RobotOpsError
from robotops.memory.approval_models import Actor, ApprovalPublic
from robotops.tools.approvals.service import DECIDERS

router = APIRouter(prefix="/ui/inbox", route_class=PageRoute, include_in_schema=False)
HISTORY = 50


def may_decide(actor: Actor, approval: ApprovalPublic) -> str | None:
    """Why ``actor`` cannot decide ``approval`` (None if they can). The service checks again."""
    if approval.status != "pending":
        return f"already {approval.status}"
    if actor.role not in DECIDERS:
        return f"{actor.role}s can read the inbox; deciding needs the approver role"
    if actor.name == approval.requested_by:
        return "you asked for this; someone else must approve it"
    return None


def _card(deps: Any, actor: Actor, approval: ApprovalPublic) -> dict[str, Any]:
    return {
        "a": approval,
        "evidence": evidence_view(approval.evidence, deps.settings.data_dir),
        "blocked": may_decide(actor, approval),
        "mine": approval.requested_by == actor.name,
    }


@router.get("")
def inbox(request: Request, deps: Deps, actor: PageViewer) -> Response:
    store = deps.approvals.store
    every = store.list()
    pending = [_card(deps, actor, a) for a in every if a.status == "pending"]
    decided = [a for a in every if a.status != "pending"]
    decided.sort(key=lambda a: a.decided_at or a.created_at, reverse=True)
    audit = list(reversed(store.audit_log()))[:HISTORY]
    return page(request, "inbox.html", pending=pending, decided=decided[:HISTORY], audit=audit)


def thread_state(deps: Any, thread_id: str | None) -> dict[str, Any] | None:
    """Where the agent thread behind a request stands (read from its checkpoints)."""
    if not thread_id:
        return None
    try:
        with flywheel(deps) as graph:
            return outcome(graph, thread_id)
    except RobotOpsError as exc:
        return {"status": "unknown", "error": f"thread state unavailable: {exc}"}


def _detail_page(
    request: Request, deps: Any, actor: Actor, request_id: str, error: str | None, status: int
) -> Response:
    approval = deps.approvals.store.get(request_id)
    trail = [e for e in deps.approvals.store.audit_log() if e.request_id == request_id]
    return page(
        request,
        "approval.html",
        status=status,
        card=_card(deps, actor, approval),
        trail=trail,
        thread=thread_state(deps, approval.thread_id),
        error=error,
    )


@router.get("/{request_id}")
def approval_page(request_id: str, request: Request, deps: Deps, actor: PageViewer) -> Response:
    return _detail_page(request, deps, actor, request_id, None, 200)


@router.post("/{request_id}/decision")
async def decide(request_id: str, request: Request, deps: Deps, actor: PageViewer) -> Response:
    """Approve or reject with a comment, through ``POST /approvals/{id}/decision``."""
    same_origin(request)
    form = parse_qs((await request.body()).decode(), keep_blank_values=True)
    choice = form.get("decision", [""])[0]
    if choice not in ("approve", "reject"):
        raise PageError(400, f"decision must be 'approve' or 'reject', got {choice!r}")
    body = {"approve": choice == "approve", "comment": form.get("comment", [""])[0]}
    answer = await call_api(request, "POST", f"/approvals/{request_id}/decision", body)
    if answer.status_code >= 400:
        return await run_in_threadpool(
            _detail_page, request, deps, actor, request_id, detail(answer), answer.status_code
        )
    return RedirectResponse(f"/ui/inbox/{request_id}", status_code=303)
