"""Safety in code: no deploy without a recorded, matching, four-eyes human approval."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from robotops.memory.approval_models import Actor, ApprovalCreate, Decision
from robotops.memory.approvals import ApprovalStore, AuditRow
from robotops.sim.fleet.serve import serve_in_thread
from robotops.sim.fleet.service import create_fleet_app
from robotops.sim.fleet.state import FleetRecord, FleetStore, PolicyRecord, RobotRecord
from robotops.tools.approvals.errors import ApprovalRequiredError, ForbiddenDecisionError
from robotops.tools.approvals.service import ApprovalService
from robotops.tools.fleet.actions import (
    DeployPolicyRequest,
    FleetActionDeps,
    deploy_policy,
    rollback_deployment,
)
from robotops.tools.fleet.client import FleetClient

SHA = {"v1": "1" * 64, "v2": "2" * 64, "v3": "3" * 64}
MAYA = Actor(name="maya", role="engineer")
RAJ = Actor(name="raj", role="approver")
AGENT = Actor(name="rollout-steward", role="engineer", is_agent=True)


@pytest.fixture
def fleet(tmp_path: Path):
    store = FleetStore(tmp_path / "fleet")
    store.save(
        FleetRecord(
            robots={
                r: RobotRecord(robot_id=r, zone="aisle-1", policy_version="v1")
                for r in ("101", "102")
            },
            policies={v: PolicyRecord(version=v, sha256=s, path=f"{v}.pt") for v, s in SHA.items()},
        )
    )
    with (
        serve_in_thread(create_fleet_app(store.root)) as url,
        FleetClient(url, retries=0) as client,
    ):
        yield store, client


@pytest.fixture
def approvals(tmp_path: Path) -> ApprovalService:
    return ApprovalService(ApprovalStore(f"sqlite:///{tmp_path / 'approvals.db'}"))


def ask(svc: ApprovalService, version: str = "v2", robots=("101",), by: Actor = AGENT):
    return svc.request(
        ApprovalCreate(
            action="deploy",
            artifact_sha256=SHA[version],
            targets=list(robots),
            reason="canary after validation",
        ),
        by,
    )


def deploy(fleet, svc, approval_id: str, version="v2", robots=("101",), key="dep-1"):
    return deploy_policy(
        DeployPolicyRequest(
            approval_id=approval_id,
            policy_version=version,
            robot_ids=list(robots),
            deployment_id=key,
        ),
        FleetActionDeps(fleet=fleet[1], approvals=svc, actor="rollout-steward"),
    )


def versions(fleet) -> dict[str, str]:
    return {r.robot_id: r.policy_version for r in fleet[1].robots()}


def test_an_approved_deploy_reaches_the_robot_and_retries_are_idempotent(fleet, approvals):
    req = ask(approvals)
    approvals.decide(req.id, Decision(approve=True, comment="judge verdict looks good"), RAJ)
    deploy(fleet, approvals, req.id)
    deploy(fleet, approvals, req.id)  # the same deployment retried
    assert versions(fleet) == {"101": "v2", "102": "v1"}


@pytest.mark.parametrize(
    "decider",
    [AGENT, MAYA, Actor(name="rollout-steward", role="approver")],
    ids=["agent", "engineer-role", "own-request"],
)
def test_only_another_person_with_the_approver_role_can_decide(approvals, decider):
    req = ask(approvals)
    with pytest.raises(ForbiddenDecisionError):
        approvals.decide(req.id, Decision(approve=True), decider)
    assert approvals.store.get(req.id).status == "pending"


def test_no_deploy_gets_through_without_a_matching_approval(fleet, approvals):
    pending = ask(approvals)
    rejected = ask(approvals)
    approvals.decide(
        rejected.id, Decision(approve=False, comment="regression on a safety case"), RAJ
    )
    approved = ask(approvals, "v2", ("101",))
    approvals.decide(approved.id, Decision(approve=True), RAJ)
    attempts = [
        ("forged id", dict(approval_id="apr-forged")),
        ("still pending", dict(approval_id=pending.id)),
        ("rejected", dict(approval_id=rejected.id)),
        ("other artifact", dict(approval_id=approved.id, version="v3")),
        ("other robot", dict(approval_id=approved.id, robots=("101", "102"))),
    ]
    for name, kw in attempts:
        with pytest.raises(ApprovalRequiredError):
            deploy(fleet, approvals, **kw)
        assert versions(fleet) == {"101": "v1", "102": "v1"}, name


def test_an_approval_cannot_be_replayed_for_another_deployment(fleet, approvals):
    req = ask(approvals)
    approvals.decide(req.id, Decision(approve=True), RAJ)
    deploy(fleet, approvals, req.id, key="dep-1")
    rollback_deployment(
        "dep-1", FleetActionDeps(fleet=fleet[1], approvals=approvals, actor="steward")
    )
    with pytest.raises(ApprovalRequiredError, match="already used"):
        deploy(fleet, approvals, req.id, key="dep-2")
    assert versions(fleet)["101"] == "v1"


def test_the_audit_log_is_append_only_and_tamper_evident(fleet, approvals):
    req = ask(approvals)
    approvals.decide(req.id, Decision(approve=True, comment="ok"), RAJ)
    with pytest.raises(ApprovalRequiredError):
        deploy(fleet, approvals, "apr-forged")
    events = [e.event for e in approvals.store.audit_log()]
    assert events == ["requested", "approved", "refused"]
    assert approvals.store.verify_audit() is None
    with approvals.store.transaction() as s:
        s.execute(update(AuditRow).where(AuditRow.seq == 2).values(actor="maya"))
    assert approvals.store.verify_audit() == 2
