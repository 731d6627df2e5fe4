"""What is signed: a person's approval statement, and the orchestrator's deploy order.

An :class:`ApprovalStatement` says who approved what action on which artifact for exactly
which robots (and which rollout stage), over which evidence, until when. A
:class:`DeployOrder` is the orchestrator's command to the fleet; a deploy embeds the signed
statement it acts under, a rollback to the approved incumbent carries none. Robot ids are kept
sorted and unique, so equal sets sign to equal bytes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from robotops.security.envelope import SignedEnvelope

SHA256 = r"^[0-9a-f]{64}$"
OrderAction = Literal["deploy", "rollback"]


def _robot_set(ids: list[str]) -> list[str]:
    return sorted(set(ids))


RobotSet = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=200)]],
    Field(min_length=1, max_length=10_000),
    AfterValidator(_robot_set),
]


class ApprovalStatement(BaseModel):
    """A person's approval, as signed by the approval service when it is used."""

    kind: Literal["approval_statement"] = "approval_statement"
    approval_id: str = Field(min_length=1, max_length=200)
    approver: str = Field(min_length=1, max_length=200)
    action: str = Field(min_length=1, max_length=64)
    artifact_sha256: str = Field(pattern=SHA256)
    robot_ids: RobotSet
    rollout_id: str | None = Field(None, max_length=200)
    stage: int | None = Field(None, ge=0)
    evidence_sha256: str = Field(pattern=SHA256)
    issued_at: int = Field(ge=0, description="unix seconds")
    expires_at: int = Field(ge=0, description="unix seconds")
    nonce: str = Field(min_length=16, max_length=128)


class DeployOrder(BaseModel):
    """The orchestrator's signed command to put (or put back) a policy on exact robots."""

    kind: Literal["deploy_order"] = "deploy_order"
    order_id: str = Field(min_length=1, max_length=200)
    action: OrderAction
    policy_version: str = Field(min_length=1, max_length=200)
    artifact_sha256: str = Field(pattern=SHA256)
    robot_ids: RobotSet
    deployment_id: str = Field(min_length=1, max_length=200)
    approval: SignedEnvelope | None = Field(
        None, description="the signed ApprovalStatement a deploy acts under; none for rollback"
    )
    issued_at: int = Field(ge=0, description="unix seconds")
    expires_at: int = Field(ge=0, description="unix seconds")
    nonce: str = Field(min_length=16, max_length=128)
