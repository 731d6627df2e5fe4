"""Fleet actions that touch physical robots. Each needs a recorded human approval, checked here.

These are the only functions in robotops that deploy; agents call them like any tool and can
never pass the check by what they say: the approval must exist in the approval store, be
decided by a person other than its requester, and match this action, artifact and robots.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, Field

from robotops.errors import NotFoundError
from robotops.memory.approval_models import ApprovalPublic
from robotops.sim.fleet.models import Deployment, DeployRequest, RollbackRequest
from robotops.tools.approvals.service import ApprovalService
from robotops.tools.fleet.client import FleetClient


@dataclass
class FleetActionDeps:
    """What fleet actions act through: the fleet client, the approvals, and who is acting."""

    fleet: FleetClient
    approvals: ApprovalService
    actor: str


class DeployPolicyRequest(BaseModel):
    """Deploy ``policy_version`` to ``robot_ids`` under approval ``approval_id``."""

    approval_id: str
    policy_version: str
    robot_ids: list[str] = Field(min_length=1)
    deployment_id: str = Field(min_length=1, description="idempotency key: retries reuse it")


class DeployPolicyResult(BaseModel):
    """The deployment made and the approval it used."""

    deployment: Deployment
    approval: ApprovalPublic


REQUIRES_APPROVAL = {"deploy_policy": "deploy"}


def deploy_policy(req: DeployPolicyRequest, deps: FleetActionDeps) -> DeployPolicyResult:
    """Put an approved policy version on robots (canary or full). Requires human approval."""
    versions = {p.version: p for p in deps.fleet.policies()}
    if req.policy_version not in versions:
        raise NotFoundError("policy version", req.policy_version, sorted(versions))
    approval = deps.approvals.authorize(
        req.approval_id,
        "deploy",
        versions[req.policy_version].sha256,
        req.robot_ids,
        idempotency_key=req.deployment_id,
        actor=deps.actor,
    )
    deployment = deps.fleet.deploy(
        DeployRequest(
            policy_version=req.policy_version,
            robot_ids=req.robot_ids,
            deployment_id=req.deployment_id,
        )
    )
    return DeployPolicyResult(deployment=deployment, approval=approval)


class RollbackResult(BaseModel):
    """The rollback made."""

    deployment: Deployment


def rollback_deployment(
    deployment_id: str, deps: FleetActionDeps, robot_ids: list[str] | None = None
) -> RollbackResult:
    """Restore the approved incumbent on robots. Needs no approval: it only undoes a change."""
    deployment = deps.fleet.rollback(
        RollbackRequest(deployment_id=deployment_id, robot_ids=robot_ids)
    )
    with deps.approvals.store.transaction() as s:
        deps.approvals.store.audit(
            s, deps.actor, "rolled_back", None, {"deployment": deployment_id, "robots": robot_ids}
        )
    return RollbackResult(deployment=deployment)
